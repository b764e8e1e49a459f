"""Where the tests find Kraken's official reference material (examples, vectors, specs).

A copy of the shared kraken-reference folder lives in tests/fixtures/ so the suite runs from any
checkout, with no path outside the repository.
"""

from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "fixtures" / "kraken-reference"

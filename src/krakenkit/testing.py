"""Former home of the ``kraken_sandbox`` pytest fixture, kept for conftest files that name it.

The fixture now comes with the krakenkit-sandbox distribution, whose pytest plugin pytest loads by
itself once that distribution is installed (``pip install krakenkit-sandbox``, or ``pip install
./sandbox`` from the repository); krakenkit registers no pytest plugin. A ``conftest.py`` with
``pytest_plugins = ["krakenkit.testing"]`` keeps working (and needs the sandbox installed).
"""

from __future__ import annotations

from .sandbox import load as _load_sandbox

_load_sandbox()  # a clear ImportError naming the distribution when it is absent

from krakenkit_sandbox.pytest_plugin import kraken_sandbox  # noqa: E402

__all__ = ["kraken_sandbox"]

"""Suite-wide fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from krakenkit._core import ratelimit


@pytest.fixture(autouse=True)
def _fresh_shared_rate_limiters() -> Iterator[None]:
    """Clients share one rate limiter per API key in a process; tests must not inherit another test's
    counters (real keys would, and that is the point of sharing them)."""
    ratelimit._shared_limiters.clear()
    yield
    ratelimit._shared_limiters.clear()

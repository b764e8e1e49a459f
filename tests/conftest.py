"""Suite-wide fixtures: no test inherits another test's per-key or per-host process state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from krakenkit._core import deadline, ratelimit


@pytest.fixture(autouse=True)
def _fresh_shared_rate_limiters() -> Iterator[None]:
    """Clients share one rate limiter per API key in a process; tests must not inherit another test's
    counters (real keys would, and that is the point of sharing them)."""
    ratelimit._shared_limiters.clear()
    yield
    ratelimit._shared_limiters.clear()


@pytest.fixture(autouse=True)
def _fresh_server_clocks() -> Iterator[None]:
    """Kraken's clock is estimated per host and shared in the process; each sandbox is a new host."""
    deadline._clocks.clear()
    yield
    deadline._clocks.clear()


@pytest.fixture(autouse=True, scope="session")
def _private_nonce_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The per-key nonce lock files of the suite go to a private directory, not the user's cache."""
    path = tmp_path_factory.mktemp("nonce")
    old = os.environ.get("KRAKENKIT_NONCE_DIR")
    os.environ["KRAKENKIT_NONCE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("KRAKENKIT_NONCE_DIR", None)
    else:
        os.environ["KRAKENKIT_NONCE_DIR"] = old

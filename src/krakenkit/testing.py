"""pytest plugin: the ``kraken_sandbox`` fixture (a fresh local Kraken sandbox per test).

def test_order(kraken_sandbox):
    key, secret = kraken_sandbox.create_key()
    client = SpotClient(key, secret, environment=kraken_sandbox.environment)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from krakenkit.sandbox import Sandbox

__all__ = ["kraken_sandbox"]


@pytest.fixture
def kraken_sandbox() -> Iterator[Sandbox]:
    """A running :class:`~krakenkit.sandbox.Sandbox` (seed 1, simulated market on) for one test."""
    with Sandbox(seed=1) as sb:
        yield sb

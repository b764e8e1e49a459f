"""pytest plugin of krakenkit-sandbox: the ``kraken_sandbox`` fixture (a fresh local Kraken per test).

    def test_order(kraken_sandbox):
        key, secret = kraken_sandbox.create_key()
        ...  # point a client at kraken_sandbox.rest_url / kraken_sandbox.ws_urls

Registered through the ``pytest11`` entry point of the krakenkit-sandbox distribution. This module
imports nothing but pytest: the sandbox (and aiohttp) load only when a test asks for the fixture, so a
pytest session that does not use it pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = ["kraken_sandbox"]


@pytest.fixture
def kraken_sandbox() -> Iterator[Sandbox]:
    """A running :class:`~krakenkit_sandbox.Sandbox` (seed 1, simulated market on) for one test."""
    from .app import Sandbox

    with Sandbox(seed=1) as sb:
        yield sb

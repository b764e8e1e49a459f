"""Fixtures for the Futures sandbox integration tests (helpers live in sbfut_helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sbfut_helpers import Reference, StubContext, Venue, start_venue


@pytest.fixture
def ref() -> Reference:
    return Reference()


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    v, runner = await start_venue(StubContext())
    try:
        yield v
    finally:
        await v.exchange.stop()
        await runner.cleanup()


@pytest.fixture
async def limited_venue() -> AsyncIterator[Venue]:
    v, runner = await start_venue(StubContext(rate_limits=True))
    try:
        yield v
    finally:
        await v.exchange.stop()
        await runner.cleanup()

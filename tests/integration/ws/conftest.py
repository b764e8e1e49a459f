"""Fixtures for the WebSocket integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from krakenkit.sandbox import Sandbox


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=1, rate_limits=False) as sandbox:
        yield sandbox

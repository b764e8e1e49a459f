"""The parity suite: one table of bad inputs (``tests/unit/core/validation_cases.py``) through every entry point.

The table lives beside the validation layer's own tests; this folder imports it from there. The
``no_network`` fixture records (and refuses) every HTTP request and WebSocket connection a test's code
tries to make, so "zero bytes sent" is measured at the transport, whatever client the code under test builds.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from parity_kit import Wire

_CORE_TESTS = str(Path(__file__).resolve().parents[2] / "unit" / "core")
if _CORE_TESTS not in sys.path:
    sys.path.insert(0, _CORE_TESTS)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    """Every real transport replaced by a recorder that refuses at once (nothing reaches a socket)."""
    wire = Wire()

    def refuse(request: httpx.Request) -> None:
        wire.http.append(f"{request.method} {request.url}")
        raise httpx.ConnectError("no network in the parity tests", request=request)

    def handle(self: Any, request: httpx.Request) -> httpx.Response:
        refuse(request)
        raise AssertionError  # pragma: no cover

    async def handle_async(self: Any, request: httpx.Request) -> httpx.Response:
        refuse(request)
        raise AssertionError  # pragma: no cover

    async def connect(url: str, **kwargs: Any) -> Any:
        wire.ws.append(url)
        raise OSError("no network in the parity tests")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle_async)
    import krakenkit.ws.connection as ws_connection

    monkeypatch.setattr(ws_connection, "connect", connect)
    yield wire

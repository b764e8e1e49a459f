"""Shared helpers for the WebSocket integration tests: an event recorder that waits without sleeping."""

from __future__ import annotations

import asyncio
from typing import Any

from krakenkit.ws import WebsocketClient
from krakenkit.ws.events import WsEvent


class Recorder:
    """Collects every event and lets tests wait for one matching a predicate (no sleeps)."""

    def __init__(self, ws: WebsocketClient) -> None:
        self.events: list[WsEvent] = []
        self._cond = asyncio.Condition()
        for name in ("open", "authenticated", "message", "response", "reconnecting", "reconnected",
                     "exception", "close", "book_resync", "queue_full"):
            ws.on(name, self._on)

    async def _on(self, ev: WsEvent) -> None:
        async with self._cond:
            self.events.append(ev)
            self._cond.notify_all()

    def of(self, name: str, ws_key: str | None = None) -> list[Any]:
        return [e for e in self.events if e.name == name and (ws_key is None or e.ws_key == ws_key)]

    async def wait(self, name: str, ws_key: str | None = None, *, count: int = 1, timeout: float = 5.0,
                   where: Any = None) -> list[Any]:
        def matching() -> list[Any]:
            return [e for e in self.of(name, ws_key) if where is None or where(e)]

        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: len(matching()) >= count), timeout)
        return matching()

"""Live order books kept current from a WebSocket subscription (see ``WebsocketClient.book``).

The pure books (:mod:`krakenkit.books`) do the arithmetic and checks; this module wires them to a
connection: frames are applied in the connection's reader (before the event queue, so a slow
handler never costs a book an update). A checksum mismatch (Spot) or a ``seq`` gap (Derivatives)
marks only that book not ready, emits ``book_resync`` with the reason and resubscribes that one
symbol for a fresh snapshot; other symbols are untouched.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from krakenkit._core.errors import APITimeoutError
from krakenkit.books import DerivativesBook, SpotBook

__all__ = ["LiveBook"]

log = logging.getLogger("krakenkit.ws")

BookCallback = Callable[["LiveBook"], Awaitable[None] | None]


class LiveBook:
    """A book for one symbol, kept current by a :class:`~krakenkit.ws.client.WebsocketClient`.

    ``await book.ready()`` waits for a verified snapshot. Reads (``best_bid``, ``best_ask``, ``spread``, ``mid``,
    ``bids(n)``, ``asks(n)``, ``snapshot()``) go to the current pure book.
    ``on_update(cb)`` registers ``cb(live_book)`` (sync or async), called after each applied frame.
    """

    def __init__(self, ws_key: str, symbol: str, depth: int | None) -> None:
        self.ws_key = ws_key
        self.symbol = symbol
        self.depth = depth
        self.book: SpotBook | DerivativesBook | None = None
        self.resyncs = 0
        self.resyncing = False
        self.updates = 0
        self._ready = asyncio.Event()
        self._callbacks: list[BookCallback] = []

    # user API -------------------------------------------------------------------------------------
    async def ready(self, timeout: float | None = None) -> LiveBook:
        """Wait until the book holds a verified snapshot (again, after a resync)."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise APITimeoutError(f"book {self.symbol} not ready within {timeout}s") from None
        return self

    @property
    def is_ready(self) -> bool:
        return self._ready.is_set()

    def on_update(self, callback: BookCallback) -> BookCallback:
        self._callbacks.append(callback)
        return callback

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("book",):
            raise AttributeError(name)
        book = self.__dict__.get("book")
        if book is None:
            raise AttributeError(f"book {self.symbol} has no data yet (await book.ready())")
        return getattr(book, name)

    def __repr__(self) -> str:
        return f"LiveBook({self.symbol!r}, ws_key={self.ws_key!r}, ready={self.is_ready}, resyncs={self.resyncs})"

    # driver side ----------------------------------------------------------------------------------
    def _set_ready(self, ready: bool) -> None:
        if ready:
            self._ready.set()
        else:
            self._ready.clear()

    async def _notify(self) -> None:
        for cb in list(self._callbacks):
            try:
                res = cb(self)
                if inspect.isawaitable(res):
                    await res
            except Exception:
                log.exception("book %s: update callback failed", self.symbol)

"""Live order books kept current from a WebSocket subscription (see ``WebsocketClient.book``).

The pure books (:mod:`krakenkit.books`) do the arithmetic and checks; this module wires them to a
connection: frames are applied in the connection's reader (before the event queue, so a slow
handler never costs a book an update). Kinds: Spot L2 (:class:`~krakenkit.books.SpotBook`, ``book``
on ``spotPublicV2``), Spot L3 (:class:`~krakenkit.books.SpotL3Book`, ``level3`` on ``spotL3V2``,
``ws.book(symbol, level3=True)``) and Derivatives (:class:`~krakenkit.books.DerivativesBook`).

A checksum mismatch (Spot L2 and L3), a ``seq`` gap (Derivatives) or an undecodable book frame
marks only that book not ready, emits ``book_resync`` with the reason (``checksum_mismatch``,
``sequence_gap``, ``invalid_frame``) and resubscribes that one symbol for a fresh snapshot; other
symbols are untouched. A lost connection marks its books not ready until the resubscribe after the
reconnect brings a verified snapshot (no ``book_resync`` for that: ``close``/``reconnected`` say it).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from krakenkit._core.errors import APITimeoutError
from krakenkit.books import DerivativesBook, SpotBook, SpotL3Book

__all__ = ["LiveBook"]

log = logging.getLogger("krakenkit.ws")

BookCallback = Callable[["LiveBook"], Awaitable[None] | None]


class LiveBook:
    """A book for one symbol, kept current by a :class:`~krakenkit.ws.client.WebsocketClient`.

    ``await book.ready()`` waits for a verified snapshot. Reads (``best_bid``, ``best_ask``, ``spread``, ``mid``,
    ``bids(n)``, ``asks(n)``, ``snapshot()``) go to the current pure book.
    ``on_update(cb)`` registers ``cb(live_book)`` (sync or async), called after each applied frame.
    Level3 books (``level3`` true) also read ``bid_orders()``, ``ask_orders()``, ``order(order_id)``
    and ``queue_position(order_id)``.
    """

    def __init__(self, ws_key: str, symbol: str, depth: int | None, *, level3: bool = False) -> None:
        self.ws_key = ws_key
        self.symbol = symbol
        self.depth = depth
        self.level3 = level3
        self.book: SpotBook | SpotL3Book | DerivativesBook | None = None
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
        kind = ", level3=True" if self.level3 else ""
        return f"LiveBook({self.symbol!r}, ws_key={self.ws_key!r}{kind}, ready={self.is_ready}, resyncs={self.resyncs})"

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

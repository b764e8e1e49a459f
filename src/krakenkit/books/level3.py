"""Spot WS v2 ``level3`` channel: every order, in queue order, with Kraken's L3 checksum.

Per side: a sorted ``list[int]`` of scaled prices (bids negated, best first) and, per price, a
``dict`` order_id -> checksum fragment ``price_text + qty_text``; a dict keeps insertion order, so it
*is* the queue (``modify`` keeps the place, ``add`` goes to the back). An index order_id ->
(side, price key, timestamp) finds orders for ``modify``/``delete``.

Checksum: for the top 10 price levels of the asks (ascending) then of the bids (descending), every
order's ``limit_price`` and ``order_qty`` fragments in queue order, CRC32 unsigned.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from krakenkit._core.errors import ChecksumMismatchError, InvalidResponseError, KrakenError

from ._checksum import _check_precision, fragment
from ._common import Level, VerifiedBookReads, check_depth, check_symbol, scaled_to_decimal
from ._wire import v2_l3_decoder

__all__ = ["L3Order", "SpotL3Book"]

_TOP = 10
_RAW = (bytes, bytearray, memoryview, str)


@dataclass(frozen=True, slots=True)
class L3Order:
    """One resting order as the level3 feed shows it."""

    order_id: str
    side: str  # "bid" | "ask"
    price: Decimal
    qty: Decimal
    timestamp: str | None = None


class _Side:
    __slots__ = ("bid", "cache", "keys", "levels")

    def __init__(self, bid: bool) -> None:
        self.bid = bid
        self.keys: list[int] = []
        self.levels: dict[int, dict[str, str]] = {}
        self.cache: dict[Any, tuple[int, str]] = {}


class SpotL3Book(VerifiedBookReads):
    """Local order-by-order book for one Spot WS v2 ``level3`` subscription.

    ``apply(message)`` takes a decoded frame or raw ``bytes``/``str``. Snapshot entries are orders in
    book order; update entries carry ``event``: ``add`` (to the back of its price level), ``modify``
    (new ``order_qty`` keeps the place; a new ``limit_price`` moves it to the back of that level),
    ``delete``. Each side is truncated to ``depth`` price levels, then the checksum is verified
    (``verify=True``); a mismatch marks the book invalid and raises :class:`ChecksumMismatchError`,
    and updates are dropped until the next snapshot.
    """

    def __init__(
        self,
        symbol: str,
        depth: int,
        price_precision: int,
        qty_precision: int,
        *,
        verify: bool = True,
    ) -> None:
        self.symbol = check_symbol(symbol)
        self.depth = check_depth(depth)
        _check_precision(price_precision, "price_precision")
        _check_precision(qty_precision, "qty_precision")
        self.price_precision = price_precision
        self.qty_precision = qty_precision
        self.verify = bool(verify)
        self.dropped_updates = 0
        self._asks = _Side(False)
        self._bids = _Side(True)
        self._index: dict[str, tuple[_Side, int, str | None]] = {}
        self._cache_limit = 4 * depth + 256
        self._valid = False
        self._last_update: str | None = None
        self._last_checksum: int | None = None

    # ------------------------------------------------------------------ applying messages

    def apply(self, message: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> bool:
        """Apply one v2 ``level3`` frame. Returns ``True`` when it changed this book."""
        if isinstance(message, _RAW):
            try:
                frame = v2_l3_decoder.decode(message)
            except msgspec.MsgspecError as exc:
                raise InvalidResponseError(f"undecodable level3 frame: {exc}") from exc
            if frame.channel != "level3" or frame.type not in ("snapshot", "update"):
                return False
            entries: list[tuple[Any, Any, Any, Any]] = [
                (e.bids, e.asks, e.checksum, e.timestamp) for e in frame.data if e.symbol == self.symbol
            ]
            snapshot = frame.type == "snapshot"
        else:
            try:
                if message.get("channel") != "level3" or message.get("type") not in ("snapshot", "update"):
                    return False
                snapshot = message["type"] == "snapshot"
                entries = [
                    (e.get("bids") or (), e.get("asks") or (), e.get("checksum"), e.get("timestamp"))
                    for e in message["data"]
                    if e.get("symbol") == self.symbol
                ]
            except (AttributeError, KeyError, TypeError) as exc:
                raise InvalidResponseError(f"malformed level3 frame: {exc!r}") from exc
        applied = False
        for bids, asks, checksum, timestamp in entries:
            if self._apply_entry(snapshot, bids, asks, checksum, timestamp):
                applied = True
        return applied

    def _apply_entry(self, snapshot: bool, bids: Any, asks: Any, checksum: Any, timestamp: Any) -> bool:
        if not snapshot and not self._valid:
            self.dropped_updates += 1
            return False
        try:
            if snapshot:
                self._clear()
            self._apply_orders(self._asks, asks, snapshot)
            self._apply_orders(self._bids, bids, snapshot)
        except KrakenError:
            self._valid = False
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self._valid = False
            raise InvalidResponseError(f"malformed level3 order: {exc!r}") from exc
        self._last_update = timestamp if isinstance(timestamp, str) else self._last_update
        if self.verify:
            actual = self.checksum()
            if checksum != actual:
                self._valid = False
                self._last_checksum = None
                raise ChecksumMismatchError(
                    f"{self.symbol}: level3 checksum mismatch (Kraken {checksum}, local {actual})",
                    symbol=self.symbol,
                    expected=checksum if isinstance(checksum, int) else None,
                    actual=actual,
                )
            self._last_checksum = actual
        else:
            self._last_checksum = checksum if isinstance(checksum, int) else None
        self._valid = True
        return True

    def _price(self, side: _Side, price: Any) -> tuple[int, str]:
        hit = side.cache.get(price)
        if hit is None:
            pf = fragment(price, self.price_precision)
            if not pf:
                raise InvalidResponseError(f"{self.symbol}: zero limit_price: {price!r}")
            hit = (-int(pf) if side.bid else int(pf), pf)
            if len(side.cache) >= self._cache_limit:
                side.cache.clear()
            side.cache[price] = hit
        return hit

    def _remove(self, order_id: str) -> None:
        side, key, _ = self._index.pop(order_id)
        level = side.levels[key]
        del level[order_id]
        if not level:
            del side.levels[key]
            del side.keys[bisect_left(side.keys, key)]

    def _append(self, side: _Side, key: int, order_id: str, frag: str, timestamp: str | None) -> None:
        level = side.levels.get(key)
        if level is None:
            level = side.levels[key] = {}
            insort(side.keys, key)
        level[order_id] = frag
        self._index[order_id] = (side, key, timestamp)

    def _apply_orders(self, side: _Side, orders: Iterable[Any], snapshot: bool) -> None:
        index = self._index
        qp = self.qty_precision
        for o in orders:
            order_id = o["order_id"]
            if not isinstance(order_id, str):
                raise InvalidResponseError(f"order_id must be a string: {order_id!r}")
            event = "add" if snapshot else o.get("event")
            if event == "delete":
                if order_id in index:
                    self._remove(order_id)
                continue
            if event != "add" and event != "modify":
                raise InvalidResponseError(f"unknown level3 event {event!r}")
            key, pf = self._price(side, o["limit_price"])
            qf = fragment(o["order_qty"], qp)
            ts = o.get("timestamp")
            timestamp = ts if isinstance(ts, str) else None
            old = index.get(order_id)
            if event == "modify" and old is not None and old[0] is side and old[1] == key and qf:
                side.levels[key][order_id] = pf + qf  # same place in the queue
                index[order_id] = (side, key, timestamp or old[2])
                continue
            if old is not None:
                self._remove(order_id)
            if qf:
                self._append(side, key, order_id, pf + qf, timestamp)
        depth = self.depth
        keys = side.keys
        if len(keys) > depth:
            for key in keys[depth:]:
                for order_id in side.levels.pop(key):
                    del index[order_id]
            del keys[depth:]

    def _clear(self) -> None:
        self._asks.keys, self._asks.levels = [], {}
        self._bids.keys, self._bids.levels = [], {}
        self._index = {}

    def checksum(self) -> int:
        """The level3 checksum of the book as it is now."""
        parts: list[str] = []
        for side in (self._asks, self._bids):
            levels = side.levels
            for key in side.keys[:_TOP]:
                parts.extend(levels[key].values())
        return zlib.crc32("".join(parts).encode())

    def reset(self) -> None:
        """Forget every order and mark the book invalid until the next snapshot."""
        self._clear()
        self._valid = False
        self._last_checksum = None

    # ------------------------------------------------------------------ reads

    def _price_dec(self, key: int) -> tuple[str, Decimal]:
        pf = str(-key if key < 0 else key)
        return pf, scaled_to_decimal(pf, self.price_precision)

    def _qty(self, pf: str, frag: str) -> Decimal:
        return scaled_to_decimal(frag[len(pf) :], self.qty_precision)

    def _aggregate(self, side: _Side, n: int | None) -> list[Level]:
        keys = side.keys if n is None else side.keys[: max(n, 0)]
        out: list[Level] = []
        qp = self.qty_precision
        for key in keys:
            pf, price = self._price_dec(key)
            cut = len(pf)
            total = sum(int(f[cut:]) for f in side.levels[key].values())
            out.append((price, scaled_to_decimal(str(total), qp)))
        return out

    def _orders(self, side: _Side, n: int | None) -> list[L3Order]:
        keys = side.keys if n is None else side.keys[: max(n, 0)]
        name = "bid" if side.bid else "ask"
        out: list[L3Order] = []
        for key in keys:
            pf, price = self._price_dec(key)
            for order_id, frag in side.levels[key].items():
                out.append(L3Order(order_id, name, price, self._qty(pf, frag), self._index[order_id][2]))
        return out

    def bid_orders(self, levels: int | None = None) -> list[L3Order]:
        """Orders of the best ``levels`` bid levels, best level first, queue order within a level."""
        return self._orders(self._bids, levels)

    def ask_orders(self, levels: int | None = None) -> list[L3Order]:
        """Orders of the best ``levels`` ask levels, best level first, queue order within a level."""
        return self._orders(self._asks, levels)

    def order(self, order_id: str) -> L3Order | None:
        """The resting order with this id, or None."""
        where = self._index.get(order_id)
        if where is None:
            return None
        side, key, timestamp = where
        pf, price = self._price_dec(key)
        frag = side.levels[key][order_id]
        return L3Order(order_id, "bid" if side.bid else "ask", price, self._qty(pf, frag), timestamp)

    def queue_position(self, order_id: str) -> tuple[int, Decimal] | None:
        """``(orders ahead, quantity ahead)`` of an order within its price level, or None."""
        where = self._index.get(order_id)
        if where is None:
            return None
        side, key, _ = where
        cut = len(str(-key if key < 0 else key))
        ahead = 0
        qty = 0
        for oid, frag in side.levels[key].items():
            if oid == order_id:
                break
            ahead += 1
            qty += int(frag[cut:])
        return ahead, scaled_to_decimal(str(qty), self.qty_precision)

    def _levels(self, bid: bool, n: int | None) -> list[Level]:
        """Price levels with their total quantity (BookReads hook)."""
        return self._aggregate(self._bids if bid else self._asks, n)

    def _edge(self) -> tuple[int, int] | None:
        if not self._asks.keys or not self._bids.keys:
            return None
        return self._asks.keys[0], self._bids.keys[0]

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return (
            f"SpotL3Book({self.symbol!r}, depth={self.depth}, bid_levels={len(self._bids.keys)}, "
            f"ask_levels={len(self._asks.keys)}, orders={len(self._index)}, valid={self._valid})"
        )

"""Spot WS v2 ``book`` channel (L2): a local order book that verifies Kraken's checksum.

Layout per side (chosen so an update touching one or two levels costs O(log n) plus a short
memmove, at depth 10 and at depth 1000 alike):

* ``keys``: sorted ``list[int]`` of prices scaled by ``10**price_precision`` (exact integers);
  bids are stored negated so both sides are ascending with the best level first;
* ``frags``: ``dict[int, str]`` key -> the level's checksum fragment ``price_text + qty_text``;
* a bounded cache ``price value -> (key, price_text)`` so a price seen before costs a dict hit.

The checksum is the CRC32 of the first 10 fragments of the asks then of the bids. Each side's part
is rebuilt only when a message touched that side's top 10 (a join of 10 cached strings); the
asks part is kept as a running CRC and the bids part as bytes, so ``crc32(bids, crc_asks)``
finishes it. Quantities and prices are handed out as exact ``Decimal`` built from the fragments.
"""

from __future__ import annotations

import logging
import zlib
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from krakenkit._core.errors import ChecksumMismatchError, InvalidResponseError, KrakenError

from ._checksum import _check_precision, fragment
from ._common import BookSnapshot, Level, check_depth, check_symbol, scaled_to_decimal
from ._wire import V2Level, v2_decoder

_Lvl = V2Level

__all__ = ["SpotBook"]

log = logging.getLogger("krakenkit.books")

_TOP = 10
_RAW = (bytes, bytearray, memoryview, str)
_ZEROS = tuple("0" * n for n in range(41))  # precision is at most 40
_crc32 = zlib.crc32
_decode = v2_decoder.decode


class SpotBook:
    """Local L2 book for one Spot WS v2 ``book`` subscription.

    ``apply(message)`` takes a decoded v2 frame (``{"channel": "book", "type": "snapshot"|"update",
    "data": [...]}``, numbers as ``Decimal``/``int``/``float``/``str``) or the raw frame as
    ``bytes``/``str``. Every level is applied (qty 0 deletes), each side is truncated to ``depth``,
    then, with ``verify=True``, the checksum is checked: a mismatch marks the book invalid and
    raises :class:`ChecksumMismatchError`. Updates that arrive while the book is invalid (before
    the first snapshot, or after a mismatch, until the next snapshot) are dropped and counted in
    ``dropped_updates``; resubscribe to get a new snapshot. Frames of other channels or symbols are
    ignored (``apply`` returns ``False``).
    """

    __slots__ = (
        "_ak",
        "_acache",
        "_adirty",
        "_af",
        "_ask_crc",
        "_bcache",
        "_bdirty",
        "_bf",
        "_bid_bytes",
        "_bk",
        "_cache_limit",
        "_last_checksum",
        "_last_update",
        "_valid",
        "depth",
        "dropped_updates",
        "price_precision",
        "qty_precision",
        "symbol",
        "verify",
    )

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
        self._ak: list[int] = []
        self._af: dict[int, str] = {}
        self._bk: list[int] = []
        self._bf: dict[int, str] = {}
        self._acache: dict[Any, tuple[int, str]] = {}
        self._bcache: dict[Any, tuple[int, str]] = {}
        self._cache_limit = 2 * depth + 256
        self._ask_crc = 0
        self._bid_bytes = b""
        self._adirty = True
        self._bdirty = True
        self._valid = False
        self._last_update: str | None = None
        self._last_checksum: int | None = None

    # ------------------------------------------------------------------ applying messages

    def apply(self, message: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> bool:
        """Apply one v2 ``book`` frame. Returns ``True`` when it changed this book."""
        if isinstance(message, _RAW):
            try:
                frame = _decode(message)
            except msgspec.MsgspecError as exc:
                raise InvalidResponseError(f"undecodable book frame: {exc}") from exc
            if frame.channel != "book":
                return False
            kind = frame.type
            applied = False
            symbol = self.symbol
            for e in frame.data:
                if e.symbol != symbol:
                    continue
                if kind == "update":
                    if self._update(e.bids, e.asks, e.checksum, e.timestamp):
                        applied = True
                elif kind == "snapshot":
                    self._snapshot(e.bids, e.asks, e.checksum, e.timestamp)
                    applied = True
            return applied
        try:
            if message.get("channel") != "book":
                return False
            kind = message.get("type")
            entries = [
                (
                    [_Lvl(lvl["price"], lvl["qty"]) for lvl in e.get("bids") or ()],
                    [_Lvl(lvl["price"], lvl["qty"]) for lvl in e.get("asks") or ()],
                    e.get("checksum"),
                    e.get("timestamp"),
                )
                for e in message["data"]
                if e.get("symbol") == self.symbol
            ]
        except (AttributeError, KeyError, TypeError) as exc:
            raise InvalidResponseError(f"malformed book frame: {exc!r}") from exc
        applied = False
        for bids, asks, checksum, timestamp in entries:
            if kind == "update":
                if self._update(bids, asks, checksum, timestamp):
                    applied = True
            elif kind == "snapshot":
                self._snapshot(bids, asks, checksum, timestamp)
                applied = True
        return applied

    def _update(self, bids: list[V2Level], asks: list[V2Level], checksum: Any, timestamp: Any) -> bool:
        if not self._valid:
            self.dropped_updates += 1
            return False
        side = self._side
        try:
            if asks and side(asks, self._ak, self._af, self._acache, False):
                self._adirty = True
            if bids and side(bids, self._bk, self._bf, self._bcache, True):
                self._bdirty = True
        except KrakenError:
            self._valid = False
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self._valid = False
            raise InvalidResponseError(f"malformed book level: {exc!r}") from exc
        self._last_update = timestamp
        if self.verify:
            if self._adirty:
                af = self._af
                self._ask_crc = _crc32("".join([af[k] for k in self._ak[:10]]).encode())
                self._adirty = False
            if self._bdirty:
                bf = self._bf
                self._bid_bytes = "".join([bf[k] for k in self._bk[:10]]).encode()
                self._bdirty = False
            actual = _crc32(self._bid_bytes, self._ask_crc)
            if actual != checksum:
                self._mismatch(checksum, actual)
            self._last_checksum = actual
        else:
            self._last_checksum = checksum if isinstance(checksum, int) else None
        return True

    def _mismatch(self, checksum: Any, actual: int) -> None:
        self._valid = False
        self._last_checksum = None
        raise ChecksumMismatchError(
            f"{self.symbol}: book checksum mismatch (Kraken {checksum}, local {actual})",
            symbol=self.symbol,
            expected=checksum if isinstance(checksum, int) else None,
            actual=actual,
        )

    def _snapshot(self, bids: list[V2Level], asks: list[V2Level], checksum: Any, timestamp: Any) -> None:
        self.reset()
        try:
            ak, af = self._load(asks, self._acache, False)
            bk, bf = self._load(bids, self._bcache, True)
        except KrakenError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise InvalidResponseError(f"malformed book level: {exc!r}") from exc
        self._ak, self._af, self._bk, self._bf = ak, af, bk, bf
        self._adirty = self._bdirty = True
        self._last_update = timestamp
        if self.verify:
            actual = self._crc()
            if actual != checksum:
                self._mismatch(checksum, actual)
            self._last_checksum = actual
        else:
            self._last_checksum = checksum if isinstance(checksum, int) else None
        self._valid = True

    def _load(
        self, levels: list[V2Level], cache: dict[Any, tuple[int, str]], bid: bool
    ) -> tuple[list[int], dict[int, str]]:
        pp = self.price_precision
        qp = self.qty_precision
        frags: dict[int, str] = {}
        for lvl in levels:
            price = lvl.price
            hit = cache.get(price)
            if hit is None:
                hit = self._new_price(price, cache, bid, pp)
            key, pf = hit
            qf = fragment(lvl.qty, qp)
            if qf:
                frags[key] = pf + qf
            else:
                frags.pop(key, None)
        keys = sorted(frags)
        depth = self.depth
        if len(keys) > depth:
            for k in keys[depth:]:
                del frags[k]
            del keys[depth:]
        return keys, frags

    def _new_price(
        self, price: Any, cache: dict[Any, tuple[int, str]], bid: bool, pp: int
    ) -> tuple[int, str]:
        pf = fragment(price, pp)
        if not pf:
            raise InvalidResponseError(f"{self.symbol}: zero price in book level: {price!r}")
        hit = (-int(pf) if bid else int(pf), pf)
        if len(cache) >= self._cache_limit:
            cache.clear()
        cache[price] = hit
        return hit

    def _side(
        self,
        levels: list[V2Level],
        keys: list[int],
        frags: dict[int, str],
        cache: dict[Any, tuple[int, str]],
        bid: bool,
    ) -> bool:
        """Apply levels to one side and truncate it; True when its top 10 changed."""
        qp = self.qty_precision
        zeros = _ZEROS
        dirty = False
        for lvl in levels:
            price = lvl.price
            hit = cache.get(price)
            if hit is None:
                hit = self._new_price(price, cache, bid, self.price_precision)
            key, pf = hit
            q = lvl.qty
            qf = None
            if q.__class__ is str:
                dot = q.find(".")
                if dot < 0:
                    if q.isdigit() and q.isascii():
                        qf = (q + zeros[qp]).lstrip("0")
                else:
                    digits = q.replace(".", "", 1)
                    pad = qp - len(q) + dot + 1
                    if pad >= 0 and digits.isdigit() and digits.isascii():
                        qf = (digits + zeros[pad]).lstrip("0")
            elif q.__class__ is int and q >= 0:
                qf = str(q) + zeros[qp] if q else ""
            if qf is None:
                qf = fragment(q, qp)
            if qf:
                if key in frags:
                    if not dirty and (len(keys) <= 10 or key <= keys[9]):
                        dirty = True
                else:
                    if not dirty and (len(keys) < 10 or key < keys[9]):
                        dirty = True
                    insort(keys, key)
                frags[key] = pf + qf
            elif key in frags:
                if not dirty and (len(keys) <= 10 or key <= keys[9]):
                    dirty = True
                del frags[key]
                del keys[bisect_left(keys, key)]
        depth = self.depth
        if len(keys) > depth:
            if depth < 10:
                dirty = True
            for k in keys[depth:]:
                del frags[k]
            del keys[depth:]
        return dirty

    def _crc(self) -> int:
        if self._adirty:
            af = self._af
            self._ask_crc = _crc32("".join([af[k] for k in self._ak[:10]]).encode())
            self._adirty = False
        if self._bdirty:
            bf = self._bf
            self._bid_bytes = "".join([bf[k] for k in self._bk[:10]]).encode()
            self._bdirty = False
        return _crc32(self._bid_bytes, self._ask_crc)

    def checksum(self) -> int:
        """The checksum of the book as it is now (computed, whatever ``verify`` says)."""
        af, bf = self._af, self._bf
        text = "".join([af[k] for k in self._ak[:_TOP]]) + "".join([bf[k] for k in self._bk[:_TOP]])
        return zlib.crc32(text.encode())

    def reset(self) -> None:
        """Forget every level and mark the book invalid until the next snapshot."""
        self._ak, self._af, self._bk, self._bf = [], {}, [], {}
        self._adirty = self._bdirty = True
        self._valid = False
        self._last_checksum = None

    # ------------------------------------------------------------------ reads

    @property
    def is_valid(self) -> bool:
        """True after a snapshot until a checksum mismatch or a malformed message."""
        return self._valid

    @property
    def ready(self) -> bool:
        """Same as :attr:`is_valid`: the book holds a verified picture of the market."""
        return self._valid

    @property
    def last_update(self) -> str | None:
        """``timestamp`` of the last applied entry (RFC 3339 text as Kraken sent it)."""
        return self._last_update

    @property
    def last_checksum(self) -> int | None:
        """The last checksum Kraken sent that the book verified (or just received, without verify)."""
        return self._last_checksum

    def _level(self, key: int, frag: str) -> Level:
        pf = str(-key if key < 0 else key)
        return (
            scaled_to_decimal(pf, self.price_precision),
            scaled_to_decimal(frag[len(pf) :], self.qty_precision),
        )

    def _levels(self, keys: list[int], frags: dict[int, str], n: int | None) -> list[Level]:
        sel = keys if n is None else keys[: max(n, 0)]
        level = self._level
        return [level(k, frags[k]) for k in sel]

    @property
    def best_bid(self) -> Level | None:
        if not self._bk:
            return None
        k = self._bk[0]
        return self._level(k, self._bf[k])

    @property
    def best_ask(self) -> Level | None:
        if not self._ak:
            return None
        k = self._ak[0]
        return self._level(k, self._af[k])

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or None when a side is empty."""
        if not self._ak or not self._bk:
            return None
        return Decimal(f"{self._ak[0] + self._bk[0]}E-{self.price_precision}")

    @property
    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, exact, or None when a side is empty."""
        if not self._ak or not self._bk:
            return None
        return Decimal(f"{(self._ak[0] - self._bk[0]) * 5}E-{self.price_precision + 1}")

    def bids(self, n: int | None = None) -> list[Level]:
        """Best ``n`` bids (all when None), highest price first."""
        return self._levels(self._bk, self._bf, n)

    def asks(self, n: int | None = None) -> list[Level]:
        """Best ``n`` asks (all when None), lowest price first."""
        return self._levels(self._ak, self._af, n)

    def snapshot(self) -> BookSnapshot:
        """An immutable copy of the whole book."""
        return BookSnapshot(
            symbol=self.symbol,
            bids=tuple(self.bids()),
            asks=tuple(self.asks()),
            valid=self._valid,
            last_update=self._last_update,
            checksum=self._last_checksum,
        )

    def __len__(self) -> int:
        return len(self._ak) + len(self._bk)

    def __repr__(self) -> str:
        return (
            f"SpotBook({self.symbol!r}, depth={self.depth}, bids={len(self._bk)}, asks={len(self._ak)}, "
            f"valid={self._valid})"
        )

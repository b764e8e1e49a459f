"""Derivatives WS v1 ``book`` feed: ``book_snapshot`` then ``book`` deltas checked by ``seq``.

The feed has no checksum; its proof is the sequence number: each delta must carry the previous
``seq`` + 1. A gap marks the book invalid and raises :class:`SequenceGapError` (resubscribe for a
new snapshot). A delta whose ``seq`` is not newer than the book (a replay, or a delta from before
the snapshot) is ignored. Prices are ``Decimal`` keys; bids are stored negated so both sides keep
a sorted list best first (bisect) beside a dict price -> qty.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from krakenkit._core.errors import InvalidResponseError, KrakenError, SequenceGapError

from ._common import BookReads, Level, check_symbol
from ._wire import futures_decoder

__all__ = ["DerivativesBook"]

_RAW = (bytes, bytearray, memoryview, str)


def _dec(value: Any) -> Decimal:
    if value.__class__ is Decimal:
        result: Decimal = value
    elif isinstance(value, bool) or value is None:
        raise InvalidResponseError(f"not a number: {value!r}")
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        try:
            result = Decimal(value)
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise InvalidResponseError(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise InvalidResponseError(f"not a finite number: {value!r}")
    return result


class DerivativesBook(BookReads[int]):
    """Local book for one Derivatives (Futures) product from the WS v1 ``book`` feed.

    ``apply(message)`` takes a decoded message (dict) or raw ``bytes``/``str``; messages of other
    feeds or products are ignored (returns ``False``).
    """

    def __init__(self, product_id: str) -> None:
        self.product_id = check_symbol(product_id, "product_id")
        self.symbol = self.product_id  # the name the shared read API uses
        self.dropped_updates = 0
        self._ak: list[Decimal] = []
        self._aq: dict[Decimal, Decimal] = {}
        self._bk: list[Decimal] = []  # negated prices
        self._bq: dict[Decimal, Decimal] = {}
        self._seq: int | None = None
        self._valid = False
        self._last_update: int | None = None

    def apply(self, message: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> bool:
        """Apply one ``book_snapshot`` or ``book`` message. Returns ``True`` when it changed the book."""
        feed: Any
        product: Any
        seq: Any
        if isinstance(message, _RAW):
            try:
                f = futures_decoder.decode(message)
            except msgspec.MsgspecError as exc:
                raise InvalidResponseError(f"undecodable derivatives book message: {exc}") from exc
            feed, product, seq = f.feed, f.product_id, f.seq
            msg: Mapping[str, Any] = {
                "side": f.side,
                "price": f.price,
                "qty": f.qty,
                "timestamp": f.timestamp,
                "bids": f.bids,
                "asks": f.asks,
            }
        else:
            try:
                feed, product, seq = message.get("feed"), message.get("product_id"), message.get("seq")
            except AttributeError as exc:
                raise InvalidResponseError(f"malformed derivatives book message: {exc!r}") from exc
            msg = message
        if product != self.product_id or feed not in ("book", "book_snapshot"):
            return False
        if isinstance(seq, bool) or not isinstance(seq, int):
            self._valid = False
            raise InvalidResponseError(f"{self.product_id}: book message without an integer seq: {seq!r}")
        try:
            if feed == "book_snapshot":
                self._load(msg.get("bids") or (), msg.get("asks") or ())
                self._seq = seq
                self._valid = True
            else:
                if not self._valid or self._seq is None:
                    self.dropped_updates += 1
                    return False
                if seq <= self._seq:
                    self.dropped_updates += 1
                    return False
                if seq != self._seq + 1:
                    self._valid = False
                    raise SequenceGapError(
                        f"{self.product_id}: book seq gap (expected {self._seq + 1}, got {seq})",
                        symbol=self.product_id,
                        expected=self._seq + 1,
                        actual=seq,
                    )
                side = msg.get("side")
                if side == "buy":
                    self._set(self._bk, self._bq, -_dec(msg.get("price")), _dec(msg.get("qty")))
                elif side == "sell":
                    self._set(self._ak, self._aq, _dec(msg.get("price")), _dec(msg.get("qty")))
                else:
                    raise InvalidResponseError(f"{self.product_id}: unknown book side {side!r}")
                self._seq = seq
        except KrakenError:
            self._valid = False
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self._valid = False
            raise InvalidResponseError(f"malformed derivatives book message: {exc!r}") from exc
        ts = msg.get("timestamp")
        if isinstance(ts, int) and not isinstance(ts, bool):
            self._last_update = ts
        return True

    @staticmethod
    def _set(keys: list[Decimal], qtys: dict[Decimal, Decimal], key: Decimal, qty: Decimal) -> None:
        if qty.is_signed() and not qty.is_zero():
            raise InvalidResponseError(f"negative book qty {qty}")
        if qty.is_zero():
            if qtys.pop(key, None) is not None:
                del keys[bisect_left(keys, key)]
        else:
            if key not in qtys:
                insort(keys, key)
            qtys[key] = qty

    def _load(self, bids: Iterable[Any], asks: Iterable[Any]) -> None:
        self._valid = False
        self._ak, self._aq, self._bk, self._bq = [], {}, [], {}
        for lvl in asks:
            self._set(self._ak, self._aq, _dec(lvl["price"]), _dec(lvl["qty"]))
        for lvl in bids:
            self._set(self._bk, self._bq, -_dec(lvl["price"]), _dec(lvl["qty"]))

    def reset(self) -> None:
        """Forget every level and mark the book invalid until the next snapshot."""
        self._ak, self._aq, self._bk, self._bq = [], {}, [], {}
        self._seq = None
        self._valid = False

    # ------------------------------------------------------------------ reads (BookReads hooks)

    @property
    def sequence(self) -> int | None:
        """``seq`` of the last applied message."""
        return self._seq

    def _levels(self, bid: bool, n: int | None) -> list[Level]:
        if bid:
            keys, qtys = self._bk, self._bq
            return [(-k, qtys[k]) for k in (keys if n is None else keys[:n])]
        keys, qtys = self._ak, self._aq
        return [(k, qtys[k]) for k in (keys if n is None else keys[:n])]

    def _edge(self) -> tuple[Decimal, Decimal] | None:
        return (self._ak[0], self._bk[0]) if self._ak and self._bk else None

    def _price_of(self, value: Any, halve: bool) -> Decimal:
        result: Decimal = value / 2 if halve else value
        return result

    def _marks(self) -> tuple[int | None, int | None]:
        return None, self._seq

    def __len__(self) -> int:
        return len(self._ak) + len(self._bk)

    def __repr__(self) -> str:
        return (
            f"DerivativesBook({self.product_id!r}, bids={len(self._bk)}, asks={len(self._ak)}, "
            f"seq={self._seq}, valid={self._valid})"
        )

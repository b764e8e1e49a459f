"""Pieces shared by the books (internal)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from krakenkit._core.errors import ValidationError

__all__ = [
    "BookReads",
    "BookSnapshot",
    "Level",
    "VerifiedBookReads",
    "check_depth",
    "check_symbol",
    "scaled_to_decimal",
]

_TS = TypeVar("_TS")

Level = tuple[Decimal, Decimal]
"""One price level: ``(price, qty)``."""


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """An immutable copy of a book at one moment: later messages do not change it.

    ``bids`` best (highest) first, ``asks`` best (lowest) first. ``checksum`` is the last checksum
    Kraken sent and the book verified (Spot), ``sequence`` the last ``seq`` (Derivatives).
    """

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    valid: bool
    last_update: Any = None
    checksum: int | None = None
    sequence: int | None = None


def scaled_to_decimal(digits: str, precision: int) -> Decimal:
    """``("452835", 1) -> Decimal("45283.5")``: exact, keeps ``precision`` decimals."""
    if precision:
        return Decimal(f"{digits or '0'}E-{precision}")
    return Decimal(digits or "0")


def check_symbol(symbol: object, name: str = "symbol") -> str:
    if not isinstance(symbol, str) or not symbol:
        raise ValidationError(f"{name} must be a non-empty string, got {symbol!r}", field=name)
    return symbol


def check_depth(depth: object) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValidationError(f"depth must be a positive int (10, 25, 100, 500, 1000), got {depth!r}", field="depth")
    return depth


class BookReads(Generic[_TS]):
    """The read API every book shares (a slot-less mixin: it adds nothing to the apply path).

    A book provides ``symbol``, ``_valid``, ``_last_update`` and three hooks: :meth:`_levels` (the
    best ``n`` levels of a side as ``(price, qty)``), :meth:`_edge` (the best ask key and the best
    bid key, stored negated) and :meth:`_price_of` (a key sum or difference as a price). The default
    :meth:`_price_of` is for books keyed by prices scaled by ``10**price_precision`` (exact integers).
    """

    __slots__ = ()

    symbol: str
    price_precision: int
    _valid: bool
    _last_update: _TS | None

    # ------------------------------------------------------------------ hooks

    def _levels(self, bid: bool, n: int | None) -> list[Level]:
        """Best ``n`` (``None``: all, else ``>= 0``) levels of one side, best first."""
        raise NotImplementedError

    def _edge(self) -> tuple[Any, Any] | None:
        """``(best ask key, best bid key)`` (the bid key negated), or None when a side is empty."""
        raise NotImplementedError

    def _price_of(self, value: Any, halve: bool) -> Decimal:
        """``value`` (a sum of keys) as a price, halved when ``halve``; exact."""
        if halve:
            return Decimal(f"{value * 5}E-{self.price_precision + 1}")
        return Decimal(f"{value}E-{self.price_precision}")

    def _marks(self) -> tuple[int | None, int | None]:
        """``(checksum, sequence)`` for :meth:`snapshot`."""
        return None, None

    # ------------------------------------------------------------------ reads

    @property
    def is_valid(self) -> bool:
        """True after a verified snapshot until a failed check or a malformed message."""
        return self._valid

    @property
    def ready(self) -> bool:
        """Same as :attr:`is_valid`: the book holds a verified picture of the market."""
        return self._valid

    @property
    def last_update(self) -> _TS | None:
        """Timestamp of the last applied message as Kraken sent it (Spot: RFC 3339 text;
        Derivatives: ms since the epoch)."""
        return self._last_update

    @property
    def best_bid(self) -> Level | None:
        """``(price, qty)`` of the highest bid, or None."""
        top = self._levels(True, 1)
        return top[0] if top else None

    @property
    def best_ask(self) -> Level | None:
        """``(price, qty)`` of the lowest ask, or None."""
        top = self._levels(False, 1)
        return top[0] if top else None

    @property
    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or None when a side is empty."""
        edge = self._edge()
        return None if edge is None else self._price_of(edge[0] + edge[1], False)

    @property
    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, or None when a side is empty."""
        edge = self._edge()
        return None if edge is None else self._price_of(edge[0] - edge[1], True)

    def bids(self, n: int | None = None) -> list[Level]:
        """Best ``n`` bid levels (all when None), highest price first."""
        return self._levels(True, None if n is None else max(n, 0))

    def asks(self, n: int | None = None) -> list[Level]:
        """Best ``n`` ask levels (all when None), lowest price first."""
        return self._levels(False, None if n is None else max(n, 0))

    def snapshot(self) -> BookSnapshot:
        """An immutable copy of the whole book; later messages do not change it."""
        checksum, sequence = self._marks()
        return BookSnapshot(
            symbol=self.symbol,
            bids=tuple(self.bids()),
            asks=tuple(self.asks()),
            valid=self._valid,
            last_update=self._last_update,
            checksum=checksum,
            sequence=sequence,
        )


class VerifiedBookReads(BookReads[str]):
    """:class:`BookReads` of the checksummed Spot books (``book`` and ``level3``)."""

    __slots__ = ()

    _last_checksum: int | None

    @property
    def last_checksum(self) -> int | None:
        """The last checksum verified (with ``verify=False``: the last one received)."""
        return self._last_checksum

    def _marks(self) -> tuple[int | None, int | None]:
        return self._last_checksum, None

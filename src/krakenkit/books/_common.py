"""Pieces shared by the books (internal)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from krakenkit._core.errors import ValidationError

__all__ = ["BookSnapshot", "Level", "check_depth", "check_symbol", "scaled_to_decimal"]

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

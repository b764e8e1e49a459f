"""Small helpers shared by the Futures sandbox modules: time formats, numbers, ids."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = [
    "ZERO",
    "D",
    "iso_ms",
    "ms",
    "num",
    "parse_bool",
    "parse_decimal",
    "quant",
    "seeded_uuid",
]

ZERO = Decimal(0)
_Q8 = Decimal("0.00000001")


def D(value: str | int | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def iso_ms(ts: float) -> str:
    """``2024-01-02T03:04:05.678Z`` (the Derivatives REST time format)."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def ms(ts: float) -> int:
    return round(ts * 1000)


def quant(value: Decimal, places: Decimal = _Q8) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_EVEN)


def num(value: Decimal | int) -> Decimal | int:
    """A JSON-friendly number: integral values become ``int``, others a plain ``Decimal``."""
    if isinstance(value, int):
        return value
    if not value.is_finite():
        return 0
    if value == value.to_integral_value():
        return int(value)
    return value.normalize()


def fnum(value: Decimal | int) -> Decimal:
    """Like :func:`num` but always non-integral looking (``5000.0``) for float-typed fields."""
    if isinstance(value, int):
        value = Decimal(value)
    if value == value.to_integral_value():
        return Decimal(int(value)).quantize(Decimal("0.0"))
    return value.normalize()


def parse_decimal(text: str | None) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    if not value.is_finite():
        return None
    return value


def parse_bool(text: str | None) -> bool | None:
    if text is None:
        return None
    low = text.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no", ""):
        return False
    return None


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))

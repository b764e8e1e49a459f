"""Money in and out: ``Decimal`` everywhere, floats converted by their shortest repr."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError

__all__ = ["Money", "format_decimal", "to_decimal", "to_decimal_or_none", "wire_decimal"]

Money = Decimal | str | int | float


def to_decimal(value: Any, field: str, *, allow_zero: bool = True, allow_negative: bool = False) -> Decimal:
    """Turn user input into a Decimal or raise :class:`ValidationError` naming ``field``.

    ``float`` goes through ``repr`` (``0.1`` -> ``Decimal("0.1")``, never its binary expansion).
    NaN, infinities, empty strings, booleans and (unless allowed) negatives are refused.
    """
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be a number, not a bool; pass e.g. Decimal('1.5')", field=field)
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        dec = Decimal(value)
    elif isinstance(value, float):
        dec = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValidationError(f"{field} is empty; pass a number such as '1.25'", field=field)
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise ValidationError(f"{field}={value!r} is not a number; pass e.g. '1.25'", field=field) from None
    else:
        raise ValidationError(
            f"{field} must be Decimal, str or int (got {type(value).__name__}); pass e.g. Decimal('1.25')",
            field=field,
        )
    if not dec.is_finite():
        raise ValidationError(f"{field}={value!r} is not a finite number", field=field)
    if dec < 0 and not allow_negative:
        raise ValidationError(f"{field}={value!r} is negative; pass a positive amount", field=field)
    if dec == 0 and not allow_zero:
        raise ValidationError(f"{field} must be greater than zero", field=field)
    return dec


def to_decimal_or_none(value: Any) -> Decimal | None:
    """Parse a Kraken value (str/int/Decimal) leniently for responses; None when absent/unparsable."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def format_decimal(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros: ``Decimal('1E+3')`` -> ``'1000'``."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def wire_decimal(value: Any, field: str, **kwargs: Any) -> str:
    """Validate a money argument and format it for the wire."""
    return format_decimal(to_decimal(value, field, **kwargs))

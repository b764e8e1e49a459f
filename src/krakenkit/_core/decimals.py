"""Money in and out: ``Decimal`` everywhere.

:func:`to_decimal` is the lenient converter the clients used before the validation layer
(:mod:`krakenkit._core.validation`): it still takes floats (through their shortest ``repr``). Both
bound a number's size from its digits and exponent *before* anything formats it, so
``'1e999999999'`` is refused at once instead of growing into a billion-digit string.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError
from .validation_values import MAX_FRACTION_DIGITS, MAX_INTEGER_DIGITS, MAX_NUMBER_TEXT, format_amount

__all__ = ["Money", "format_decimal", "to_decimal", "to_decimal_or_none", "wire_decimal"]

Money = Decimal | str | int | float

# ASCII digits only (Decimal() also takes '1_000' and Arabic-Indic digits), optional exponent.
_TEXT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,18})?")


def _size_error(dec: Decimal) -> str | None:
    """Why a finite Decimal is too big or too fine to send, judged from its tuple (no expansion)."""
    _, digits, exponent = dec.as_tuple()
    assert isinstance(exponent, int)
    n = len(digits)
    if n > MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS + 2:
        return f"has too many digits (at most {MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS})"
    while n > 1 and digits[n - 1] == 0:
        n -= 1
        exponent += 1
    if n == 1 and digits[0] == 0:
        return None
    if n + exponent > MAX_INTEGER_DIGITS:
        return f"is too large (at most {MAX_INTEGER_DIGITS} digits before the point)"
    if exponent < -MAX_FRACTION_DIGITS:
        return f"has too many decimals (at most {MAX_FRACTION_DIGITS} after the point)"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_decimal(value: Any, field: str, *, allow_zero: bool = True, allow_negative: bool = False) -> Decimal:
    """Turn user input into a Decimal or raise :class:`ValidationError` naming ``field``.

    ``float`` goes through ``repr`` (``0.1`` -> ``Decimal("0.1")``, never its binary expansion).
    NaN, infinities, empty strings, booleans, oversized numbers and (unless allowed) negatives are refused.
    """
    if isinstance(value, bool):
        raise ValidationError(f"{field} must be a number, not a bool; pass e.g. Decimal('1.5')", field=field)
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, int):
        if not -(10**MAX_INTEGER_DIGITS) < value < 10**MAX_INTEGER_DIGITS:
            raise ValidationError(f"{field} is too large (at most {MAX_INTEGER_DIGITS} digits)", field=field)
        dec = Decimal(value)
    elif isinstance(value, float):
        dec = Decimal(repr(value))
    elif isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT:
            raise ValidationError(f"{field} is {len(value)} characters long; not a number", field=field)
        text = value.strip()
        if not text:
            raise ValidationError(f"{field} is empty; pass a number such as '1.25'", field=field)
        if not _TEXT_RE.fullmatch(text):
            raise ValidationError(f"{field}={_shown(value)} is not a number; pass e.g. '1.25'", field=field)
        try:
            dec = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            raise ValidationError(f"{field}={_shown(value)} is not a number; pass e.g. '1.25'", field=field) from None
    else:
        raise ValidationError(
            f"{field} must be Decimal, str or int (got {type(value).__name__}); pass e.g. Decimal('1.25')",
            field=field,
        )
    if not dec.is_finite():
        raise ValidationError(f"{field}={_shown(value)} is not a finite number", field=field)
    problem = _size_error(dec)
    if problem is not None:
        raise ValidationError(f"{field}={_shown(value)} {problem}", field=field)
    if dec < 0 and not allow_negative:
        raise ValidationError(f"{field}={_shown(value)} is negative; pass a positive amount", field=field)
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
    except (InvalidOperation, ValueError):
        return None


def format_decimal(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros: ``Decimal('1E+3')`` -> ``'1000'``.

    Refuses (``ValidationError``) a number whose plain text would be absurdly long (more than 20
    digits before or 18 after the point) instead of expanding it.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(f"not a finite Decimal: {_shown(value)}")
    problem = _size_error(value)
    if problem is not None:
        raise ValidationError(f"the number {_shown(value)} {problem}")
    return format_amount(value)


def wire_decimal(value: Any, field: str, **kwargs: Any) -> str:
    """Validate a money argument and format it for the wire."""
    return format_decimal(to_decimal(value, field, **kwargs))

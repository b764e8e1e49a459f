"""Kraken book checksum pieces: level fragments and the CRC32 over the top of the book.

A *fragment* is a price or quantity written at the pair's precision with the ``.`` removed and
leading zeros stripped: ``0.566`` at precision 4 is ``0.5660`` -> ``"5660"``; ``45283.5`` at
precision 1 is ``"452835"``; ``1`` at precision 8 is ``"100000000"``. The fragment is the value
scaled by ``10**precision`` written as a plain integer, which is also what the books use as their
exact integer sort key. Zero gives ``""`` (every digit is a leading zero).

Values may be ``Decimal``, ``int``, ``str`` (JSON number text or a quoted number) or ``float``
(its shortest ``repr``, which is the text the wire carried). A value with more significant decimals
than the precision cannot be written at that precision: it raises :class:`InvalidResponseError`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from krakenkit._core.errors import InvalidResponseError, ValidationError

__all__ = ["checksum_v2", "checksum_v2_level3", "format_level_fragment"]

_ZEROS = tuple("0" * n for n in range(64))


def _fragment_slow(value: Any, precision: int) -> str:
    """General path: any numeric form, exponents included. Exact (no context rounding)."""
    if isinstance(value, bool):
        raise InvalidResponseError(f"not a number: {value!r}")
    try:
        if isinstance(value, Decimal):
            dec = value
        elif isinstance(value, float):
            dec = Decimal(repr(value))
        elif isinstance(value, int | str):
            dec = Decimal(value)
        else:
            raise InvalidResponseError(f"not a number: {value!r}")
    except (InvalidOperation, ValueError) as exc:
        raise InvalidResponseError(f"not a number: {value!r}") from exc
    if not dec.is_finite():
        raise InvalidResponseError(f"not a finite number: {value!r}")
    if dec.is_zero():
        return ""
    if dec.is_signed():
        raise InvalidResponseError(f"negative price or quantity: {value!r}")
    _, digits_t, exponent = dec.as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = "".join(map(str, digits_t))
    shift = exponent + precision
    if shift >= 0:
        return (digits + "0" * shift).lstrip("0")
    kept, dropped = digits[:shift], digits[shift:]
    if dropped.strip("0"):
        raise InvalidResponseError(
            f"{value!r} has more decimals than the precision {precision}; check price/qty precision"
        )
    return kept.lstrip("0")


def fragment(value: Any, precision: int) -> str:
    """Fragment of one value (internal, hot path; ``precision`` assumed valid)."""
    cls = value.__class__
    if cls is str:
        text: str = value
    elif cls is int or cls is Decimal:
        text = str(value)
    elif cls is float:
        text = repr(value)
    else:
        return _fragment_slow(value, precision)
    dot = text.find(".")
    if dot < 0:
        digits = text
        pad = precision
    else:
        digits = text[:dot] + text[dot + 1 :]
        pad = precision - (len(text) - dot - 1)
    if not (digits.isdigit() and digits.isascii()):
        # signs, exponents, spaces, empty text, NaN/Infinity: the exact slow path decides
        return _fragment_slow(value, precision)
    if pad >= 0:
        if pad < 64:
            return (digits + _ZEROS[pad]).lstrip("0")
        return (digits + "0" * pad).lstrip("0")
    if digits[pad:].strip("0"):
        return _fragment_slow(value, precision)  # raises: excess non-zero decimals
    return digits[:pad].lstrip("0")


def _check_precision(precision: int, name: str) -> None:
    if isinstance(precision, bool) or not isinstance(precision, int) or not 0 <= precision <= 40:
        raise ValidationError(f"{name} must be an int between 0 and 40, got {precision!r}", field=name)


def format_level_fragment(value: Decimal | int | str | float, precision: int) -> str:
    """Checksum fragment of a price or quantity at ``precision`` decimals.

    ``format_level_fragment(Decimal("0.566"), 4) == "5660"``; ``format_level_fragment("45283.5", 1)
    == "452835"``; zero gives ``""``. Raises :class:`ValidationError` for a bad precision and
    :class:`InvalidResponseError` for a value that is not a non-negative number or has more
    significant decimals than ``precision``.
    """
    _check_precision(precision, "precision")
    return fragment(value, precision)


def _side_text(levels: Iterable[Any], pp: int, qp: int) -> str:
    parts: list[str] = []
    for n, (price, qty) in enumerate(levels):
        if n == 10:
            break
        parts.append(fragment(price, pp))
        parts.append(fragment(qty, qp))
    return "".join(parts)


def checksum_v2(
    asks: Iterable[tuple[Any, Any]],
    bids: Iterable[tuple[Any, Any]],
    price_precision: int,
    qty_precision: int,
) -> int:
    """Spot WS v2 ``book`` checksum (unsigned CRC32).

    ``asks`` must be in ascending price order and ``bids`` in descending price order, as
    ``(price, qty)`` pairs; only the first 10 of each are used.
    """
    _check_precision(price_precision, "price_precision")
    _check_precision(qty_precision, "qty_precision")
    text = _side_text(asks, price_precision, qty_precision) + _side_text(bids, price_precision, qty_precision)
    return zlib.crc32(text.encode("ascii"))


def checksum_v2_level3(
    asks: Iterable[Iterable[tuple[Any, Any]]],
    bids: Iterable[Iterable[tuple[Any, Any]]],
    price_precision: int,
    qty_precision: int,
) -> int:
    """Spot WS v2 ``level3`` checksum (unsigned CRC32).

    ``asks``/``bids`` are price levels best first, each an iterable of ``(limit_price, order_qty)``
    in queue order; every order of the first 10 levels per side counts, asks first.
    """
    _check_precision(price_precision, "price_precision")
    _check_precision(qty_precision, "qty_precision")
    parts: list[str] = []
    for side in (asks, bids):
        for n, level in enumerate(side):
            if n == 10:
                break
            for price, qty in level:
                parts.append(fragment(price, price_precision))
                parts.append(fragment(qty, qty_precision))
    return zlib.crc32("".join(parts).encode("ascii"))

"""Spot WS v2 book checksums (the sandbox's own implementation of Kraken's rule).

For the top 10 asks (ascending) then the top 10 bids (descending): ``price_text + qty_text`` with each
number printed at the pair's precision, the dot removed and leading zeros stripped; CRC32 of the
concatenation. Level3 uses every order of those levels in queue order (limit_price + order_qty).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache

__all__ = ["book_checksum", "checksum_token", "l3_checksum"]


@lru_cache(maxsize=65536)
def checksum_token(value: Decimal, precision: int) -> str:
    text = format(value, f".{precision}f").replace(".", "").lstrip("0")
    return text


def book_checksum(
    asks: Iterable[tuple[Decimal, Decimal]], bids: Iterable[tuple[Decimal, Decimal]], price_prec: int, qty_prec: int
) -> int:
    """L2: the top 10 ask levels then the top 10 bid levels (each side best first)."""
    return l3_checksum(([level] for level in asks), ([level] for level in bids), price_prec, qty_prec)


def l3_checksum(
    asks: Iterable[Iterable[tuple[Decimal, Decimal]]],
    bids: Iterable[Iterable[tuple[Decimal, Decimal]]],
    price_prec: int,
    qty_prec: int,
) -> int:
    """``asks``/``bids``: levels best first, each an iterable of (price, qty) orders in queue order."""
    parts: list[str] = []
    for side in (asks, bids):
        n = 0
        for level in side:
            for price, qty in level:
                parts.append(checksum_token(price, price_prec))
                parts.append(checksum_token(qty, qty_prec))
            n += 1
            if n == 10:
                break
    return zlib.crc32("".join(parts).encode()) & 0xFFFFFFFF

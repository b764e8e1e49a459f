"""Local order books that verify themselves (pure: no I/O, no asyncio).

* :class:`SpotBook`: Spot WS v2 ``book`` (L2), CRC32 checksum verified on every message.
* :class:`SpotL3Book`: Spot WS v2 ``level3``, orders in queue order, its own checksum.
* :class:`DerivativesBook`: Derivatives WS v1 ``book_snapshot`` + ``book`` deltas, ``seq`` checked.
* :func:`checksum_v2`, :func:`checksum_v2_level3`, :func:`format_level_fragment`: the checksum rule.
"""

from __future__ import annotations

from ._checksum import checksum_v2, checksum_v2_level3, format_level_fragment
from ._common import BookSnapshot, Level
from .derivatives import DerivativesBook
from .level3 import L3Order, SpotL3Book
from .spot import SpotBook

__all__ = [
    "BookSnapshot",
    "DerivativesBook",
    "L3Order",
    "Level",
    "SpotBook",
    "SpotL3Book",
    "checksum_v2",
    "checksum_v2_level3",
    "format_level_fragment",
]

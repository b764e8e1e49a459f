"""msgspec decoders for raw book frames (internal).

Numbers with a fraction arrive as their own JSON text (``float_hook=format``, the identity on
``str``), integers as ``int`` and quoted numbers as ``str``: every form goes through
:func:`krakenkit.books._checksum.fragment` exactly, without a float or a Decimal round trip.
Unknown fields are ignored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "FuturesFrame",
    "V2Entry",
    "V2Frame",
    "V2L3Entry",
    "V2L3Frame",
    "V2Level",
    "futures_decoder",
    "v2_decoder",
    "v2_l3_decoder",
]


class V2Level(msgspec.Struct, gc=False):
    """A ``book`` level: ``price``/``qty`` as number text (``str``), ``int``, or a quoted ``str``."""

    price: Any
    qty: Any


class V2Entry(msgspec.Struct, gc=False):
    symbol: str = ""
    bids: list[V2Level] = []
    asks: list[V2Level] = []
    checksum: int | None = None
    timestamp: str | None = None


class V2L3Entry(msgspec.Struct, gc=False):
    symbol: str = ""
    bids: list[dict[str, Any]] = []
    asks: list[dict[str, Any]] = []
    checksum: int | None = None
    timestamp: str | None = None


class V2Frame(msgspec.Struct, gc=False):
    channel: str = ""
    type: str = ""
    data: list[V2Entry] = []


class V2L3Frame(msgspec.Struct, gc=False):
    channel: str = ""
    type: str = ""
    data: list[V2L3Entry] = []


class FuturesFrame(msgspec.Struct, gc=False):
    feed: str = ""
    product_id: str = ""
    seq: int | None = None
    side: str | None = None
    price: Any = None
    qty: Any = None
    timestamp: int | None = None
    bids: list[dict[str, Any]] = []
    asks: list[dict[str, Any]] = []


# ``format`` is the identity on ``str`` (``format(s) is s``) and, unlike ``str``, a builtin function
# with a fast calling convention: ~3 numbers a frame pay one C call each instead of a type call.
v2_decoder: msgspec.json.Decoder[V2Frame] = msgspec.json.Decoder(V2Frame, float_hook=format)
v2_l3_decoder: msgspec.json.Decoder[V2L3Frame] = msgspec.json.Decoder(V2L3Frame, float_hook=format)
futures_decoder: msgspec.json.Decoder[FuturesFrame] = msgspec.json.Decoder(FuturesFrame, float_hook=Decimal)

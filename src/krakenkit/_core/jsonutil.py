"""JSON in and out, exact with money.

Decoding turns every JSON number with a fraction or exponent into :class:`decimal.Decimal` built
from the number's own text (msgspec's ``float_hook`` receives the text), so ``0.1`` stays ``0.1``.
Encoding writes ``Decimal`` as a JSON number (WS v2 wants numbers) or, with
:func:`dumps_str_decimals`, as a string.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["JSONDecodeError", "dumps", "dumps_str_decimals", "loads"]

JSONDecodeError = msgspec.DecodeError

_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder_num = msgspec.json.Encoder(decimal_format="number")
_encoder_str = msgspec.json.Encoder(decimal_format="string")


def loads(data: bytes | str) -> Any:
    """Decode JSON; non-integer numbers become exact ``Decimal``. Raises ``msgspec.DecodeError``."""
    return _decoder.decode(data)


def dumps(obj: Any) -> bytes:
    """Encode JSON with ``Decimal`` written as a JSON number (no float round trip)."""
    return _encoder_num.encode(obj)


def dumps_str_decimals(obj: Any) -> bytes:
    """Encode JSON with ``Decimal`` written as a string."""
    return _encoder_str.encode(obj)

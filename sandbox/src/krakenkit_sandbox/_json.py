"""JSON out with exact money: ``Decimal`` as a JSON number in plain notation (``0.00000001``, never
``1E-8``), as Kraken writes its numbers."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["dumps"]

_encoder = msgspec.json.Encoder(decimal_format="number")
# a number msgspec wrote in exponent notation (str(Decimal) does so below 1e-6: '1E-8', '1.5E-7')
_EXPONENT_RE = re.compile(rb"[0-9]E[+-][0-9]")


def _plain(obj: Any) -> Any:
    """A copy of ``obj`` with every finite Decimal as raw JSON in plain notation (exact digits kept)."""
    if isinstance(obj, Decimal):
        exponent = obj.as_tuple().exponent
        if isinstance(exponent, int) and -100 < exponent < 100:
            return msgspec.Raw(format(obj, "f").encode())
        return obj
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def dumps(obj: Any) -> bytes:
    """Encode ``obj`` as JSON; ``Decimal`` becomes a JSON number in plain notation."""
    out = _encoder.encode(obj)
    if _EXPONENT_RE.search(out) is not None:  # rare: only then is the object walked
        out = _encoder.encode(_plain(obj))
    return out

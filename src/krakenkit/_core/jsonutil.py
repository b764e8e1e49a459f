"""JSON in and out, exact with money, bounded in depth.

Decoding turns every JSON number with a fraction or exponent into :class:`decimal.Decimal` built
from the number's own text (msgspec's ``float_hook`` receives the text), so ``0.1`` stays ``0.1``.
Encoding writes ``Decimal`` as a JSON number (WS v2 wants numbers) in plain notation (``0.00000001``,
never ``1E-8``) or, with :func:`dumps_str_decimals`, as a string.

Nesting deeper than :data:`MAX_DEPTH` (512) levels raises :class:`JSONNestingError`, a
:class:`~krakenkit.InvalidResponseError` that is also a :data:`JSONDecodeError`, so every caller that
handles undecodable bodies handles it too; never a ``RecursionError``. Kraken's answers nest a
handful of levels. The check costs nothing on a text shorter than 1025 characters and one
C-speed pass counting the opening brackets of a longer one; only a text with more than 512 brackets in all is measured
(C-speed passes over its structure characters, no Python-level walk of the decoded object).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec

from .errors import InvalidResponseError

__all__ = ["MAX_DEPTH", "JSONDecodeError", "JSONNestingError", "dumps", "dumps_str_decimals", "loads"]

JSONDecodeError = msgspec.DecodeError

#: Deepest nesting (arrays and objects) :func:`loads` accepts.
MAX_DEPTH = 512
_SHORT = 2 * MAX_DEPTH + 1  # each level takes two characters at least


class JSONNestingError(InvalidResponseError, msgspec.DecodeError):
    """A JSON text nested deeper than :data:`MAX_DEPTH`: refused as an invalid answer."""


_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder_num = msgspec.json.Encoder(decimal_format="number")
_encoder_str = msgspec.json.Encoder(decimal_format="string")


_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
_ONE_BRACKET = bytes.maketrans(b"{}", b"[]")
_NOT_OPENING = bytes(c for c in range(256) if c not in b"[{")  # depth does not care which kind of bracket


def _too_deep_text(data: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether well-formed JSON text nests deeper than ``limit``, found with C-speed passes only:
    drop escaped backslashes and quotes, keep only brackets (as ``[``/``]``) and quotes, drop what is
    inside strings, then peel the innermost ``[]`` pairs, one level per pass (at most ``limit``)."""
    raw = data.encode() if isinstance(data, str) else data
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    shape = raw.translate(_ONE_BRACKET, _NOT_STRUCTURE).replace(b'""', b"")  # most strings hold no bracket
    if b'"' in shape:
        shape = b"".join(shape.split(b'"')[::2])  # the rest: outside the quotes only
    for _ in range(limit):
        if not shape:
            return False
        shape = shape.replace(b"[]", b"")
    return bool(shape)


def _too_deep() -> JSONNestingError:
    return JSONNestingError(f"JSON nested deeper than {MAX_DEPTH} levels; refused (not an answer Kraken sends)")


def loads(data: bytes | str) -> Any:
    """Decode JSON; non-integer numbers become exact ``Decimal``.

    Raises ``msgspec.DecodeError`` for invalid JSON and :class:`JSONNestingError` (also a
    ``msgspec.DecodeError``) for nesting deeper than :data:`MAX_DEPTH`.
    """
    try:
        obj = _decoder.decode(data)
    except RecursionError:
        raise _too_deep() from None
    if len(data) > _SHORT:  # a shorter text cannot nest deeper than MAX_DEPTH: no check at all
        if isinstance(data, str):
            brackets = data.count("[") + data.count("{")
        else:
            brackets = len(data.translate(None, _NOT_OPENING))  # one pass over the bytes
        if brackets > MAX_DEPTH and _too_deep_text(data):
            raise _too_deep()
    return obj


# A number msgspec wrote in exponent notation (str(Decimal) does so below 1e-6: '1E-8', '1.5E-7').
_EXPONENT_RE = re.compile(rb"[0-9]E[+-][0-9]")


def _plain_decimals(obj: Any) -> Any:
    """A copy of ``obj`` with every Decimal as raw JSON in plain notation (exact digits kept)."""
    if isinstance(obj, Decimal):
        if obj.is_finite() and -100 < obj.as_tuple().exponent < 100:  # type: ignore[operator]
            return msgspec.Raw(format(obj, "f").encode())
        return obj
    if isinstance(obj, dict):
        return {k: _plain_decimals(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain_decimals(v) for v in obj]
    return obj


def dumps(obj: Any) -> bytes:
    """Encode JSON with ``Decimal`` written as a JSON number in plain notation (no float round trip)."""
    out = _encoder_num.encode(obj)
    if _EXPONENT_RE.search(out) is not None:  # rare: only then is the object walked
        out = _encoder_num.encode(_plain_decimals(obj))
    return out


def dumps_str_decimals(obj: Any) -> bytes:
    """Encode JSON with ``Decimal`` written as a string."""
    return _encoder_str.encode(obj)

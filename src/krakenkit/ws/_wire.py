"""Secrets on the WebSocket wire, and nowhere else.

Frames are built as dicts holding :class:`~krakenkit._core.secrets.Secret` values (the WS token, the
Derivatives API key and signed challenge), so every frame a local variable, an error context or a log line
can show reads ``Secret('***')``. :func:`encode_frame` writes the wire text, revealing the secrets only
inside the JSON encoder; :func:`send_frame` hands it to ``websockets`` without keeping it in a local
variable, and an error coming back through ``websockets``' frames (whose ``message`` argument holds that
text) loses those frames before it goes on. ``websockets``' own DEBUG log of a private connection goes
through :data:`PRIVATE_WS_LOGGER`: data frames are logged by kind and size, never by content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec
from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode

from krakenkit._core.errors import ValidationError
from krakenkit._core.jsonutil import _plain_decimals
from krakenkit._core.secrets import Secret, drop_tracebacks

__all__ = [
    "PRIVATE_WS_LOGGER",
    "NotText",
    "RedactingWsLogger",
    "encode_frame",
    "hide_credential",
    "refuse_not_text",
    "send_frame",
]


def _reveal_for_json(obj: Any) -> Any:
    if isinstance(obj, Secret):
        return obj.get_secret_value()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")  # names the type, never the value


_encoder = msgspec.json.Encoder(enc_hook=_reveal_for_json, decimal_format="number")
_EXPONENT_RE = re.compile(rb"[0-9]E[+-][0-9]")  # a Decimal msgspec wrote as 1E-8 (see jsonutil.dumps)


def encode_frame(frame: Mapping[str, Any]) -> bytes:
    """The frame as JSON text (``Decimal`` as plain JSON numbers, :class:`Secret` values revealed).

    A value JSON cannot hold raises :class:`~krakenkit.ValidationError` naming its type, before anything is
    sent. The plain text exists only in the returned bytes: hand them on inline (``ws.send(encode_frame(f))``)."""
    try:
        out = _encoder.encode(frame)
        if _EXPONENT_RE.search(out) is not None:  # rare: only then is the frame walked
            out = _encoder.encode(_plain_decimals(frame))
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        raise ValidationError(
            f"a request parameter cannot be sent as JSON ({exc}); use str, int, bool, Decimal, lists and dicts",
            field="params",
        ) from None
    return out


async def send_frame(ws: ClientConnection, frame: Mapping[str, Any]) -> None:
    """Encode and send ``frame``. Whatever comes back out of ``websockets`` (``ConnectionClosed``, a
    cancellation) is re-raised without the frames it passed through: one of them holds the wire text."""
    try:
        await ws.send(encode_frame(frame), text=True)
    except BaseException as exc:
        raise drop_tracebacks(exc)  # noqa: B904 - the same error, its cause and context kept (without frames)


class NotText(Secret):
    """What :func:`hide_credential` makes of a credential that is not text: only its type is kept."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        super().__init__("")
        self.kind = kind


def hide_credential(value: object) -> Secret | None:
    """A constructor argument as a :class:`Secret` (``None`` stays ``None``). Never raises: a value that is
    not text becomes a :class:`NotText` (its type only), refused by :func:`refuse_not_text` once every
    argument of the frame is hidden, so no frame of the error holds any of them."""
    if value is None or isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    return NotText(type(value).__name__)


def refuse_not_text(**credentials: Secret | None) -> None:
    """``ValidationError`` for the first credential that was not a ``str`` (see :func:`hide_credential`)."""
    for field, value in credentials.items():
        if isinstance(value, NotText):
            raise ValidationError(f"{field} must be a str (got {value.kind})", field=field)


_DATA_OPCODES: Final = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})


def _shown(arg: Any) -> Any:
    if isinstance(arg, Frame) and arg.opcode in _DATA_OPCODES:
        return f"{arg.opcode.name} [redacted: {len(arg.data)} bytes]"
    return arg


class RedactingWsLogger(logging.LoggerAdapter[logging.Logger]):
    """``websockets``' logger for a private connection: data frames (which carry the token, the API key or
    the signed challenge) are logged as ``TEXT [redacted: 204 bytes]``; handshake, control frames, state
    changes and errors as ``websockets`` logs them."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if args and self.isEnabledFor(level):
            args = tuple(_shown(a) for a in args)
        super().log(level, msg, *args, **kwargs)


#: The logger handed to ``websockets`` for private connections (same logger name as its default).
PRIVATE_WS_LOGGER: Final = RedactingWsLogger(logging.getLogger("websockets.client"), {})

"""Typed events delivered by :class:`~krakenkit.ws.client.WebsocketClient`.

Every event names the connection it came from (``ws_key``, one of ``WS_KEY_MAP``). Register with
``ws.on(name, handler)``; ``name`` is the ``name`` class attribute below:

============== ========================= ==========================================================
name           class                     when
============== ========================= ==========================================================
open           :class:`OpenEvent`         a socket is connected (first time and after reconnects)
authenticated  :class:`AuthenticatedEvent` a private connection holds a fresh token / signed challenge
message        :class:`MessageEvent`      a data frame (ticker, book, executions, fills, ...)
response       :class:`ResponseEvent`     an ack or reply to a request (subscribe, add_order, ...)
reconnecting   :class:`ReconnectingEvent` the socket is gone; ``reason`` says why, ``delay`` the wait
reconnected    :class:`ReconnectedEvent`  reconnected, authenticated and every subscription acked
exception      :class:`ExceptionEvent`    something went wrong but the client carries on
close          :class:`CloseEvent`        a socket closed (it will reconnect unless the client closes)
book_resync    :class:`BookResyncEvent`   a live book failed a checksum/sequence check and resyncs
queue_full     :class:`QueueFullEvent`    a connection's queue or a private stream is full (see policy)
============== ========================= ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "EVENT_NAMES",
    "AuthenticatedEvent",
    "BookResyncEvent",
    "BookUpdateEvent",
    "CloseEvent",
    "ExceptionEvent",
    "MessageEvent",
    "OpenEvent",
    "QueueFullEvent",
    "ReconnectedEvent",
    "ReconnectingEvent",
    "ResponseEvent",
    "WsEvent",
]


@dataclass(frozen=True, slots=True)
class WsEvent:
    """Base of all events: ``ws_key`` is the connection the event belongs to."""

    name: ClassVar[str] = "event"
    ws_key: str


@dataclass(frozen=True, slots=True)
class OpenEvent(WsEvent):
    name: ClassVar[str] = "open"
    url: str = ""
    reconnect: bool = False


@dataclass(frozen=True, slots=True)
class AuthenticatedEvent(WsEvent):
    """Spot: a fresh ``GetWebSocketsToken`` token; Derivatives: a newly signed challenge."""

    name: ClassVar[str] = "authenticated"
    method: str = ""  # "token" | "challenge"


@dataclass(frozen=True, slots=True)
class MessageEvent(WsEvent):
    """A data frame as decoded JSON (numbers with a fraction are ``Decimal``)."""

    name: ClassVar[str] = "message"
    data: Any = None

    @property
    def channel(self) -> str | None:
        """Spot ``channel`` or Derivatives ``feed`` of the frame."""
        d = self.data
        if isinstance(d, dict):
            ch = d.get("channel")
            if ch is None:
                ch = d.get("feed")
            return ch if isinstance(ch, str) else None
        return None


@dataclass(frozen=True, slots=True)
class ResponseEvent(WsEvent):
    """A reply to a request (subscribe/unsubscribe acks, trading replies, challenge, info)."""

    name: ClassVar[str] = "response"
    data: Any = None
    req_id: int | None = None
    success: bool = True


@dataclass(frozen=True, slots=True)
class ReconnectingEvent(WsEvent):
    name: ClassVar[str] = "reconnecting"
    reason: str = ""
    attempt: int = 0
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class ReconnectedEvent(WsEvent):
    """Connected again, re-authenticated, and every active subscription re-sent and acked."""

    name: ClassVar[str] = "reconnected"
    attempt: int = 0
    downtime: float = 0.0
    resubscribed: int = 0


@dataclass(frozen=True, slots=True)
class ExceptionEvent(WsEvent):
    """A problem the client survived: a malformed frame, a rejected request, a failing handler."""

    name: ClassVar[str] = "exception"
    error: BaseException | None = None
    raw: bytes | str | None = None


@dataclass(frozen=True, slots=True)
class CloseEvent(WsEvent):
    name: ClassVar[str] = "close"
    code: int | None = None
    reason: str = ""
    final: bool = False


@dataclass(frozen=True, slots=True)
class BookResyncEvent(WsEvent):
    """A live book disagreed with Kraken (checksum mismatch / sequence gap) and is being resynced."""

    name: ClassVar[str] = "book_resync"
    symbol: str = ""
    reason: str = ""
    error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class BookUpdateEvent(WsEvent):
    """A live book changed (delivered to ``LiveBook.on_update`` callbacks)."""

    name: ClassVar[str] = "book_update"
    symbol: str = ""
    book: Any = None


@dataclass(frozen=True, slots=True)
class QueueFullEvent(WsEvent):
    """A bounded queue filled up; ``policy`` says what happened: ``drop_oldest`` (the connection's event
    queue dropped its oldest ``message`` event; ``dropped``: how many so far) or ``stream_overflow`` (a
    private ``ws.stream()`` held ``max_queue`` unread messages and was closed with ``StreamOverflowError``).
    Either way the socket keeps being read."""

    name: ClassVar[str] = "queue_full"
    policy: str = ""
    dropped: int = 0
    max_queue: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


EVENT_NAMES = frozenset(
    {
        "open",
        "authenticated",
        "message",
        "response",
        "reconnecting",
        "reconnected",
        "exception",
        "close",
        "book_resync",
        "queue_full",
    }
)

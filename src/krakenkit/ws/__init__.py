"""WebSockets: :class:`WebsocketClient` (streams) and :class:`WebsocketAPIClient` (Spot trading).

Layers: pure protocol state machines (:mod:`.protocol_spot`, :mod:`.protocol_futures`,
:mod:`.protocol_common`), a thin asyncio driver over ``websockets`` (:mod:`.connection`), the
clients on top (:mod:`.client`, :mod:`.api_client`) and typed events (:mod:`.events`).

Defaults: ``staleness_timeout`` 10 s (nothing received -> reconnect), idle ping every 3 s,
reconnects forever (first retry within 50 ms, then jittered backoff 0.25 s .. 30 s, at most 150
connects per 600 s, no wait ever longer than the 30 s cap), ``max_queue`` 10,000 events per
connection: the socket is always read, so trading replies never wait behind unread data; a full
queue drops its oldest message, a full private stream is closed with :class:`StreamOverflowError`.
Every request (subscribe included) ends within ``request_timeout`` (10 s); orders carry Kraken's
``deadline`` (``order_deadline`` 10 s). WS trading books every
request on the API key's shared Spot rate limiter (the REST clients' one), fed back from replies,
rate-limit errors and the ``executions`` channel. Live books: Spot L2, Spot level3 and Derivatives.
"""

from __future__ import annotations

from krakenkit._core.environment import WS_KEY_MAP

from .api_client import (
    AddOrderResult,
    AmendOrderResult,
    BatchAddResult,
    BatchCancelResult,
    CancelAllAfterResult,
    CancelAllResult,
    CancelOrderResult,
    EditOrderResult,
    WebsocketAPIClient,
)
from .books import LiveBook
from .client import InsecureTransportWarning, StreamOverflowError, WebsocketClient
from .events import (
    AuthenticatedEvent,
    BookResyncEvent,
    BookUpdateEvent,
    CloseEvent,
    ExceptionEvent,
    MessageEvent,
    OpenEvent,
    QueueFullEvent,
    ReconnectedEvent,
    ReconnectingEvent,
    ResponseEvent,
    WsEvent,
)
from .protocol_common import Backoff

__all__ = [
    "WS_KEY_MAP",
    "AddOrderResult",
    "AmendOrderResult",
    "AuthenticatedEvent",
    "Backoff",
    "BatchAddResult",
    "BatchCancelResult",
    "BookResyncEvent",
    "BookUpdateEvent",
    "CancelAllAfterResult",
    "CancelAllResult",
    "CancelOrderResult",
    "CloseEvent",
    "EditOrderResult",
    "ExceptionEvent",
    "InsecureTransportWarning",
    "LiveBook",
    "MessageEvent",
    "OpenEvent",
    "QueueFullEvent",
    "ReconnectedEvent",
    "ReconnectingEvent",
    "ResponseEvent",
    "StreamOverflowError",
    "WebsocketAPIClient",
    "WebsocketClient",
    "WsEvent",
]

"""WebSockets: :class:`WebsocketClient` (streams) and :class:`WebsocketAPIClient` (Spot trading).

Layers: pure protocol state machines (:mod:`.protocol_spot`, :mod:`.protocol_futures`,
:mod:`.protocol_common`), a thin asyncio driver over ``websockets`` (:mod:`.connection`), the
clients on top (:mod:`.client`, :mod:`.api_client`) and typed events (:mod:`.events`).

Defaults: ``staleness_timeout`` 10 s (nothing received -> reconnect), idle ping every 3 s,
reconnects forever (first retry within 50 ms, then jittered backoff 0.25 s .. 30 s, at most 150
connects per 600 s), ``max_queue`` 10,000 events per connection: public keys drop the oldest
market-data message when full, private keys never drop (backpressure). WS trading books every
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
from .client import WebsocketClient
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
    "LiveBook",
    "MessageEvent",
    "OpenEvent",
    "QueueFullEvent",
    "ReconnectedEvent",
    "ReconnectingEvent",
    "ResponseEvent",
    "WebsocketAPIClient",
    "WebsocketClient",
    "WsEvent",
]

"""WebSockets: :class:`WebsocketClient` (streams) and :class:`WebsocketAPIClient` (Spot trading).

Layers: pure protocol state machines (:mod:`.protocol_spot`, :mod:`.protocol_futures`,
:mod:`.protocol_common`), a thin asyncio driver over ``websockets`` (:mod:`.connection`), the
clients on top (:mod:`.client`, :mod:`.api_client`) and typed events (:mod:`.events`).
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

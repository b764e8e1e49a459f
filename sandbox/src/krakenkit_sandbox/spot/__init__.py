"""Spot side of the sandbox: REST ``/0/public/*`` and ``/0/private/*``, WebSocket v2 (``/v2``,
``/auth/v2``, ``/l3/v2`` and the beta paths), backed by a deterministic matching engine and a
simulated market.

``SpotExchange(ctx)`` holds the engine, keys and limits; ``SpotRest`` and ``SpotWs`` serve it.
"""

from __future__ import annotations

from .exchange import SpotExchange
from .rest import SpotRest
from .ws import SpotWs

__all__ = ["SpotExchange", "SpotRest", "SpotWs"]

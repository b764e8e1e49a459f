"""What the Derivatives REST and WebSocket front ends need from the venue that owns them.

:class:`~krakenkit_sandbox.futures.exchange.FuturesExchange` satisfies it; ``FuturesRest`` and
``FuturesWsConnection`` are typed against this protocol, so they need not import the exchange module
(which imports them).
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any, Protocol

from ._context import SandboxContextLike
from .engine import Engine
from .ratelimit import RateLimiter

__all__ = ["FuturesVenue"]


class FuturesVenue(Protocol):
    ctx: SandboxContextLike
    engine: Engine
    limiter: RateLimiter
    rfq_offers: dict[str, dict[str, dict[str, Any]]]
    rfq_max_leverage: dict[str, Decimal]
    subaccounts: dict[str, dict[str, Any]]
    ws_rng: random.Random
    feed_interval: float

    def set_dead_man(self, key: str, timeout: int) -> None:
        """Cancel every order of ``key`` after ``timeout`` seconds (0: switch off)."""

    def notify_balance(self, key: str) -> None:
        """Tell the key's WebSocket balance subscribers that its balances changed."""

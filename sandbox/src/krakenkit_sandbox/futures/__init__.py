"""Derivatives (Futures) side of the krakenkit sandbox.

``FuturesExchange(ctx)`` plugs into the sandbox's aiohttp app: REST under
``/derivatives/api/v3``, ``/api/history/v3``, ``/api/charts/v1``, ``/api/auth/v1``,
``/api/stats/v1`` and the Derivatives WebSocket v1 at ``/ws/v1``.
"""

from __future__ import annotations

from ._context import SandboxContextLike
from .auth import authent, endpoint_path, sign_challenge
from .engine import Engine
from .exchange import FuturesExchange

__all__ = ["Engine", "FuturesExchange", "SandboxContextLike", "authent", "endpoint_path", "sign_challenge"]

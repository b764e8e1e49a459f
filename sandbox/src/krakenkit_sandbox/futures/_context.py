"""What the Futures plug-in needs from the sandbox context (structural, so any object with these
attributes works: ``krakenkit_sandbox.context.SandboxContext`` or a test stub)."""

from __future__ import annotations

import random
from typing import Any, Protocol

__all__ = ["RequestLogLike", "SandboxContextLike", "WsRegistryLike", "system_status"]


class WsRegistryLike(Protocol):
    def register(self, conn: Any) -> None: ...

    def unregister(self, conn: Any) -> None: ...


class RequestLogLike(Protocol):
    def add(
        self,
        transport: str,
        method: str,
        path: str,
        params: dict[str, Any],
        api_key: str | None = None,
        status: int | None = None,
        errors: list[str] | None = None,
        now: float | None = None,
    ) -> Any: ...


class SandboxContextLike(Protocol):
    seed: int
    rng: random.Random
    faults: Any
    ws_registry: Any
    request_log: Any
    rate_limits: bool

    def now(self) -> float: ...


def system_status(ctx: SandboxContextLike) -> str:
    status = getattr(ctx.faults, "system_status", "online")
    return status if isinstance(status, str) else "online"

"""Shared state handed to every part of the sandbox (Spot and the Futures plug-in).

Contract for plug-ins (``krakenkit_sandbox.futures.FuturesExchange``):

- ``ctx.seed`` / ``ctx.rng``: deterministic randomness (derive your own ``random.Random`` from
  ``ctx.seed`` if you need an independent stream).
- ``ctx.now()``: wall clock in seconds (float, unix epoch).
- ``ctx.faults``: the :class:`~krakenkit_sandbox.faults.FaultInjector`. REST faults are applied by
  the app middleware for every route, yours included; for WS read ``faults.system_status``.
- ``ctx.ws_registry``: call ``register(conn)`` when a WS connection opens and ``unregister(conn)``
  when it closes. ``conn`` must satisfy :class:`~krakenkit_sandbox.registry.LiveConnection`
  (``ws_key`` attribute such as ``"derivativesPublicV1"`` plus ``abort()``, ``stall()`` and
  ``inject_text(text)``), so that drop / stall / non-JSON faults reach it.
- ``ctx.rate_limits``: whether rate limits are enforced (may change at runtime).
- ``ctx.request_log``: :class:`RequestLog`; the middleware logs REST requests already, log WS
  requests yourself with ``request_log.add(...)`` if you want them inspectable.
- ``ctx.loop``: the event loop the server runs in (set once started).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .faults import FaultInjector
from .registry import LiveConnection, WsRegistry

__all__ = ["LiveConnection", "RequestLog", "SandboxContext", "WsRegistry"]

SECRET_FIELDS = frozenset(
    {"otp", "secret", "api_secret", "api-sign", "authent", "signed_challenge", "password", "token"}
)


def redact(value: Any) -> Any:
    """Copy of a request payload with secrets removed."""
    if isinstance(value, dict):
        return {k: ("<redacted>" if str(k).lower() in SECRET_FIELDS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@dataclass
class LoggedRequest:
    time: float
    transport: str  # "rest" | "ws"
    method: str
    path: str
    params: dict[str, Any]
    api_key: str | None = None
    status: int | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "transport": self.transport,
            "method": self.method,
            "path": self.path,
            "params": self.params,
            "api_key": self.api_key,
            "status": self.status,
            "errors": list(self.errors),
        }


class RequestLog:
    """Bounded, thread-safe log of requests with secrets removed (no API-Sign, otp, secret, token)."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._items: deque[LoggedRequest] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

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
    ) -> LoggedRequest:
        item = LoggedRequest(
            time=time.time() if now is None else now,
            transport=transport,
            method=method,
            path=path,
            params=redact(params),
            api_key=api_key,
            status=status,
            errors=list(errors or []),
        )
        with self._lock:
            self._items.append(item)
        return item

    def __iter__(self) -> Iterator[LoggedRequest]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def list(self, path: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self._items if path is None or r.path == path]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@dataclass
class SandboxContext:
    seed: int
    rng: random.Random
    faults: FaultInjector
    ws_registry: WsRegistry
    request_log: RequestLog
    rate_limits: bool = True
    market: bool = True
    fast_mode: bool = False
    clock: Callable[[], float] = time.time
    loop: asyncio.AbstractEventLoop | None = None

    def now(self) -> float:
        return self.clock()

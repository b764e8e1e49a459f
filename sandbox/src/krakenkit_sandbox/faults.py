"""Fault injection for the sandbox: failing calls, held, late, garbled and trickled responses, latency,
WS drops/stalls, garbage frames, lost WS replies, never-acked subscriptions, corrupted book checksums
and system status changes.

All methods are safe to call from any thread (the sync ``with Sandbox()`` form runs the server in a
background thread). REST faults are applied by :func:`~krakenkit_sandbox.middleware.fault_middleware`
to every route (late arrival by the Spot and Derivatives request handlers, after authentication); WS
faults act on the connections registered in ``SandboxContext.ws_registry`` or are consulted by the WS
front ends per request.

Every counted fault takes ``n`` (how many matching requests it hits, at least 1) and then disappears;
``clear()`` removes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .fault_bodies import GARBLE_KINDS, NON_JSON_TEXT, WS_GARBLE_KINDS

if TYPE_CHECKING:
    from .registry import WsRegistry

__all__ = [
    "ERRORS_KEY",
    "GARBLE_KINDS",
    "SYSTEM_STATUSES",
    "WS_GARBLE_KINDS",
    "FailSpec",
    "FaultInjector",
    "is_futures_path",
]

log = logging.getLogger("krakenkit.sandbox")

SYSTEM_STATUSES = ("online", "maintenance", "cancel_only", "post_only")
ERRORS_KEY: web.RequestKey[list[str]] = web.RequestKey("kk_errors", list)  # Kraken errors of a response
SUBSCRIPTION_METHODS = ("subscribe", "unsubscribe")


Names = str | Sequence[str] | None  # one name, several, or None for any


def _path_matches(rule_path: str | None, path: str) -> bool:
    if rule_path is None:
        return True
    if rule_path == path:
        return True
    rp = rule_path.strip("/")
    return path.rstrip("/").endswith("/" + rp)


def is_futures_path(path: str) -> bool:
    return path.startswith("/derivatives") or path.startswith("/api/")


def _names(value: Names) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _count(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    return n


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{what} must be a number of seconds >= 0, got {value!r}")
    return float(value)


@dataclass
class FailSpec:
    error: str | None
    status: int | None
    body: str | None


@dataclass
class Rule:
    """One counted fault: ``names`` (paths, WS methods or channels; None = any), how many hits are left,
    and its value. Subscription rules also filter by request method and connection key prefix."""

    names: tuple[str, ...] | None
    remaining: int
    value: Any = None
    method: str | None = None
    ws_key: str | None = None


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, list[Rule]] = {}
        self._latency: list[tuple[str | None, float]] = []
        self._corrupt: dict[str, int] = {}
        self._status = "online"
        self._status_listeners: list[Callable[[str], None]] = []
        self._registry: WsRegistry | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # requests and WS timers held by a fault right now (server loop only), cancelled on stop
        self._held: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    # wiring -------------------------------------------------------------------------------------------
    def _bind(self, registry: WsRegistry, loop: asyncio.AbstractEventLoop | None) -> None:
        self._registry = registry
        self._loop = loop

    def add_status_listener(self, fn: Callable[[str], None]) -> None:
        """``fn(status)`` is called in the server loop when the system status changes."""
        self._status_listeners.append(fn)

    def _in_loop(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or not loop.is_running():
            fn()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn()
        else:
            done = threading.Event()

            def run() -> None:
                try:
                    fn()
                finally:
                    done.set()

            loop.call_soon_threadsafe(run)
            done.wait(5.0)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Marks the current request task as held by a fault, so that stopping the sandbox cancels it
        instead of waiting for it."""
        task = asyncio.current_task()
        if task is not None:
            self._held.add(task)
        try:
            yield
        finally:
            self._held.discard(task)

    def call_later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        """``loop.call_later`` for a fault's delayed work, cancelled if the sandbox stops first."""
        handle: asyncio.TimerHandle | None = None

        def run() -> None:
            self._timers.discard(handle)
            fn(*args)

        handle = asyncio.get_running_loop().call_later(delay, run)
        self._timers.add(handle)

    def cancel_held(self) -> None:
        """Cancel every request and WS timer a fault still holds (called when the sandbox stops)."""
        for task in list(self._held):
            task.cancel()
        for handle in list(self._timers):
            handle.cancel()
        self._held.clear()
        self._timers.clear()

    # counted rules ------------------------------------------------------------------------------------
    def _add(self, kind: str, rule: Rule) -> None:
        with self._lock:
            self._rules.setdefault(kind, []).append(rule)

    def _take(self, kind: str, matches: Callable[[Rule], bool]) -> Rule | None:
        """The first live rule of ``kind`` that ``matches``, with one hit used up."""
        if not self._rules.get(kind):
            return None
        with self._lock:
            rules = self._rules.get(kind, [])
            for rule in rules:
                if rule.remaining > 0 and matches(rule):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        rules.remove(rule)
                    return rule
        return None

    def _take_path(self, kind: str, path: str) -> Any:
        rule = self._take(kind, lambda r: r.names is None or any(_path_matches(p, path) for p in r.names))
        return None if rule is None else rule.value

    def _take_name(self, kind: str, name: str) -> Any:
        rule = self._take(kind, lambda r: r.names is None or name in r.names)
        return None if rule is None else rule.value

    # REST faults --------------------------------------------------------------------------------------
    def fail_next(
        self,
        path: str,
        n: int = 1,
        error: str | None = "EService:Unavailable",
        *,
        status: int | None = None,
        body: str | None = None,
    ) -> None:
        """Fail the next ``n`` calls of ``path`` (full path or its last part, e.g. ``"AddOrder"``).

        With ``status`` (e.g. 502 / 503) an HTTP error is returned instead of a Kraken error envelope:
        502 gets a Cloudflare-style HTML page, 503 an empty body, unless ``body`` is given. The request
        is NOT processed.
        """
        spec = FailSpec(None if status is not None else error, status, body)
        self._add("fail", Rule(_names(path), _count(n), spec))

    def accept_then_timeout(self, path: str, n: int = 1, delay: float = 30.0) -> None:
        """Process the next ``n`` calls of ``path`` normally, then hold the response for ``delay``
        seconds or until the client disconnects."""
        self._add("hold", Rule(_names(path), _count(n), _seconds(delay, "delay")))

    def late_arrival(self, path: Names, n: int = 1, delay: float = 2.5) -> None:
        """The next ``n`` calls of ``path`` (one path, a list, or None for any) reach the engine ``delay``
        seconds after they were received.

        Authentication, the nonce, the one-time password, the rate limit and permissions are checked on
        receipt, as Kraken does (a refused request is answered at once and uses up no hit); the request
        is then processed against the exchange as it is ``delay`` seconds later, so Spot's ``deadline``
        and Derivatives' ``processBefore`` are judged at that moment. The answer goes out if the client
        is still connected; the order is placed either way."""
        self._add("late", Rule(_names(path), _count(n), _seconds(delay, "delay")))

    def garble_response(self, path: Names, n: int = 1, kind: str = "html") -> None:
        """Process the next ``n`` calls of ``path`` normally (the order is placed), then answer HTTP 200
        with a body the client cannot use. ``kind``: ``"html"`` (a proxy page, ``text/html``),
        ``"truncated"`` (the first half of the real JSON body), ``"shape"`` (the real envelope with every
        value of the result changed to another JSON type) or ``"deep"`` (JSON nested 100000 levels
        deep)."""
        if kind not in GARBLE_KINDS:
            raise ValueError(f"unknown garble kind {kind!r}; use one of {GARBLE_KINDS}")
        self._add("garble", Rule(_names(path), _count(n), kind))

    def trickle_response(self, path: Names = None, n: int = 1, chunk: int = 1, interval: float = 4.0) -> None:
        """Send the next ``n`` answers of ``path`` (None: any REST path) slowly: status line and headers
        at once (with the real ``Content-Length``), then the body ``chunk`` bytes at a time, one chunk
        every ``interval`` seconds. The request is processed normally first; other requests are served
        meanwhile. Stops when the client goes away."""
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"chunk must be a whole number of bytes >= 1, got {chunk!r}")
        self._add("trickle", Rule(_names(path), _count(n), (chunk, _seconds(interval, "interval"))))

    def latency(self, seconds: float, path: str | None = None) -> None:
        """Delay every REST response (or only those of ``path``) by ``seconds``; 0 removes it."""
        with self._lock:
            self._latency = [(p, s) for p, s in self._latency if p != path]
            if seconds > 0:
                self._latency.append((path, seconds))

    def clear(self) -> None:
        """Remove every pending counted fault (REST and WS), latencies and checksum corruptions
        (system status unchanged)."""
        with self._lock:
            self._rules.clear()
            self._latency.clear()
            self._corrupt.clear()

    def take_fail(self, path: str) -> FailSpec | None:
        spec: FailSpec | None = self._take_path("fail", path)
        return spec

    def take_hold(self, path: str) -> float | None:
        delay: float | None = self._take_path("hold", path)
        return delay

    def take_late(self, path: str) -> float | None:
        delay: float | None = self._take_path("late", path)
        return delay

    async def process_late(self, path: str) -> None:
        """Called by the request handlers once a request is authenticated: waits out a ``late_arrival``."""
        delay = self.take_late(path)
        if delay:
            with self.holding():
                await asyncio.sleep(delay)

    def take_garble(self, path: str) -> str | None:
        kind: str | None = self._take_path("garble", path)
        return kind

    def take_trickle(self, path: str) -> tuple[int, float] | None:
        spec: tuple[int, float] | None = self._take_path("trickle", path)
        return spec

    def latency_for(self, path: str) -> float:
        with self._lock:
            return sum(s for p, s in self._latency if _path_matches(p, path))

    # WS faults ----------------------------------------------------------------------------------------
    def _ws_each(self, ws_key: str | None, action: str, text: str = "") -> None:
        def run() -> None:
            if self._registry is None:
                return
            for conn in self._registry.connections(ws_key):
                try:
                    if action == "abort":
                        conn.abort()
                    elif action == "stall":
                        conn.stall()
                    else:
                        conn.inject_text(text)
                except Exception:  # pragma: no cover - best effort
                    log.exception("ws fault %s failed", action)

        self._in_loop(run)

    def drop_ws_connections(self, ws_key: str | None = None) -> None:
        """Abort every live WS connection (of ``ws_key``) without a close frame (client sees 1006)."""
        self._ws_each(ws_key, "abort")

    def stall_ws(self, ws_key: str | None = None) -> None:
        """Keep connections open but stop sending anything (no heartbeats) and ignore their input."""
        self._ws_each(ws_key, "stall")

    def send_non_json(self, ws_key: str | None = None, text: str = NON_JSON_TEXT) -> None:
        """Send a non-JSON text frame on every live WS connection (of ``ws_key``)."""
        self._ws_each(ws_key, "text", text)

    def ws_late_arrival(self, method: Names = None, n: int = 1, delay: float = 2.5) -> None:
        """The next ``n`` Spot WS v2 trading requests (``method``: ``"add_order"``, ``"batch_add"``,
        ``"amend_order"``, ``"edit_order"``, ..., a list, or None for any) are processed ``delay`` seconds
        after they arrived. The token is checked on receipt; ``deadline`` is judged when processed, and
        ``time_in`` of the reply is the receipt time. The reply goes out if the connection is still open;
        the order is placed either way."""
        self._add("ws_late", Rule(_names(method), _count(n), _seconds(delay, "delay")))

    def ws_garble_reply(self, method: Names = None, n: int = 1, kind: str = "truncated") -> None:
        """Process the next ``n`` Spot WS v2 trading requests of ``method`` normally (orders placed,
        ``executions`` updates sent), but replace their reply frames: ``kind`` ``"truncated"`` (the first
        half of the reply's JSON text), ``"garbage"`` (a non-JSON text frame) or ``"swallow"`` (no reply
        at all)."""
        if kind not in WS_GARBLE_KINDS:
            raise ValueError(f"unknown ws garble kind {kind!r}; use one of {WS_GARBLE_KINDS}")
        self._add("ws_garble", Rule(_names(method), _count(n), kind))

    def ignore_subscriptions(
        self, channel: Names = None, n: int = 1, method: str | None = None, ws_key: str | None = None
    ) -> None:
        """Drop the next ``n`` subscription requests as if they never arrived: no ack, no error, no
        snapshot or data (a subscribe creates nothing, an unsubscribe removes nothing).

        ``channel``: Spot v2 ``channel`` or Derivatives v1 ``feed`` name (a list, or None for any);
        ``method``: ``"subscribe"`` or ``"unsubscribe"`` (None: both); ``ws_key``: only connections
        whose key starts with it (``"spotPublicV2"``, ``"spot"``, ``"derivatives"``; None: any)."""
        if method is not None and method not in SUBSCRIPTION_METHODS:
            raise ValueError(f"method must be one of {SUBSCRIPTION_METHODS} or None, got {method!r}")
        self._add("ignore_sub", Rule(_names(channel), _count(n), True, method=method, ws_key=ws_key))

    def take_ws_late(self, method: str) -> float | None:
        delay: float | None = self._take_name("ws_late", method)
        return delay

    def take_ws_garble(self, method: str) -> str | None:
        kind: str | None = self._take_name("ws_garble", method)
        return kind

    def take_ignored_subscription(self, ws_key: str, method: str, channel: Any) -> bool:
        """True if this subscription request is to be dropped (uses up one hit)."""
        name = str(channel)

        def matches(r: Rule) -> bool:
            return (
                (r.names is None or name in r.names)
                and (r.method is None or r.method == method)
                and (r.ws_key is None or ws_key.startswith(r.ws_key))
            )

        return self._take("ignore_sub", matches) is not None

    def corrupt_next_checksum(self, symbol: str, n: int = 1) -> None:
        """The next ``n`` book messages for ``symbol`` (e.g. ``"BTC/USD"``) carry a wrong checksum."""
        with self._lock:
            self._corrupt[symbol] = self._corrupt.get(symbol, 0) + n

    def take_corrupt_checksum(self, symbol: str) -> bool:
        if not self._corrupt:
            return False
        with self._lock:
            left = self._corrupt.get(symbol, 0)
            if left <= 0:
                return False
            if left == 1:
                del self._corrupt[symbol]
            else:
                self._corrupt[symbol] = left - 1
            return True

    # system status ------------------------------------------------------------------------------------
    @property
    def system_status(self) -> str:
        return self._status

    def set_system_status(self, status: str) -> None:
        """``online`` | ``maintenance`` | ``cancel_only`` | ``post_only``: REST SystemStatus, the WS
        ``status`` channel and order entry follow it."""
        if status not in SYSTEM_STATUSES:
            raise ValueError(f"unknown system status {status!r}; use one of {SYSTEM_STATUSES}")
        self._status = status

        def run() -> None:
            for fn in list(self._status_listeners):
                try:
                    fn(status)
                except Exception:  # pragma: no cover
                    log.exception("status listener failed")

        self._in_loop(run)

    # admin (JSON) -------------------------------------------------------------------------------------
    ADMIN_ACTIONS = frozenset(
        {
            "fail_next",
            "accept_then_timeout",
            "late_arrival",
            "garble_response",
            "trickle_response",
            "latency",
            "drop_ws_connections",
            "stall_ws",
            "send_non_json",
            "ws_late_arrival",
            "ws_garble_reply",
            "ignore_subscriptions",
            "corrupt_next_checksum",
            "set_system_status",
            "clear",
        }
    )

    def apply_admin(self, cmd: dict[str, Any]) -> None:
        """Apply one admin command: ``{"action": "fail_next", "path": ..., ...}`` etc. (the method's
        name and its arguments by name). Raises ``ValueError`` / ``TypeError`` for a bad command."""
        if not isinstance(cmd, dict):
            raise ValueError("a fault command is a JSON object")
        action = str(cmd.get("action", ""))
        args = {k: v for k, v in cmd.items() if k != "action"}
        if action not in self.ADMIN_ACTIONS:
            raise ValueError(f"unknown fault action {action!r}")
        getattr(self, action)(**args)

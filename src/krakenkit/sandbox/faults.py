"""Fault injection for the sandbox: failing calls, held responses, latency, WS drops/stalls, garbage
frames, corrupted book checksums and system status changes.

All methods are safe to call from any thread (the sync ``with Sandbox()`` form runs the server in a
background thread). REST faults are applied by :func:`fault_middleware` to every route; WS faults act
on the connections registered in ``SandboxContext.ws_registry``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .context import SandboxContext, WsRegistry

__all__ = ["SYSTEM_STATUSES", "FaultInjector", "fault_middleware"]

log = logging.getLogger("krakenkit.sandbox")

SYSTEM_STATUSES = ("online", "maintenance", "cancel_only", "post_only")
NON_JSON_TEXT = "CloudFlare WebSocket proxy restarting"
ERRORS_KEY: web.RequestKey[list[str]] = web.RequestKey("kk_errors", list)  # Kraken errors of a response

CLOUDFLARE_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>cloudflare</center>
</body>
</html>
"""


def _path_matches(rule_path: str | None, path: str) -> bool:
    if rule_path is None:
        return True
    if rule_path == path:
        return True
    rp = rule_path.strip("/")
    return path.rstrip("/").endswith("/" + rp)


def is_futures_path(path: str) -> bool:
    return path.startswith("/derivatives") or path.startswith("/api/")


@dataclass
class FailRule:
    path: str
    remaining: int
    error: str | None
    status: int | None
    body: str | None


@dataclass
class HoldRule:
    path: str
    remaining: int
    delay: float


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fail: list[FailRule] = []
        self._hold: list[HoldRule] = []
        self._latency: list[tuple[str | None, float]] = []
        self._corrupt: dict[str, int] = {}
        self._status = "online"
        self._status_listeners: list[Callable[[str], None]] = []
        self._registry: WsRegistry | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

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
        with self._lock:
            self._fail.append(FailRule(path, n, None if status is not None else error, status, body))

    def accept_then_timeout(self, path: str, n: int = 1, delay: float = 30.0) -> None:
        """Process the next ``n`` calls of ``path`` normally, then hold the response for ``delay``
        seconds or until the client disconnects."""
        with self._lock:
            self._hold.append(HoldRule(path, n, delay))

    def latency(self, seconds: float, path: str | None = None) -> None:
        """Delay every REST response (or only those of ``path``) by ``seconds``; 0 removes it."""
        with self._lock:
            self._latency = [(p, s) for p, s in self._latency if p != path]
            if seconds > 0:
                self._latency.append((path, seconds))

    def clear(self) -> None:
        """Remove all pending REST faults, latencies and checksum corruptions (status unchanged)."""
        with self._lock:
            self._fail.clear()
            self._hold.clear()
            self._latency.clear()
            self._corrupt.clear()

    def take_fail(self, path: str) -> FailRule | None:
        with self._lock:
            for rule in self._fail:
                if rule.remaining > 0 and _path_matches(rule.path, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._fail.remove(rule)
                    return rule
        return None

    def take_hold(self, path: str) -> float | None:
        with self._lock:
            for rule in self._hold:
                if rule.remaining > 0 and _path_matches(rule.path, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._hold.remove(rule)
                    return rule.delay
        return None

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
    def apply_admin(self, cmd: dict[str, Any]) -> None:
        """Apply one admin command: ``{"action": "fail_next", "path": ..., ...}`` etc."""
        action = str(cmd.get("action", ""))
        args = {k: v for k, v in cmd.items() if k != "action"}
        allowed = {
            "fail_next",
            "accept_then_timeout",
            "latency",
            "drop_ws_connections",
            "stall_ws",
            "send_non_json",
            "corrupt_next_checksum",
            "set_system_status",
            "clear",
        }
        if action not in allowed:
            raise ValueError(f"unknown fault action {action!r}")
        getattr(self, action)(**args)


# middleware ---------------------------------------------------------------------------------------------
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(path: str, error: str) -> web.Response:
    """A Kraken error envelope (Spot or Futures form, by path)."""
    if is_futures_path(path):
        body: dict[str, Any] = {
            "result": "error",
            "error": error,
            "serverTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
    else:
        body = {"error": [error]}
    return web.json_response(body)


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    text = raw.decode("utf-8", "replace")
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            val = json.loads(text)
        except ValueError:
            return {"_raw": "<unparseable>"}
        return val if isinstance(val, dict) else {"_json": val}
    return {k: v if len(v) != 1 else v[0] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}


def fault_middleware(ctx: SandboxContext) -> Any:
    faults = ctx.faults

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_sandbox") or request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)
        delay = faults.latency_for(path)
        if delay > 0:
            await asyncio.sleep(delay)
        rule = faults.take_fail(path)
        response: web.StreamResponse
        if rule is not None:
            if rule.status is not None:
                if rule.body is not None:
                    text = rule.body
                elif rule.status == 502:
                    text = CLOUDFLARE_502
                else:
                    text = ""
                ctype = "text/html" if text.lstrip().startswith("<") else "text/plain"
                response = web.Response(status=rule.status, text=text, content_type=ctype)
            else:
                response = error_response(path, rule.error or "EService:Unavailable")
            request[ERRORS_KEY] = [rule.error or f"HTTP {rule.status}"]
        else:
            response = await handler(request)
        await _log(ctx, request, response)
        hold = None if rule is not None else faults.take_hold(path)
        if hold is not None:
            deadline = time.monotonic() + hold
            while time.monotonic() < deadline:
                tr = request.transport
                if tr is None or tr.is_closing():
                    break
                await asyncio.sleep(0.02)
        return response

    return middleware


async def _log(ctx: SandboxContext, request: web.Request, response: web.StreamResponse) -> None:
    try:
        # body_exists, not can_read_body: the handler has usually read the body already (aiohttp
        # keeps it, so read() returns it again), e.g. every Futures form body
        raw = await request.read() if request.body_exists else b""
    except Exception:  # pragma: no cover
        raw = b""
    params: dict[str, Any] = dict(request.query)
    params.update(_parse_body(raw, request.content_type))
    if is_futures_path(request.path) and isinstance(params.get("json"), str):
        # Futures batchorder sends json=<JSON text>: log it structured, so its fields get redacted too
        try:
            params["json"] = json.loads(params["json"])
        except ValueError:
            pass
    key = request.headers.get("API-Key") or request.headers.get("APIKey")
    errors = request.get(ERRORS_KEY)
    ctx.request_log.add(
        "rest",
        request.method,
        request.path,
        params,
        api_key=key,
        status=response.status,
        errors=list(errors) if isinstance(errors, list) else None,
        now=ctx.now(),
    )

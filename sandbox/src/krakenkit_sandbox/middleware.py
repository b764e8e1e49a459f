"""The aiohttp middleware that applies the REST faults of :class:`~krakenkit_sandbox.faults.FaultInjector`
to every route (latency, failures, garbled, held and trickled answers) and logs each request."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

from aiohttp import web

from .context import SandboxContext
from .fault_bodies import garbled_response, trickle
from .faults import ERRORS_KEY, FailSpec, is_futures_path

__all__ = ["error_response", "fault_middleware"]

CLOUDFLARE_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>cloudflare</center>
</body>
</html>
"""

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


def _failure(path: str, rule: FailSpec) -> web.Response:
    if rule.status is None:
        return error_response(path, rule.error or "EService:Unavailable")
    if rule.body is not None:
        text = rule.body
    elif rule.status == 502:
        text = CLOUDFLARE_502
    else:
        text = ""
    ctype = "text/html" if text.lstrip().startswith("<") else "text/plain"
    return web.Response(status=rule.status, text=text, content_type=ctype)


async def _hold(request: web.Request, seconds: float) -> None:
    """Wait ``seconds`` or until the client has gone."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tr = request.transport
        if tr is None or tr.is_closing():
            return
        await asyncio.sleep(0.02)


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
            response = _failure(path, rule)
            request[ERRORS_KEY] = [rule.error or f"HTTP {rule.status}"]
        else:
            response = await handler(request)
            kind = faults.take_garble(path)
            if kind is not None and isinstance(response, web.Response):
                response = garbled_response(response, kind, is_futures_path(path))
        # Kraken's Date header is Kraken's time: the sandbox's is its own clock (an injected clock included)
        response.headers["Date"] = formatdate(ctx.now(), usegmt=True)
        await _log(ctx, request, response)
        hold = None if rule is not None else faults.take_hold(path)
        if hold is not None:
            with faults.holding():
                await _hold(request, hold)
        slow = faults.take_trickle(path)
        if slow is not None and isinstance(response, web.Response):
            with faults.holding():
                return await trickle(request, response, *slow)
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

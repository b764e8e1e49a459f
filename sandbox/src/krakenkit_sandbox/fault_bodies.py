"""The bodies of the sandbox's response faults: garbled HTTP 200 answers and trickled bodies."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from typing import Any

from aiohttp import web

__all__ = [
    "DEEP_NESTING",
    "GARBLE_KINDS",
    "NON_JSON_TEXT",
    "WS_GARBLE_KINDS",
    "garble_text",
    "garbled_response",
    "trickle",
]

log = logging.getLogger("krakenkit.sandbox")

GARBLE_KINDS = ("html", "truncated", "shape", "deep")
WS_GARBLE_KINDS = ("truncated", "garbage", "swallow")
DEEP_NESTING = 100_000
NON_JSON_TEXT = "CloudFlare WebSocket proxy restarting"  # seen live on Kraken's WebSockets

PROXY_PAGE = """<!DOCTYPE html>
<html lang="en-US">
<head><title>Just a moment...</title><meta http-equiv="refresh" content="5"></head>
<body>
<h1>Checking your browser before accessing the site.</h1>
<p>This process is automatic. Your browser will redirect to your requested content shortly.</p>
<p>Ray ID: 0000000000000000 &middot; Performance &amp; security by Cloudflare</p>
</body>
</html>
"""


def _other_type(value: Any) -> Any:
    """``value`` as another JSON type (containers keep their contents, changed the same way)."""
    if isinstance(value, dict):
        return [[k, _other_type(v)] for k, v in value.items()]
    if isinstance(value, list):
        return {str(i): _other_type(v) for i, v in enumerate(value)}
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, Decimal)):
        return {"value": str(value)}
    if isinstance(value, str):
        return len(value)
    return {}


def _envelope_keys(body: dict[str, Any], futures: bool) -> list[str]:
    """The keys of a Kraken envelope that carry the payload (Spot: ``result``; Derivatives: every key
    but ``result``, ``serverTime`` and ``error``)."""
    if futures:
        return [k for k in body if k not in ("result", "serverTime", "error")] or ["data"]
    return ["result"]


def garbled_body(raw: bytes, kind: str, futures: bool) -> tuple[bytes, str]:
    """The garbled body of kind ``kind`` made from the real body ``raw``, and its content type."""
    if kind == "html":
        return PROXY_PAGE.encode(), "text/html"
    if kind == "truncated":
        return raw[: max(1, len(raw) // 2)], "application/json"
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"result": "success"} if futures else {"error": []}
    keys = _envelope_keys(body, futures)
    if kind == "shape":
        for k in keys:
            body[k] = _other_type(body.get(k))
        return json.dumps(body, default=str).encode(), "application/json"
    # deep: the envelope with its payload replaced by an array nested DEEP_NESTING levels deep
    marker = "\x00deep\x00"
    for k in keys:
        body[k] = marker
    text = json.dumps(body, default=str).replace(json.dumps(marker), "[" * DEEP_NESTING + "]" * DEEP_NESTING)
    return text.encode(), "application/json"


def garbled_response(response: web.Response, kind: str, futures: bool) -> web.Response:
    """HTTP 200 with the garbled form of ``response``'s body."""
    raw = response.body if isinstance(response.body, bytes) else b""
    body, ctype = garbled_body(raw, kind, futures)
    return web.Response(status=200, body=body, content_type=ctype)


def garble_text(text: str, kind: str) -> str | None:
    """A WS reply frame after a ``ws_garble_reply`` fault: what to send instead (None: nothing)."""
    if kind == "swallow":
        return None
    if kind == "garbage":
        return NON_JSON_TEXT
    return text[: max(1, len(text) // 2)]


async def trickle(request: web.Request, response: web.Response, chunk: int, interval: float) -> web.StreamResponse:
    """Send ``response`` with its headers at once and its body ``chunk`` bytes every ``interval`` s."""
    raw = response.body if isinstance(response.body, bytes) else b""
    out = web.StreamResponse(status=response.status, reason=response.reason)
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding"):
            out.headers[name] = value
    out.content_length = len(raw)
    try:
        await out.prepare(request)
        for i in range(0, len(raw), chunk):
            await asyncio.sleep(interval)
            tr = request.transport
            if tr is None or tr.is_closing():
                return out
            await out.write(raw[i : i + chunk])
        await out.write_eof()
    except (ConnectionError, RuntimeError):
        log.debug("trickled response stopped: client gone")
    return out

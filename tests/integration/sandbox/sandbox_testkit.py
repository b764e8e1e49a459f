"""Helpers for the sandbox tests: a tiny independent signer, a raw REST caller and a shape checker
that compares sandbox output against Kraken's official examples (key sets + value types)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures"


def load_rest_examples() -> dict[str, Any]:
    out: dict[str, Any] = json.loads((FIXTURES / "spot_rest_examples.json").read_text())["examples"]
    return out


def load_ws(name: str) -> list[Any]:
    text = (FIXTURES / "ws-v2" / name).read_text()
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def sign(secret: str, path: str, nonce: str, body: bytes) -> str:
    digest = hashlib.sha256(nonce.encode() + body).digest()
    mac = hmac.new(base64.b64decode(secret), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


class Raw:
    """Signs and sends private Spot REST calls with httpx (form or JSON bodies)."""

    def __init__(self, base: str, key: str, secret: str) -> None:
        self.base = base
        self.key = key
        self.secret = secret
        self.nonce = time.time_ns()
        self.http = httpx.Client(base_url=base, timeout=10)

    def next_nonce(self) -> str:
        self.nonce += 1
        return str(self.nonce)

    def signed(
        self, method: str, data: dict[str, Any] | None = None, *, as_json: bool = False, nonce: str | None = None
    ) -> dict[str, Any]:
        """``content`` and ``headers`` of a signed private call (for ``httpx`` ``post(path, **parts)``)."""
        path = f"/0/private/{method}"
        n = nonce or self.next_nonce()
        payload = {"nonce": n, **(data or {})}
        if as_json:
            payload["nonce"] = int(n)
            body = json.dumps(payload).encode()
            ctype = "application/json"
        else:
            body = urllib.parse.urlencode(payload).encode()
            ctype = "application/x-www-form-urlencoded"
        sig = sign(self.secret, path, n, body)
        return {"content": body, "headers": {"API-Key": self.key, "API-Sign": sig, "Content-Type": ctype}}

    def post(
        self,
        method: str,
        data: dict[str, Any] | None = None,
        *,
        as_json: bool = False,
        nonce: str | None = None,
        tamper: Any = None,
    ) -> dict[str, Any]:
        parts = self.signed(method, data, as_json=as_json, nonce=nonce)
        if tamper is not None:
            parts["content"], parts["headers"]["API-Sign"] = tamper(parts["content"], parts["headers"]["API-Sign"])
        r = self.http.post(f"/0/private/{method}", **parts)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    def ok(self, method: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        out = self.post(method, data, **kw)
        assert out["error"] == [], (method, out)
        return out["result"]

    def public(self, method: str, **params: Any) -> dict[str, Any]:
        r = self.http.get(f"/0/public/{method}", params=params)
        assert r.status_code == 200
        out: dict[str, Any] = r.json()
        return out


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float, Decimal)):
        return "number"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "dict"
    return type(v).__name__


def assert_shape(actual: Any, example: Any, where: str = "$", dynamic: frozenset[str] = frozenset()) -> None:
    """``actual`` has every key of ``example`` with a value of the same JSON type, recursively.

    Example ``null`` matches anything. A dict whose path is in ``dynamic`` (or ends with ``*``) is keyed by
    ids (pair names, txids): each actual value is compared with the first example value. Lists: elements
    against the example elements (position-wise for fixed-length rows, else against the common keys).
    """
    ek, ak = _kind(example), _kind(actual)
    if ek == "null":
        return
    assert ek == ak, f"{where}: expected {ek}, got {ak} ({actual!r:.80})"
    if ek == "dict":
        if where in dynamic:
            if example and actual:
                vals = list(example.values())
                ex_val = vals[0]
                if all(isinstance(v, dict) for v in vals):
                    common = set.intersection(*(set(v) for v in vals))
                    ex_val = {k: vals[0][k] for k in common}
                for k, v in actual.items():
                    assert_shape(v, ex_val, f"{where}.*", dynamic)
            return
        for k, v in example.items():
            assert k in actual, f"{where}: missing key {k!r} (have {sorted(actual)})"
            assert_shape(actual[k], v, f"{where}.{k}", dynamic)
    elif ek == "list":
        if not example or not actual:
            return
        if all(isinstance(e, dict) for e in example):
            common = set.intersection(*(set(e) for e in example))
            template = {k: example[0][k] for k in common}
            for i, a in enumerate(actual):
                assert_shape(a, template, f"{where}[{i}]", dynamic)
        elif all(isinstance(e, list) for e in example):
            for i, a in enumerate(actual):
                assert_shape(a, example[0], f"{where}[{i}]", dynamic)
        elif len(example) == len(actual) and len({_kind(e) for e in example}) > 1:
            for i, (a, e) in enumerate(zip(actual, example, strict=True)):
                assert_shape(a, e, f"{where}[{i}]", dynamic)
        else:
            for i, a in enumerate(actual):
                assert_shape(a, example[0], f"{where}[{i}]", dynamic)


def rfc3339_in(seconds: float) -> str:
    """An RFC 3339 time ``seconds`` from now (milliseconds, ``Z``), as Kraken's ``deadline`` takes it."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wait_until(cond: Any, timeout: float = 5.0) -> None:
    """Poll ``cond()`` until true (a bounded wait for work the server does on its own time)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


async def token(sb: Any, key: str, secret: str) -> str:
    """A WebSocket token from ``GetWebSocketsToken`` (signed by hand, sent with an async client)."""
    n = str(time.time_ns())
    body = urllib.parse.urlencode({"nonce": n}).encode()
    async with httpx.AsyncClient() as c:
        r = await c.post(
            sb.rest_url + "/0/private/GetWebSocketsToken",
            content=body,
            headers={
                "API-Key": key,
                "API-Sign": sign(secret, "/0/private/GetWebSocketsToken", n, body),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
    res = r.json()["result"]
    assert res["expires"] == 900  # Kraken's documented lifetime of an unused token
    return str(res["token"])


async def recv(ws: Any, pred: Any = None, timeout: float = 5.0) -> dict[str, Any]:
    """The next JSON message on ``ws`` that satisfies ``pred`` (numbers as Decimal); others are skipped."""

    async def loop() -> dict[str, Any]:
        while True:
            msg: dict[str, Any] = json.loads(await ws.recv(), parse_float=Decimal)
            if pred is None or pred(msg):
                return msg

    return await asyncio.wait_for(loop(), timeout)


def is_(channel: str, typ: str | None = None) -> Any:
    return lambda m: m.get("channel") == channel and (typ is None or m.get("type") == typ)


def ack(method: str) -> Any:
    return lambda m: m.get("method") == method

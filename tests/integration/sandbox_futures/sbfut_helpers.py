"""Helpers for the Futures sandbox tests: a stub sandbox context, a tiny independent signer (not
krakenkit's client code), a venue starter and a checker that compares responses with Kraken's
official examples and response schemas (data/sbfut_reference.json, built from the shared reference)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from aiohttp import web

from krakenkit_sandbox.futures import FuturesExchange

REFERENCE = json.loads((Path(__file__).parent / "data" / "sbfut_reference.json").read_text())


# ---------------------------------------------------------------------- stub context
class StubFaults:
    def __init__(self) -> None:
        self.system_status = "online"


class StubRegistry:
    def __init__(self) -> None:
        self.conns: list[Any] = []

    def register(self, conn: Any) -> None:
        self.conns.append(conn)

    def unregister(self, conn: Any) -> None:
        if conn in self.conns:
            self.conns.remove(conn)

    def connections(self, ws_key: str | None = None) -> list[Any]:
        return [c for c in self.conns if ws_key is None or c.ws_key == ws_key]


class StubLog:
    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []

    def add(self, transport: str, method: str, path: str, params: dict[str, Any], **kw: Any) -> None:
        self.items.append((transport, method, path, params, kw))


@dataclass
class StubContext:
    seed: int = 7
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    faults: StubFaults = field(default_factory=StubFaults)
    ws_registry: StubRegistry = field(default_factory=StubRegistry)
    request_log: StubLog = field(default_factory=StubLog)
    rate_limits: bool = False
    market: bool = False
    fast_mode: bool = True
    offset: float = 0.0
    frozen: float | None = None

    def now(self) -> float:
        base = time.time() if self.frozen is None else self.frozen
        return base + self.offset


# ---------------------------------------------------------------------- independent signer
def authent(secret: str, post_data: str, nonce: str, path: str) -> str:
    digest = hashlib.sha256((post_data + nonce + path).encode()).digest()
    return base64.b64encode(hmac.new(base64.b64decode(secret), digest, hashlib.sha512).digest()).decode()


def sign_challenge(secret: str, challenge: str) -> str:
    digest = hashlib.sha256(challenge.encode()).digest()
    return base64.b64encode(hmac.new(base64.b64decode(secret), digest, hashlib.sha512).digest()).decode()


def signed_path(path: str) -> str:
    return path[len("/derivatives") :] if path.startswith("/derivatives/") else path


class FutClient:
    """Raw httpx calls signed the Kraken way."""

    def __init__(self, base: str, key: str, secret: str) -> None:
        self.base = base
        self.key = key
        self.secret = secret
        self.http = httpx.AsyncClient(base_url=base, timeout=10)
        self._nonce = int(time.time() * 1000)

    def nonce(self) -> str:
        self._nonce += 1
        return str(self._nonce)

    def headers(self, post_data: str, path: str, nonce: str | None = None) -> dict[str, str]:
        n = self.nonce() if nonce is None else nonce
        h = {"APIKey": self.key, "Authent": authent(self.secret, post_data, n, signed_path(path))}
        if n:
            h["Nonce"] = n
        return h

    async def get(self, path: str, params: dict[str, Any] | None = None, auth: bool = True) -> httpx.Response:
        qs = urlencode(params or {}, doseq=True)
        url = path + ("?" + qs if qs else "")
        headers = self.headers(qs, path) if auth else {}
        return await self.http.get(url, headers=headers)

    async def put(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        qs = urlencode(params or {}, doseq=True)
        url = path + ("?" + qs if qs else "")
        return await self.http.put(url, headers=self.headers(qs, path))

    async def post(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        body = urlencode(params or {}, doseq=True)
        headers = self.headers(body, path)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return await self.http.post(path, content=body.encode(), headers=headers)

    async def delete(self, path: str) -> httpx.Response:
        return await self.http.delete(path, headers=self.headers("", path))

    async def aclose(self) -> None:
        await self.http.aclose()


# ---------------------------------------------------------------------- shape checks
_JSON_TYPES = {
    "string": str,
    "boolean": bool,
    "object": dict,
    "array": list,
}


def _type_ok(value: Any, t: str) -> bool:
    if t == "null":
        return value is None
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _JSON_TYPES[t])


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """A small JSON-schema checker: type, required, properties, items, enum, oneOf/anyOf/allOf."""
    errs: list[str] = []
    if not schema:
        return errs
    if "allOf" in schema:
        for sub in schema["allOf"]:
            errs += schema_errors(value, sub, path)
    for comb in ("oneOf", "anyOf"):
        if comb in schema:
            branch_errs = [schema_errors(value, sub, path) for sub in schema[comb]]
            if not any(not e for e in branch_errs):
                best = min(branch_errs, key=len)
                errs.append(f"{path}: matches no {comb} branch; closest: {best[:3]}")
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else [t]
        if not any(_type_ok(value, x) for x in types):
            errs.append(f"{path}: {value!r:.60} is not {types}")
            return errs
    if schema.get("nullable") and value is None:
        return errs
    if "enum" in schema and value is not None and value not in schema["enum"]:
        errs.append(f"{path}: {value!r} not in enum {schema['enum'][:8]}")
    if isinstance(value, dict):
        for req in schema.get("required", []):
            if req not in value:
                errs.append(f"{path}: missing required {req!r}")
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                errs += schema_errors(v, props[k], f"{path}.{k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errs += schema_errors(v, schema["additionalProperties"], f"{path}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value[:50]):
            errs += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errs


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def example_errors(actual: Any, example: Any, path: str = "$", dynamic_keys: bool = False) -> list[str]:
    """Every key of the official example must be present in ``actual`` with the same JSON kind
    (recursively; list items are compared with the first example item). Maps keyed by symbols or
    currencies (``dynamic_keys``) compare their values with the example's first value."""
    errs: list[str] = []
    ek, ak = _kind(example), _kind(actual)
    if ek == "null" or ak == "null":
        return errs
    if ek != ak:
        return [f"{path}: kind {ak} ({actual!r:.40}) != example kind {ek} ({example!r:.40})"]
    if ek == "object":
        if dynamic_keys:
            if example and actual:
                sample = next(iter(example.values()))
                for k, v in actual.items():
                    errs += example_errors(v, sample, f"{path}.{k}")
            return errs
        for k, v in example.items():
            if k not in actual:
                errs.append(f"{path}: missing key {k!r} (present in the official example)")
                continue
            errs += example_errors(actual[k], v, f"{path}.{k}", dynamic_keys=k in DYNAMIC_KEYS)
    elif ek == "array" and example and actual:
        # compare against the example item with the same discriminator when there is one
        for i, item in enumerate(actual[:50]):
            candidates = example
            if isinstance(item, dict):
                same = [e for e in example if isinstance(e, dict) and e.get("type") == item.get("type")]
                candidates = same or example
            tries = [example_errors(item, c, f"{path}[{i}]") for c in candidates]
            best = sorted(tries, key=lambda e: len(e))[0]
            errs += best
    return errs


DYNAMIC_KEYS = {
    "currencies",
    "balances",
    "volumesByFeeSchedule",
    "isolated",
    "holding",
    "futures",
    "contracts",
    "greeks",
    "limitsPerBaseCurrency",
}


class Reference:
    rest = REFERENCE["rest"]
    ws = REFERENCE["ws"]

    def check_rest(self, op: str, body: Any, use_examples: bool = True) -> None:
        spec = self.rest[op]
        errs = schema_errors(body, spec["schema"])
        if use_examples and not (isinstance(body, dict) and body.get("result") == "error"):
            examples = [ex for ex in spec["examples"] if not (isinstance(ex, dict) and ex.get("result") == "error")]
            if examples:
                # several examples describe different outcomes (placed / rejected / executed):
                # the response must match the closest one
                candidates: list[list[str]] = [example_errors(body, ex) for ex in examples]
                errs += sorted(candidates, key=lambda e: len(e))[0]
        assert not errs, f"{op}: " + "\n".join(errs[:15])

    def check_ws(self, name: str, msg: Any) -> None:
        errs = example_errors(msg, self.ws[name])
        assert not errs, f"{name}: " + "\n".join(errs[:15])


# ---------------------------------------------------------------------- running exchange
@dataclass
class Venue:
    exchange: FuturesExchange
    ctx: StubContext
    base: str
    ws_url: str
    port: int

    async def client(self, balances: dict[str, str] | None = None) -> FutClient:
        key, secret = self.exchange.create_key(balances)
        return FutClient(self.base, key, secret)


async def start_venue(ctx: StubContext) -> tuple[Venue, web.AppRunner]:
    app = web.Application()
    ex = FuturesExchange(ctx)
    ex.add_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    await ex.start()
    base = f"http://127.0.0.1:{port}"
    return Venue(ex, ctx, base, f"ws://127.0.0.1:{port}/ws/v1", port), runner


async def wait_for(cond: Any, timeout: float = 5.0) -> None:
    """Poll a condition while letting the loop run (no sleeps used as synchronisation)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class WsClient:
    """A raw ``websockets`` connection; messages not yet asked for wait in ``pending``."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pending: list[Any] = []
        self.all: list[Any] = []

    @classmethod
    async def connect(cls, url: str) -> WsClient:
        import websockets

        return cls(await websockets.connect(url))

    async def send(self, obj: Any) -> None:
        await self.conn.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def next_where(self, pred: Any, timeout: float = 5.0) -> Any:
        """The oldest pending message matching ``pred``; other messages stay pending."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i, m in enumerate(self.pending):
                if pred(m):
                    return self.pending.pop(i)
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no matching message; last received: {self.all[-5:]}")
            raw = await asyncio.wait_for(self.conn.recv(), timeout=left)
            try:
                msg = json.loads(raw)
            except ValueError:
                msg = {"_raw": raw}
            self.pending.append(msg)
            self.all.append(msg)

    async def feed(self, name: str, timeout: float = 5.0, **match: Any) -> Any:
        return await self.next_where(
            lambda m: isinstance(m, dict) and m.get("feed") == name and all(m.get(k) == v for k, v in match.items()),
            timeout,
        )

    async def event(self, name: str, timeout: float = 5.0) -> Any:
        return await self.next_where(lambda m: isinstance(m, dict) and m.get("event") == name, timeout)

    async def close(self) -> None:
        await self.conn.close()

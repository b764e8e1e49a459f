"""Helpers for the sandbox tests: a tiny independent signer, a raw REST caller and a shape checker
that compares sandbox output against Kraken's official examples (key sets + value types)."""

from __future__ import annotations

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

    def post(
        self,
        method: str,
        data: dict[str, Any] | None = None,
        *,
        as_json: bool = False,
        nonce: str | None = None,
        tamper: Any = None,
    ) -> dict[str, Any]:
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
        if tamper is not None:
            body, sig = tamper(body, sig)
        r = self.http.post(path, content=body, headers={"API-Key": self.key, "API-Sign": sig, "Content-Type": ctype})
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

"""Kraken's per-key nonce window: out-of-order nonces pass within the window, reuse never does; with
window 0 the check and the store are one step, so concurrent requests cannot share or reorder nonces."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sandbox_testkit import Raw

from krakenkit_sandbox import Sandbox


def test_strict_key_refuses_any_out_of_order_nonce() -> None:
    with Sandbox(seed=3, market=False) as sb:
        key, secret = sb.create_key()
        raw = Raw(sb.rest_url, key, secret)
        assert raw.post("Balance", nonce="1000")["error"] == []
        assert raw.post("Balance", nonce="999")["error"] == ["EAPI:Invalid nonce"]
        assert raw.post("Balance", nonce="1000")["error"] == ["EAPI:Invalid nonce"]


def test_nonce_window_accepts_late_arrivals_once() -> None:
    with Sandbox(seed=3, market=False) as sb:
        key, secret = sb.create_key(nonce_window=100)
        raw = Raw(sb.rest_url, key, secret)
        assert raw.post("Balance", nonce="1000")["error"] == []
        assert raw.post("Balance", nonce="950")["error"] == []  # late, inside the window
        assert raw.post("Balance", nonce="950")["error"] == ["EAPI:Invalid nonce"]  # reused
        assert raw.post("Balance", nonce="1000")["error"] == ["EAPI:Invalid nonce"]  # reused
        assert raw.post("Balance", nonce="900")["error"] == ["EAPI:Invalid nonce"]  # below the window
        assert raw.post("Balance", nonce="1001")["error"] == []


def _burst(sb: Sandbox, raw: Raw, nonces: list[str], workers: int = 16) -> list[list[str]]:
    """POST Balance once per nonce from ``workers`` threads at the same time; the error lists in order."""
    barrier = threading.Barrier(workers)
    clients = [httpx.Client(base_url=sb.rest_url, timeout=10) for _ in range(workers)]

    def send(i: int) -> list[str]:
        http = clients[i % workers]
        if i < workers:
            barrier.wait(5)
        r = http.post("/0/private/Balance", **raw.signed("Balance", nonce=nonces[i]))
        errors: list[str] = r.json()["error"]
        return errors

    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(send, range(len(nonces))))
    finally:
        for c in clients:
            c.close()


def test_one_nonce_sent_concurrently_passes_once() -> None:
    with Sandbox(seed=3, market=False, rate_limits=False) as sb:
        key, secret = sb.create_key()
        raw = Raw(sb.rest_url, key, secret)
        results = _burst(sb, raw, ["5000"] * 16)
        assert sorted(map(tuple, results)) == [()] + [("EAPI:Invalid nonce",)] * 15


def test_concurrent_nonces_pass_only_in_increasing_order() -> None:
    with Sandbox(seed=3, market=False, rate_limits=False) as sb:
        key, secret = sb.create_key()
        raw = Raw(sb.rest_url, key, secret)
        nonces = [str(10_000 + i) for i in range(64)]
        random.Random(7).shuffle(nonces)  # sent in a scrambled order by 16 threads
        results = _burst(sb, raw, nonces)
        assert {tuple(e) for e in results} <= {(), ("EAPI:Invalid nonce",)}
        # in the order the sandbox handled them, every accepted nonce is above all earlier ones
        seen = [
            (int(r["params"]["nonce"]), r["errors"])
            for r in sb.requests
            if r["path"] == "/0/private/Balance" and r["api_key"] == key
        ]
        assert len(seen) == 64
        highest = 0
        for nonce, errors in seen:
            assert (errors == []) == (nonce > highest), (nonce, highest, errors)
            highest = max(highest, nonce) if not errors else highest
        assert sum(1 for e in results if not e) >= 1


def test_nonce_window_set_by_admin_and_at_creation() -> None:
    with Sandbox(seed=3, market=False) as sb:
        made = httpx.post(sb.rest_url + "/_sandbox/keys", json={"kind": "spot", "nonce_window": 50}).json()
        raw = Raw(sb.rest_url, made["api_key"], made["api_secret"])
        assert raw.post("Balance", nonce="1000")["error"] == []
        assert raw.post("Balance", nonce="990")["error"] == []  # inside the window given at creation
        admin = sb.rest_url + "/_sandbox/faults"
        cmd = {"action": "set_nonce_window", "api_key": raw.key, "nonce_window": 0}
        assert httpx.post(admin, json=cmd).json() == {"ok": True}
        assert raw.post("Balance", nonce="995")["error"] == ["EAPI:Invalid nonce"]  # strict now
        sb.set_nonce_window(raw.key, 100)
        assert raw.post("Balance", nonce="996")["error"] == []
        assert httpx.post(admin, json={**cmd, "api_key": "nope"}).status_code == 404
        assert httpx.post(admin, json={**cmd, "nonce_window": -1}).status_code == 400

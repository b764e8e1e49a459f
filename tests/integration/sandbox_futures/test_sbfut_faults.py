"""Order-safety faults on Derivatives REST and WS v1 inside the shared Sandbox, over raw HTTP/WS:
late arrival (nonce on receipt, ``processBefore`` at processing), garbled 200 answers, trickled bodies,
never-acked subscriptions, the strict nonce rule under concurrency and the placed-order inspection."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sbfut_helpers import FutClient, WsClient, wait_for

from krakenkit_sandbox import Sandbox

D = "/derivatives/api/v3"
LIMIT = {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": "0.001", "limitPrice": "1000"}


@pytest.fixture
async def env() -> AsyncIterator[tuple[Sandbox, FutClient]]:
    async with Sandbox(seed=31, market=False, rate_limits=False) as sb:
        key, secret = sb.create_futures_key({"USD": 100000})
        c = FutClient(sb.rest_url, key, secret)
        try:
            yield sb, c
        finally:
            await c.aclose()


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _post(c: FutClient, path: str, params: dict[str, Any], nonce: str, timeout: float = 5.0) -> httpx.Response:
    body = urlencode(params)
    headers = c.headers(body, path, nonce)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return await c.http.post(path, content=body.encode(), headers=headers, timeout=timeout)


async def _get(c: FutClient, path: str, nonce: str) -> httpx.Response:
    return await c.http.get(path, headers=c.headers("", path, nonce))


# late arrival ---------------------------------------------------------------------------------------------
async def test_late_sendorder_nonce_on_receipt_order_placed_later(env: Any) -> None:
    sb, c = env
    sb.faults.late_arrival("sendorder", delay=0.5)
    nonce = c.nonce()
    with pytest.raises(httpx.ReadTimeout):
        await _post(c, D + "/sendorder", {**LIMIT, "cliOrdId": "fl-1"}, nonce, timeout=0.15)
    assert sb.placed_orders(c.key, "fl-1") == []  # received, not processed yet
    # its nonce is already used: a copy is a duplicate, a lower one below the threshold
    dup = await _get(c, D + "/openorders", nonce)
    assert dup.json()["error"] == "nonceDuplicate"
    low = await _get(c, D + "/openorders", str(int(nonce) - 1))
    assert low.json()["error"] == "nonceBelowThreshold"
    assert (await c.get(D + "/openorders")).json()["openOrders"] == []  # the look-up finds nothing yet
    await wait_for(lambda: sb.placed_orders(c.key, "fl-1") != [])
    assert [o["status"] for o in sb.placed_orders(c.key, "fl-1")] == ["open"]


async def test_process_before_is_judged_when_processed(env: Any) -> None:
    sb, c = env
    placed = (await c.post(D + "/sendorder", {**LIMIT, "cliOrdId": "fl-open"})).json()["sendStatus"]
    sb.faults.late_arrival(["sendorder", "batchorder", "editorder"], n=3, delay=0.3)
    batch = {"batchOrder": [{"order": "send", "order_tag": "1", **LIMIT, "cliOrdId": "fl-b1"}]}
    edit = {"orderId": placed["order_id"], "limitPrice": "1100", "processBefore": _in(0.15)}
    t0 = time.monotonic()
    sent, batched, edited = await asyncio.gather(  # all three wait at once
        c.post(D + "/sendorder", {**LIMIT, "cliOrdId": "fl-2", "processBefore": _in(0.15)}),
        c.post(D + "/batchorder", {"json": json.dumps(batch), "ProcessBefore": _in(0.15)}),
        c.post(D + "/editorder", edit),
    )
    assert time.monotonic() - t0 >= 0.3
    assert sent.json()["sendStatus"]["status"] == "wouldProcessAfterSpecifiedTime"
    assert [s["status"] for s in batched.json()["batchStatus"]] == ["wouldProcessAfterSpecifiedTime"]
    assert edited.json()["editStatus"]["status"] == "orderForEditNotFound"  # see docs/sandbox-futures-fidelity.md
    orders = sb.placed_orders(c.key)
    assert [(o["cl_ord_id"], o["status"]) for o in orders] == [("fl-open", "open")]
    opened = (await c.get(D + "/openorders")).json()["openOrders"]
    assert [o["limitPrice"] for o in opened] == [1000]


# garbled answers and trickled bodies -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["html", "truncated", "shape", "deep"])
async def test_garbled_sendorder_answer_after_placing(env: Any, kind: str) -> None:
    sb, c = env
    sb.faults.garble_response("sendorder", kind=kind)
    r = await c.post(D + "/sendorder", {**LIMIT, "cliOrdId": f"fg-{kind}"})
    assert r.status_code == 200
    if kind == "shape":
        body = r.json()
        assert body["result"] == "success" and not isinstance(body["sendStatus"], dict)
    elif kind == "html":
        assert r.headers["content-type"].startswith("text/html")
    else:
        with pytest.raises((ValueError, RecursionError)):
            json.loads(r.text)
    assert [o["status"] for o in sb.placed_orders(c.key, f"fg-{kind}")] == ["open"]


async def test_trickled_derivatives_answer(env: Any) -> None:
    sb, c = env
    sb.faults.trickle_response("openorders", chunk=8, interval=0.05)
    t0 = time.monotonic()
    r = await c.get(D + "/openorders")
    size = len(r.content)
    assert r.json()["result"] == "success" and time.monotonic() - t0 >= 0.05 * (size // 8)


# nonces under concurrency ----------------------------------------------------------------------------------
async def test_one_nonce_sent_concurrently_passes_once(env: Any) -> None:
    _sb, c = env
    results = await asyncio.gather(*(_get(c, D + "/openorders", "777000") for _ in range(16)))
    errors = sorted(r.json().get("error", "") for r in results)
    assert errors == [""] + ["nonceDuplicate"] * 15


async def test_concurrent_nonces_pass_only_in_increasing_order(env: Any) -> None:
    sb, c = env
    nonces = [str(900_000 + i) for i in range(48)]
    random.Random(3).shuffle(nonces)
    clients = [httpx.AsyncClient(base_url=sb.rest_url, timeout=10) for _ in range(16)]
    try:

        async def one(i: int) -> httpx.Response:
            return await clients[i % 16].get(D + "/openorders", headers=c.headers("", D + "/openorders", nonces[i]))

        results = await asyncio.gather(*(one(i) for i in range(len(nonces))))
    finally:
        for h in clients:
            await h.aclose()
    errors = {n: r.json().get("error") for n, r in zip(nonces, results, strict=True)}
    assert set(errors.values()) <= {None, "nonceBelowThreshold"}
    # the key's nonce record lists the passed nonces in the order the sandbox took them: increasing
    passed = [n for n in sb.futures.engine.accounts[c.key].recent_nonces if n in errors]
    assert passed and passed == sorted(passed, key=int)
    assert set(passed) == {n for n, e in errors.items() if e is None}
    assert all(int(n) < int(passed[-1]) for n, e in errors.items() if e is not None)


async def test_futures_nonce_window_at_creation_and_by_admin(env: Any) -> None:
    sb, _c = env
    async with httpx.AsyncClient() as h:
        made = (await h.post(sb.rest_url + "/_sandbox/keys", json={"kind": "futures", "nonce_window": 100})).json()
    c = FutClient(sb.rest_url, made["api_key"], made["api_secret"])
    try:
        assert "error" not in (await _get(c, D + "/openorders", "5000")).json()
        assert "error" not in (await _get(c, D + "/openorders", "4950")).json()  # inside the window
        assert (await _get(c, D + "/openorders", "4950")).json()["error"] == "nonceDuplicate"
        assert (await _get(c, D + "/openorders", "4800")).json()["error"] == "nonceBelowThreshold"
        cmd = {"action": "set_nonce_window", "api_key": c.key, "nonce_window": 0}
        async with httpx.AsyncClient() as h:
            assert (await h.post(sb.rest_url + "/_sandbox/faults", json=cmd)).json() == {"ok": True}
        assert (await _get(c, D + "/openorders", "4990")).json()["error"] == "nonceBelowThreshold"
        assert "error" not in (await _get(c, D + "/openorders", "5001")).json()
    finally:
        await c.aclose()


# never-acked subscriptions (WS v1) -------------------------------------------------------------------------
async def test_ignored_v1_subscription_gets_no_ack_and_no_data(env: Any) -> None:
    sb, _c = env
    sb.faults.ignore_subscriptions("book", n=1, ws_key="derivatives")
    ws = await WsClient.connect(sb.ws_urls["derivativesPublicV1"])
    try:
        await ws.event("info")
        await ws.send({"event": "subscribe", "feed": "book", "product_ids": ["PF_XBTUSD"]})
        await ws.send({"event": "subscribe", "feed": "heartbeat"})
        first = await ws.next_where(lambda m: "event" in m or "feed" in m)
        assert first == {"event": "subscribed", "feed": "heartbeat"}  # nothing for the book came first
        await ws.send({"event": "subscribe", "feed": "book", "product_ids": ["PF_XBTUSD"]})
        assert (await ws.event("subscribed"))["feed"] == "book"
        assert (await ws.feed("book_snapshot"))["product_id"] == "PF_XBTUSD"
        assert not any(m.get("feed") == "book_snapshot" for m in ws.pending)  # one snapshot: the second request's
    finally:
        await ws.close()


# inspection -------------------------------------------------------------------------------------------------
async def test_placed_orders_of_derivatives(env: Any) -> None:
    sb, c = env
    await c.post(D + "/sendorder", {**LIMIT, "cliOrdId": "fi-1"})
    again = (await c.post(D + "/sendorder", {**LIMIT, "cliOrdId": "fi-1"})).json()["sendStatus"]
    assert again["status"] == "clientOrderIdAlreadyExist"  # globally unique: the copy places nothing
    sell = {"orderType": "mkt", "symbol": "PF_XBTUSD", "side": "sell", "size": "0.001", "cliOrdId": "fi-2"}
    assert (await c.post(D + "/sendorder", sell)).json()["sendStatus"]["status"] == "placed"
    rows = sb.placed_orders(c.key)
    assert [(o["product"], o["cl_ord_id"]) for o in rows] == [("derivatives", "fi-1"), ("derivatives", "fi-2")]
    assert rows[1]["fills"] and sum(f["qty"] for f in rows[1]["fills"]) == rows[1]["filled"]
    assert sb.duplicate_client_ids(c.key) == {}
    async with httpx.AsyncClient() as h:
        over_http = (await h.get(sb.rest_url + "/_sandbox/placed_orders", params={"cl_ord_id": "fi-2"})).json()
    assert [o["order_id"] for o in over_http] == [rows[1]["order_id"]]

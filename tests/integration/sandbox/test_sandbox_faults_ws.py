"""Order-safety faults on Spot WebSocket v2, over raw websockets: late arrival (token on receipt,
deadline at processing, the 5 s default deadline), lost or garbled replies of processed requests, and
subscriptions that are never acknowledged."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import websockets
from sandbox_testkit import ack, is_, recv, rfc3339_in, token

from krakenkit_sandbox import Sandbox

LIMIT = {"order_type": "limit", "side": "buy", "order_qty": 0.01, "limit_price": 50000.0, "symbol": "BTC/USD"}
MARKET = {"order_type": "market", "side": "buy", "order_qty": 0.01, "symbol": "BTC/USD"}


class Clock:
    """The exchange clock: real time plus an offset a test can move."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
async def env() -> AsyncIterator[tuple[Sandbox, str, str, Clock]]:
    clock = Clock()
    async with Sandbox(seed=21, market=False, rate_limits=False, clock=clock) as sb:
        key, secret = sb.create_key(balances={"ZUSD": "1000000", "XXBT": "10"})
        yield sb, key, await token(sb, key, secret), clock


async def _private(sb: Sandbox) -> Any:
    ws = await websockets.connect(sb.ws_urls["spotPrivateV2"])
    await recv(ws, is_("status"))
    return ws


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_late_add_order_is_placed_later_and_does_not_block_the_connection(env: Any) -> None:
    sb, key, tok, _clock = env
    sb.faults.ws_late_arrival("add_order", delay=0.4)
    ws = await _private(sb)
    t0 = time.monotonic()
    await ws.send(
        json.dumps({"method": "add_order", "params": {**MARKET, "cl_ord_id": "wl-1", "token": tok}, "req_id": 1})
    )
    await ws.send(json.dumps({"method": "ping", "req_id": 2}))
    assert (await recv(ws))["method"] == "pong"  # answered first: the late order holds nothing up
    assert sb.placed_orders(key, "wl-1") == []
    res = await recv(ws, ack("add_order"))
    assert time.monotonic() - t0 >= 0.4 and res["success"] is True and res["result"]["cl_ord_id"] == "wl-1"
    assert _ts(res["time_out"]) - _ts(res["time_in"]) >= 0.35  # time_in is the receipt time
    assert [o["status"] for o in sb.placed_orders(key, "wl-1")] == ["closed"]
    await ws.close()


async def test_late_order_is_placed_after_the_connection_closed(env: Any) -> None:
    sb, key, tok, _clock = env
    sb.faults.ws_late_arrival(["add_order", "batch_add"], delay=0.3)
    ws = await _private(sb)
    await ws.send(json.dumps({"method": "add_order", "params": {**LIMIT, "cl_ord_id": "wl-2", "token": tok}}))
    await ws.send(json.dumps({"method": "ping", "req_id": 9}))
    await recv(ws, ack("pong"))  # the request has been received, not processed yet
    assert sb.placed_orders(key, "wl-2") == []
    await ws.close()
    for _ in range(200):
        if sb.placed_orders(key, "wl-2"):
            break
        await asyncio.sleep(0.01)
    assert [o["status"] for o in sb.placed_orders(key, "wl-2")] == ["open"]


async def test_deadline_is_judged_when_processed(env: Any) -> None:
    sb, key, tok, _clock = env
    sb.faults.ws_late_arrival(None, n=4, delay=0.3)
    ws = await _private(sb)
    await ws.send(json.dumps({"method": "add_order", "params": {**LIMIT, "cl_ord_id": "wd-open", "token": tok}}))
    oid = (await recv(ws, ack("add_order")))["result"]["order_id"]
    dl = {"deadline": rfc3339_in(0.15), "token": tok}
    requests = [
        {"method": "add_order", "params": {**MARKET, "cl_ord_id": "wd-1", **dl}},
        {
            "method": "batch_add",
            "params": {
                "symbol": "BTC/USD",
                "orders": [
                    {k: v for k, v in {**LIMIT, "cl_ord_id": f"wd-b{i}"}.items() if k != "symbol"} for i in (1, 2)
                ],
                **dl,
            },
        },
        {"method": "amend_order", "params": {"order_id": oid, "limit_price": 49000.0, **dl}},
    ]
    for req in requests:  # all three wait at once
        await ws.send(json.dumps(req))
    for req in requests:
        err = await recv(ws, ack(req["method"]))
        assert err["success"] is False and err["error"] == "EService:Deadline elapsed", err
    assert [(o["cl_ord_id"], o["status"]) for o in sb.placed_orders(key)] == [("wd-open", "open")]
    await ws.close()


async def test_edit_order_deadline(env: Any) -> None:
    sb, key, tok, _clock = env
    ws = await _private(sb)
    await ws.send(json.dumps({"method": "add_order", "params": {**LIMIT, "token": tok}}))
    oid = (await recv(ws, ack("add_order")))["result"]["order_id"]
    sb.faults.ws_late_arrival("edit_order", delay=0.3)
    edit = {"order_id": oid, "symbol": "BTC/USD", "limit_price": 49000.0, "deadline": rfc3339_in(0.15), "token": tok}
    await ws.send(json.dumps({"method": "edit_order", "params": edit}))
    err = await recv(ws, ack("edit_order"))
    assert err["success"] is False and err["error"] == "EService:Deadline elapsed"
    assert [o["status"] for o in sb.placed_orders(key)] == ["open"]
    await ws.close()


async def test_default_deadline_is_five_seconds_after_receipt(env: Any) -> None:
    sb, key, tok, clock = env
    sb.faults.ws_late_arrival("add_order", n=2, delay=0.2)
    ws = await _private(sb)
    await ws.send(json.dumps({"method": "add_order", "params": {**LIMIT, "cl_ord_id": "w5-1", "token": tok}}))
    await ws.send(json.dumps({"method": "ping"}))
    await recv(ws, ack("pong"))
    clock.offset += 6  # the exchange clock passes receipt + 5 s before the engine gets the order
    err = await recv(ws, ack("add_order"))
    assert err["success"] is False and err["error"] == "EService:Deadline elapsed"
    await ws.send(json.dumps({"method": "add_order", "params": {**LIMIT, "cl_ord_id": "w5-2", "token": tok}}))
    assert (await recv(ws, ack("add_order")))["success"] is True  # well inside 5 s
    assert [o["cl_ord_id"] for o in sb.placed_orders(key)] == ["w5-2"]
    await ws.close()


@pytest.mark.parametrize("kind", ["truncated", "garbage", "swallow"])
async def test_reply_lost_or_garbled_after_processing(env: Any, kind: str) -> None:
    sb, key, tok, _clock = env
    ws = await _private(sb)
    await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "executions", "token": tok}}))
    await recv(ws, ack("subscribe"))
    await recv(ws, is_("executions", "snapshot"))
    sb.faults.ws_garble_reply("add_order", kind=kind)
    await ws.send(json.dumps({"method": "add_order", "params": {**LIMIT, "cl_ord_id": f"wg-{kind}", "token": tok}}))
    await ws.send(json.dumps({"method": "ping", "req_id": 5}))
    frames: list[str] = []
    while True:
        text = await asyncio.wait_for(ws.recv(), 5)
        frames.append(str(text))
        if '"pong"' in text:
            break
    assert not any('"add_order"' in f and f.rstrip().endswith("}") for f in frames)  # no usable reply
    if kind == "swallow":
        assert all(json.loads(f).get("channel") == "executions" or "pong" in f for f in frames)
    else:
        assert sum(1 for f in frames if not f.startswith('{"channel"') and "pong" not in f) == 1
    # the order was placed, and the executions channel says so
    assert any(f.startswith('{"channel":"executions"') and f"wg-{kind}" in f for f in frames)
    assert [o["status"] for o in sb.placed_orders(key, f"wg-{kind}")] == ["open"]
    await ws.send(json.dumps({"method": "add_order", "params": {**LIMIT, "token": tok}}))
    assert (await recv(ws, ack("add_order")))["success"] is True  # used up: the next reply is clean
    await ws.close()


async def test_ignored_subscriptions_get_no_ack_and_no_data(env: Any) -> None:
    sb, _key, _tok, _clock = env
    sb.faults.ignore_subscriptions("instrument", n=1, method="subscribe")
    sb.faults.ignore_subscriptions(None, n=1, ws_key="derivatives")  # other connections only
    async with websockets.connect(sb.ws_urls["spotPublicV2"]) as ws:
        await recv(ws, is_("status"))
        await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "instrument"}, "req_id": 1}))
        await ws.send(json.dumps({"method": "ping", "req_id": 2}))
        first = await recv(ws)
        assert first["method"] == "pong"  # nothing for the subscribe came before it, and nothing will
        await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "instrument"}, "req_id": 3}))
        again = await recv(ws)
        assert again["method"] == "subscribe" and again["req_id"] == 3 and again["success"] is True
        assert (await recv(ws))["channel"] == "instrument"
        # an ignored unsubscribe removes nothing
        sb.faults.ignore_subscriptions("instrument", method="unsubscribe")
        await ws.send(json.dumps({"method": "unsubscribe", "params": {"channel": "instrument"}, "req_id": 4}))
        await ws.send(json.dumps({"method": "ping", "req_id": 5}))
        assert (await recv(ws))["method"] == "pong"  # no ack came first
        assert all(("instrument", "") in c.subs for c in sb.ws.conns)  # and the subscription stays
    logged = [r for r in sb.requests if r["transport"] == "ws" and r["method"] in ("subscribe", "unsubscribe")]
    assert len(logged) == 3  # the ignored requests did arrive

"""``executions`` subscribe parameter ``ratecounter`` (Spot WS v2), on the wire.

docs.kraken.com/api/docs/websocket-v2/executions: ``ratecounter`` (default false) "If true, the rate-limit
counter is included in the stream"; the ack's ``maxratecount`` is "the max rate counter value for the user
transaction rate. It is based on user tier." The counter is the per-pair trading counter shared by REST,
WebSocket and FIX (docs.kraken.com/api/docs/guides/spot-ratelimits). The field name follows the v1
``openOrders`` channel's ``ratecount`` (see docs/sandbox-fidelity.md). The clock is frozen (then moved by
hand) so the counter values are exact.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import websockets
from sandbox_testkit import Raw, ack, is_, recv, token

from krakenkit_sandbox import Sandbox

FIELD = "ratecount"


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def _upd(pred: Any) -> Any:
    return lambda m: m.get("channel") == "executions" and m.get("type") == "update" and pred(m["data"][0])


async def _subscribe(ws: Any, tok: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "executions", "token": tok, **extra}}))
    return await recv(ws, ack("subscribe")), await recv(ws, is_("executions", "snapshot"))


def _add(tok: str, symbol: str = "BTC/USD", price: float = 60000.0, qty: float = 0.01) -> str:
    return json.dumps(
        {
            "method": "add_order",
            "params": {
                "order_type": "limit",
                "side": "buy",
                "order_qty": qty,
                "limit_price": price,
                "symbol": symbol,
                "token": tok,
            },
        }
    )


@pytest.mark.parametrize("rate_limits", [True, False])
async def test_ratecount_on_every_execution_report_when_asked(rate_limits: bool) -> None:
    clock = Clock()
    with Sandbox(seed=1, market=False, rate_limits=rate_limits, clock=clock) as sb:
        k, s = sb.create_key()
        tok_a, tok_b = await token(sb, k, s), await token(sb, k, s)
        raw = Raw(sb.rest_url, k, s)
        async with (
            websockets.connect(sb.ws_urls["spotPrivateV2"]) as a,
            websockets.connect(sb.ws_urls["spotPrivateV2"]) as b,
        ):
            ack_a, _ = await _subscribe(a, tok_a, ratecounter=True)
            ack_b, _ = await _subscribe(b, tok_b)  # default: false
            assert ack_a["result"]["maxratecount"] == 125 and FIELD not in ack_a["result"]
            assert ack_b["result"]["maxratecount"] == 125

            await a.send(_add(tok_a))  # add order: +1
            oid = (await recv(a, ack("add_order")))["result"]["order_id"]
            pend = (await recv(a, _upd(lambda r: r["exec_type"] == "pending_new")))["data"][0]
            new = (await recv(a, _upd(lambda r: r["exec_type"] == "new")))["data"][0]
            assert (pend["order_id"], pend[FIELD], new[FIELD]) == (oid, 1, 1)
            pend_b = (await recv(b, _upd(lambda r: r["exec_type"] == "pending_new")))["data"][0]
            assert pend_b["order_id"] == oid and FIELD not in pend_b  # not asked: absent, as before

            await a.send(json.dumps({"method": "cancel_order", "params": {"order_id": [oid], "token": tok_a}}))
            await recv(a, ack("cancel_order"))
            canceled = (await recv(a, _upd(lambda r: r["exec_type"] == "canceled")))["data"][0]
            assert canceled[FIELD] == 1 + 8  # cancel of an order younger than 5 s: +8
            assert list(canceled)[-1] == "order_id"  # the field does not move order_id from last place
            assert FIELD not in (await recv(b, _upd(lambda r: r["exec_type"] == "canceled")))["data"][0]

            raw.ok(
                "AddOrder",
                {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "60000.0"},
            )  # REST and WebSocket share the counter
            assert (await recv(a, _upd(lambda r: r["exec_type"] == "pending_new")))["data"][0][FIELD] == 10

            clock.t += 2.0  # intermediate tier decays 2.34 per second: 10 - 4.68 + 1 = 6.32
            await a.send(_add(tok_a, price=59000.0))
            await recv(a, ack("add_order"))
            assert (await recv(a, _upd(lambda r: r["exec_type"] == "pending_new")))["data"][0][FIELD] == 6

            await a.send(_add(tok_a, symbol="ETH/USD", price=3000.0, qty=0.1))  # one counter per pair
            await recv(a, ack("add_order"))
            eth = (await recv(a, _upd(lambda r: r["exec_type"] == "pending_new")))["data"][0]
            assert (eth["symbol"], eth[FIELD]) == ("ETH/USD", 1)

        # snapshot rows carry it too, each with its own pair's counter
        tok_c = await token(sb, k, s)
        async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as c:
            _, snap = await _subscribe(c, tok_c, ratecounter=True, snap_orders=True)
            counts = {(r["symbol"], r[FIELD]) for r in snap["data"]}
            assert len(snap["data"]) == 3 and counts == {("BTC/USD", 6), ("ETH/USD", 1)}
        tok_d = await token(sb, k, s)
        async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as d:
            _, snap = await _subscribe(d, tok_d, ratecounter=False, snap_orders=True)
            assert len(snap["data"]) == 3 and all(FIELD not in r for r in snap["data"])


async def test_maxratecount_follows_the_tier() -> None:
    with Sandbox(seed=1, market=False) as sb:
        for tier, expected in (("starter", 60), ("intermediate", 125), ("pro", 180)):
            k, s = sb.create_key(tier=tier)
            tok = await token(sb, k, s)
            async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as ws:
                a, _ = await _subscribe(ws, tok, ratecounter=True)
                assert a["result"]["maxratecount"] == expected, tier

"""Spot fidelity audit (docs/sandbox-fidelity.md): one test per discrepancy found and fixed."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from sandbox_testkit import Raw, ack, is_, recv, token

from krakenkit_sandbox import Sandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=11, market=False, rate_limits=False) as s:
        yield s


@pytest.fixture
def raw(sb: Sandbox) -> Raw:
    key, secret = sb.create_key(balances={"ZUSD": "100000", "XXBT": "10"})
    return Raw(sb.rest_url, key, secret)


# REST ----------------------------------------------------------------------------------------------------
def test_time_rfc1123_is_krakens_format(raw: Raw) -> None:
    # official example: "Wed,  9 Jan 19 01:50:54 +0000" (two-digit year, space-padded day)
    res = raw.public("Time")["result"]
    assert re.fullmatch(r"[A-Z][a-z]{2}, [ \d]\d [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} \+0000", res["rfc1123"]), res
    import email.utils

    parsed = email.utils.parsedate_to_datetime(res["rfc1123"])
    assert abs(parsed.timestamp() - res["unixtime"]) < 2


def test_assets_collateral_value_only_when_collateral(raw: Raw) -> None:
    res = raw.public("Assets", asset="XBT,XDG")["result"]
    assert res["XXBT"]["collateral_value"] == 1
    assert "collateral_value" not in res["XXDG"]  # official example: BCH, DASH, ... carry no such key


def test_public_answers_get_and_post_only(sb: Sandbox) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        r = httpx.request(method, sb.rest_url + "/0/public/Time")
        assert r.status_code == 405, (method, r.status_code)
    assert httpx.post(sb.rest_url + "/0/public/Time").json()["error"] == []


def test_add_order_close_descr(raw: Raw) -> None:
    base = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "25000.1"}
    res = raw.ok(
        "AddOrder", {**base, "close[ordertype]": "stop-loss-limit", "close[price]": "22000", "close[price2]": "21000"}
    )
    # official AddOrder example: "close position @ stop loss 22000.0 -> limit 21000.0"
    assert res["descr"]["close"] == "close position @ stop loss 22000.0 -> limit 21000.0"
    info = raw.ok("QueryOrders", {"txid": res["txid"][0]})[res["txid"][0]]
    assert info["descr"]["close"] == "close position @ stop loss 22000.0 -> limit 21000.0"
    plain = raw.ok("AddOrder", {**base, "validate": "true"})
    assert "close" not in plain["descr"]
    lim = raw.ok("AddOrder", {**base, "validate": "true", "close[ordertype]": "limit", "close[price]": "30000"})
    assert lim["descr"]["close"] == "close position @ limit 30000.0"
    bad = raw.post("AddOrder", {**base, "close[ordertype]": "stop-loss-limit", "close[price]": "22000"})
    assert bad["error"] == ["EGeneral:Invalid arguments:close[price2]"]
    batch = raw.ok(
        "AddOrderBatch",
        {
            "pair": "XBTUSD",
            "orders": [
                {
                    "type": "buy",
                    "ordertype": "limit",
                    "volume": "0.01",
                    "price": "28300",
                    "close": {"ordertype": "stop-loss-limit", "price": "27000", "price2": "26000"},
                },
                {"type": "sell", "ordertype": "limit", "volume": "0.01", "price": "36000"},
            ],
        },
        as_json=True,
    )
    assert batch["orders"][0]["descr"]["close"] == "close position @ stop loss 27000.0 -> limit 26000.0"
    assert "close" not in batch["orders"][1]["descr"]


# WebSocket -----------------------------------------------------------------------------------------------
async def _send(ws: Any, msg: dict[str, Any]) -> None:
    await ws.send(json.dumps(msg))


async def test_ws_subscription_error_strings() -> None:
    async with Sandbox(seed=12, market=False) as sb:
        async with websockets.connect(sb.ws_urls["spotPublicV2"]) as ws:
            await _send(
                ws,
                {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 20}, "req_id": 5},
            )
            e = await recv(ws, ack("subscribe"))
            assert (e["success"], e["error"], e["req_id"]) == (False, "Subscription depth not supported", 5)
            await _send(ws, {"method": "subscribe", "params": {"channel": "trade", "symbol": ["XBT/USD"]}})
            e = await recv(ws, ack("subscribe"))
            assert e["error"] == "Currency pair not supported XBT/USD" and e["symbol"] == "XBT/USD"
        k, s = sb.create_key()
        async with websockets.connect(sb.ws_urls["spotL3V2"]) as ws:
            tok = await token(sb, k, s)
            await _send(
                ws,
                {
                    "method": "subscribe",
                    "params": {"channel": "level3", "symbol": ["BTC/USD"], "depth": 25, "token": tok},
                },
            )
            assert (await recv(ws, ack("subscribe")))["error"] == "Subscription depth not supported"
            await _send(ws, {"method": "subscribe", "params": {"channel": "level3", "symbol": ["BTC/USD"]}})
            assert (await recv(ws, ack("subscribe")))["error"] == "Token(s) not found"


async def test_ws_token_errors() -> None:
    async with Sandbox(seed=13, market=False) as sb, websockets.connect(sb.ws_urls["spotPrivateV2"]) as ws:
        await _send(ws, {"method": "subscribe", "params": {"channel": "executions"}, "req_id": 1})
        e = await recv(ws, ack("subscribe"))
        assert (e["success"], e["error"], e["req_id"]) == (False, "Token(s) not found", 1)
        await _send(
            ws,
            {
                "method": "edit_order",
                "params": {"order_id": "OAAAAA-AAAAA-AAAAAA", "symbol": "BTC/USD", "order_qty": 1},
                "req_id": 0,
            },
        )
        e = await recv(ws, ack("edit_order"))
        assert (e["error"], e["req_id"]) == ("Token(s) not found", 0)
        await _send(ws, {"method": "subscribe", "params": {"channel": "balances", "token": "bogus"}})
        assert (await recv(ws, ack("subscribe")))["error"] == "ESession:Invalid session"


async def test_ws_canceled_execution_row() -> None:
    async with Sandbox(seed=14, market=False) as sb:
        k, s = sb.create_key()
        tok = await token(sb, k, s)
        async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as ws:
            await _send(ws, {"method": "subscribe", "params": {"channel": "executions", "token": tok}})
            await recv(ws, is_("executions", "snapshot"))
            await _send(
                ws,
                {
                    "method": "add_order",
                    "params": {
                        "order_type": "limit",
                        "side": "buy",
                        "limit_price": 20000.0,
                        "order_qty": 0.01,
                        "symbol": "BTC/USD",
                        "post_only": True,
                        "token": tok,
                    },
                },
            )
            oid = (await recv(ws, ack("add_order")))["result"]["order_id"]
            new = await recv(ws, lambda m: m.get("channel") == "executions" and m["data"][0]["exec_type"] == "new")
            assert new["data"][0]["order_userref"] == 0 and new["data"][0]["post_only"] is True
            await _send(ws, {"method": "cancel_order", "params": {"order_id": [oid], "token": tok}})
            row = (
                await recv(ws, lambda m: m.get("channel") == "executions" and m["data"][0]["exec_type"] == "canceled")
            )["data"][0]
            # captured live: ..."order_userref":0,"cancel_reason":"User requested","reason":"User requested","order_id"
            assert row["cancel_reason"] == "User requested" and row["reason"] == "User requested"
            assert row["order_userref"] == 0 and row["post_only"] is True
            assert list(row)[-1] == "order_id" and isinstance(row["cum_qty"], (int, float, Decimal))


async def test_ws_batch_add_size_limits() -> None:
    # docs.kraken.com batch_add: "minimum of 2 and maximum 15"
    async with Sandbox(seed=15, market=False) as sb:
        k, s = sb.create_key()
        tok = await token(sb, k, s)
        order = {"order_type": "limit", "side": "buy", "limit_price": 10000.0, "order_qty": 0.0001}
        async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as ws:
            for n, ok in ((1, False), (2, True), (15, True), (16, False)):
                await _send(
                    ws,
                    {
                        "method": "batch_add",
                        "params": {"symbol": "BTC/USD", "token": tok, "orders": [order] * n},
                        "req_id": n,
                    },
                )
                r = await asyncio.wait_for(recv(ws, ack("batch_add")), 5)
                assert r["success"] is ok and r["req_id"] == n, r
                if ok:
                    assert len(r["result"]) == n

"""Fidelity details: Futures keys in the inspection API and request log, stop-trigger executions,
OpenPositions shape, token expiry (injected clock), no aiohttp NotAppKeyWarning."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import warnings
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from aiohttp.web_exceptions import NotAppKeyWarning
from sandbox_testkit import Raw, ack, recv, token

from krakenkit_sandbox import Sandbox

D = Decimal


def futures_post(sb: Sandbox, key: str, secret: str, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
    body = urllib.parse.urlencode(params)
    nonce = str(time.time_ns())
    digest = hashlib.sha256((body + nonce + f"/api/v3/{endpoint}").encode()).digest()
    authent = base64.b64encode(hmac.new(base64.b64decode(secret), digest, hashlib.sha512).digest()).decode()
    r = httpx.post(
        f"{sb.rest_url}/derivatives/api/v3/{endpoint}",
        content=body,
        headers={
            "APIKey": key,
            "Nonce": nonce,
            "Authent": authent,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_futures_key_orders_balances_and_request_log() -> None:
    with Sandbox(seed=3, market=False, rate_limits=False) as sb:
        assert sb.futures is not None
        fk, fs = sb.create_futures_key()
        res = futures_post(
            sb,
            fk,
            fs,
            "sendorder",
            {
                "orderType": "lmt",
                "symbol": "PF_XBTUSD",
                "side": "buy",
                "size": "1",
                "limitPrice": "1000",
                "cliOrdId": "kk-fut-1",
            },
        )
        assert res["result"] == "success" and res["sendStatus"]["status"] == "placed"
        orders = sb.orders(fk)
        assert [o["order"]["cliOrdId"] for o in orders] == ["kk-fut-1"]
        assert orders[0]["order"]["orderId"] == res["sendStatus"]["order_id"]
        bal = sb.balances(fk)
        assert bal and all(isinstance(v, D) for v in bal.values())
        logged = [r for r in sb.requests if r["path"] == "/derivatives/api/v3/sendorder"][-1]
        assert logged["params"]["cliOrdId"] == "kk-fut-1" and logged["params"]["limitPrice"] == "1000"
        assert logged["api_key"] == fk and fs not in json.dumps(logged)
        batch = {
            "batchOrder": [
                {
                    "order": "send",
                    "order_tag": "1",
                    "orderType": "lmt",
                    "symbol": "PF_XBTUSD",
                    "side": "buy",
                    "size": 1,
                    "limitPrice": 999,
                    "cliOrdId": "kk-fut-2",
                }
            ]
        }
        futures_post(sb, fk, fs, "batchorder", {"json": json.dumps(batch)})
        logged = [r for r in sb.requests if r["path"] == "/derivatives/api/v3/batchorder"][-1]
        assert logged["params"]["json"]["batchOrder"][0]["cliOrdId"] == "kk-fut-2"
        # Spot keys still answer from the Spot exchange; unknown keys raise
        sk, ss = sb.create_key()
        Raw(sb.rest_url, sk, ss).ok(
            "AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "50000.0"}
        )
        assert [o["status"] for o in sb.orders(sk)] == ["open"]
        with pytest.raises(KeyError):
            sb.orders("nope")


def test_open_positions_shape() -> None:
    with Sandbox(seed=1, market=False, rate_limits=False) as sb:
        raw = Raw(sb.rest_url, *sb.create_key())
        assert raw.ok("OpenPositions") == {}
        assert raw.ok("OpenPositions", {"docalcs": "true"}) == {}
        assert raw.ok("OpenPositions", {"consolidation": "market"}) == []
        bad = raw.post("OpenPositions", {"consolidation": "pair"})
        assert bad["error"] == ["EGeneral:Invalid arguments:consolidation"]


async def test_token_expiry_with_injected_clock() -> None:
    now = [1_800_000_000.0]
    async with Sandbox(seed=2, market=False, clock=lambda: now[0]) as sb:
        key, secret = sb.create_key()
        unused = await token(sb, key, secret)
        used = await token(sb, key, secret)
        async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as ws:
            await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "balances", "token": used}}))
            assert (await recv(ws, ack("subscribe")))["success"] is True
            now[0] += 901  # 15 minutes and a second later
            await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "executions", "token": unused}}))
            err = await recv(ws, ack("subscribe"))
            assert err["success"] is False and err["error"] == "ESession:Invalid session"
            # a token that was used lives on
            await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "executions", "token": used}}))
            assert (await recv(ws, ack("subscribe")))["success"] is True
            fresh = await token(sb, key, secret)
            now[0] += 899
            await ws.send(json.dumps({"method": "cancel_all", "params": {"token": fresh}}))
            assert (await recv(ws, ack("cancel_all")))["success"] is True


async def test_stop_trigger_sends_status_execution() -> None:
    async with Sandbox(seed=4, market=False) as sb:
        key, secret = sb.create_key()
        tok = await token(sb, key, secret)
        async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as ws:
            await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "executions", "token": tok}}))
            await recv(ws, lambda m: m.get("channel") == "executions" and m.get("type") == "snapshot")
            bid = sb.spot.engine.books["XXBTZUSD"].best_bid()
            assert bid is not None
            trig = bid - D("0.5")
            await ws.send(
                json.dumps(
                    {
                        "method": "add_order",
                        "params": {
                            "order_type": "stop-loss",
                            "side": "sell",
                            "order_qty": 0.01,
                            "symbol": "BTC/USD",
                            "triggers": {"price": float(trig)},
                            "cl_ord_id": "stop-1",
                            "token": tok,
                        },
                    }
                )
            )
            oid = (await recv(ws, ack("add_order")))["result"]["order_id"]

            def update(m: dict[str, Any]) -> bool:
                return m.get("channel") == "executions" and m.get("type") == "update"

            pend = (await recv(ws, update))["data"][0]
            assert pend["exec_type"] == "pending_new" and pend["triggers"]["status"] == "untriggered"
            assert D(str(pend["triggers"]["price"])) == trig
            sb.take("BTC/USD", "sell", "3")  # the last price falls through the trigger
            seen: list[dict[str, Any]] = []
            while not seen or seen[-1]["exec_type"] != "filled":
                seen.extend((await recv(ws, update))["data"])
            kinds = [r["exec_type"] for r in seen]
            assert "status" in kinds and kinds.index("status") < kinds.index("trade")
            st = seen[kinds.index("status")]
            assert st["order_id"] == oid and st["cl_ord_id"] == "stop-1" and st["order_status"] == "new"
            assert st["triggers"]["status"] == "triggered" and D(str(st["triggers"]["price"])) == trig
            assert D(str(st["triggers"]["last_price"])) <= trig and st["triggers"]["timestamp"].endswith("Z")


async def test_no_not_app_key_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with Sandbox(seed=1, market=False) as sb:
            sb.faults.fail_next("Time", error="EService:Busy")
            async with httpx.AsyncClient() as c:
                r = await c.get(sb.rest_url + "/0/public/Time")
            assert r.json()["error"] == ["EService:Busy"]
            assert sb.requests[-1]["errors"] == ["EService:Busy"]
    assert not [w for w in caught if issubclass(w.category, NotAppKeyWarning)]

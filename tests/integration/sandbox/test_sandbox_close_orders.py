"""Conditional close orders (Spot) on the wire: REST ``close[...]`` and WS v2 ``conditional``.

Kraken documents (docs.kraken.com/api/docs/websocket-v2/add_order, REST AddOrder ``close[ordertype]``):
each fill of the primary order places a new secondary order for the executed quantity on the opposite
side; once placed the secondary is an independent order (cancelling the primary does not remove it);
the secondary names the primary in ``refid`` (REST) / ``ord_ref_id`` (executions), and the primary's
execution reports carry the template as ``contingent``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import websockets
from sandbox_testkit import Raw, ack, is_, recv, token

from krakenkit_sandbox import Sandbox

D = Decimal
# The seeded BTC/USD book has its best bid at 64999.9 and best ask at 65000.1 (start price 65000.0,
# spread of 2 ticks): a buy at 65000.0 rests at the top of the bids, so a market sell hits it first.
TOP_BID = "65000.0"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=1, market=False) as s:
        yield s


@pytest.fixture
def raw(sb: Sandbox) -> Raw:
    key, secret = sb.create_key(balances={"ZUSD": "100000", "XXBT": "10"})
    return Raw(sb.rest_url, key, secret)


def _buy_top(raw: Raw, volume: str, **close: str) -> str:
    params = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": volume, "price": TOP_BID}
    params.update({f"close[{k}]": v for k, v in close.items()})
    res = raw.ok("AddOrder", params)
    return str(res["txid"][0])


def _children(raw: Raw, primary: str) -> dict[str, dict[str, Any]]:
    """Open orders whose ``refid`` names ``primary``."""
    opened: dict[str, dict[str, Any]] = raw.ok("OpenOrders")["open"]
    return {t: o for t, o in opened.items() if o["refid"] == primary}


def test_each_fill_places_a_close_for_its_volume(sb: Sandbox, raw: Raw) -> None:
    primary = _buy_top(raw, "0.01", ordertype="limit", price="66000.0")
    assert _children(raw, primary) == {}  # nothing before the primary executes
    sb.take("BTC/USD", "sell", "0.004")
    kids = _children(raw, primary)
    assert len(kids) == 1
    (kid,) = kids.values()
    assert kid["status"] == "open" and kid["vol"] == "0.00400000" and kid["vol_exec"] == "0.00000000"
    assert (kid["descr"]["type"], kid["descr"]["ordertype"], kid["descr"]["price"]) == ("sell", "limit", "66000.0")
    assert kid["descr"]["order"] == "sell 0.00400000 XBTUSD @ limit 66000.0"
    assert kid["descr"]["close"] == ""  # the secondary carries no close of its own

    sb.take("BTC/USD", "sell", "0.006")
    info = raw.ok("QueryOrders", {"txid": primary})[primary]
    assert info["status"] == "closed" and info["vol_exec"] == "0.01000000"
    assert info["refid"] is None
    assert info["descr"]["close"] == "close position @ limit 66000.0"
    kids = _children(raw, primary)
    assert sorted(k["vol"] for k in kids.values()) == ["0.00400000", "0.00600000"]
    assert all(k["descr"]["type"] == "sell" for k in kids.values())


def test_immediate_fills_each_place_a_close(raw: Raw) -> None:
    res = raw.ok(
        "AddOrder",
        {
            "pair": "XBTUSD",
            "type": "buy",
            "ordertype": "market",
            "volume": "0.3",
            "close[ordertype]": "stop-loss",
            "close[price]": "60000.0",
        },
    )
    primary = res["txid"][0]
    assert res["descr"]["close"] == "close position @ stop loss 60000.0"
    info = raw.ok("QueryOrders", {"txid": primary, "trades": "true"})[primary]
    assert info["status"] == "closed"
    trades = raw.ok("QueryTrades", {"txid": ",".join(info["trades"])})
    assert len(trades) >= 2  # 0.3 BTC takes more than one resting order
    kids = _children(raw, primary)
    assert sorted(k["vol"] for k in kids.values()) == sorted(t["vol"] for t in trades.values())
    assert sum(D(k["vol"]) for k in kids.values()) == D("0.3")
    for k in kids.values():
        assert (k["descr"]["type"], k["descr"]["ordertype"], k["descr"]["price"]) == ("sell", "stop-loss", "60000.0")


def test_cancelling_the_primary_keeps_placed_closes_and_places_no_more(sb: Sandbox, raw: Raw) -> None:
    primary = _buy_top(raw, "0.01", ordertype="stop-loss-limit", price="64000.0", price2="63900.0")
    sb.take("BTC/USD", "sell", "0.003")
    (kid_id, kid), *rest = _children(raw, primary).items()
    assert rest == []
    assert kid["descr"]["order"] == "sell 0.00300000 XBTUSD @ stop loss 64000.0 -> limit 63900.0"
    assert raw.ok("CancelOrder", {"txid": primary}) == {"count": 1}
    closed = raw.ok("ClosedOrders")["closed"][primary]
    assert closed["status"] == "canceled" and closed["vol_exec"] == "0.00300000"
    sb.take("BTC/USD", "sell", "0.01")  # trades with others now: the cancelled primary places nothing
    opened = raw.ok("OpenOrders")["open"]
    assert list(opened) == [kid_id]

    never = _buy_top(raw, "0.01", ordertype="limit", price="66000.0")
    raw.ok("CancelOrder", {"txid": never})
    assert _children(raw, never) == {}
    assert list(raw.ok("OpenOrders")["open"]) == [kid_id]


def test_close_prices_are_checked_like_order_prices(raw: Raw) -> None:
    base = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01", "price": "25000.0"}
    bad = raw.post("AddOrder", {**base, "close[ordertype]": "limit", "close[price]": "66000.05"})
    assert bad["error"] == ["EOrder:Invalid price:XBTUSD price can only be specified up to 1 decimals."]
    bad = raw.post("AddOrder", {**base, "close[ordertype]": "take-profit", "close[price]": "0"})
    assert bad["error"] == ["EGeneral:Invalid arguments:close[price]"]
    assert raw.ok("OpenOrders")["open"] == {}


# WebSocket v2 ---------------------------------------------------------------------------------------------
def _is_exec(pred: Any) -> Any:
    return lambda m: m.get("channel") == "executions" and m.get("type") == "update" and pred(m["data"][0])


@dataclass
class PrivateWs:
    token: str
    raw: Raw  # the same key over REST
    ws: Any  # connected to spotPrivateV2


@pytest.fixture
async def private_ws(sb: Sandbox) -> AsyncIterator[PrivateWs]:
    k, s = sb.create_key()
    tok = await token(sb, k, s)
    raw = Raw(sb.rest_url, k, s)  # after the token call: its nonces must be the larger ones
    async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as ws:
        yield PrivateWs(tok, raw, ws)


async def _add_order(ws: Any, params: dict[str, Any], **frame: Any) -> dict[str, Any]:
    """Send an ``add_order`` request and return its reply."""
    await ws.send(json.dumps({"method": "add_order", "params": params, **frame}))
    return await recv(ws, ack("add_order"))


async def test_ws_conditional_places_secondary_with_ord_ref_id(sb: Sandbox, private_ws: PrivateWs) -> None:
    tok, raw, ws = private_ws.token, private_ws.raw, private_ws.ws
    await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "executions", "token": tok}}))
    await recv(ws, ack("subscribe"))
    await recv(ws, is_("executions", "snapshot"))
    # the official OTO example's shape, at this book's prices
    res = await _add_order(
        ws,
        {
            "order_type": "limit",
            "side": "buy",
            "order_qty": 0.01,
            "symbol": "BTC/USD",
            "limit_price": 65000.0,
            "conditional": {
                "order_type": "stop-loss-limit",
                "trigger_price": 64000.0,
                "limit_price": 63900.0,
            },
            "token": tok,
        },
        req_id=7,
    )
    assert res["success"] is True
    oid = res["result"]["order_id"]
    pend = await recv(ws, _is_exec(lambda r: r["exec_type"] == "pending_new"))
    row = pend["data"][0]
    assert row["order_id"] == oid and "ord_ref_id" not in row
    assert row["contingent"] == {
        "order_type": "stop-loss-limit",
        "trigger_price": D("64000.0"),
        "trigger_price_type": "static",
        "limit_price": D("63900.0"),
        "limit_price_type": "static",
    }
    await recv(ws, _is_exec(lambda r: r["exec_type"] == "new"))

    sb.take("BTC/USD", "sell", "0.004")
    trade = await recv(ws, _is_exec(lambda r: r["exec_type"] == "trade"))
    assert trade["data"][0]["order_id"] == oid and trade["data"][0]["last_qty"] == D("0.004")
    kid_pend = await recv(ws, _is_exec(lambda r: r["exec_type"] == "pending_new"))
    kid = kid_pend["data"][0]
    assert kid_pend["sequence"] > trade["sequence"]
    assert kid["ord_ref_id"] == oid and kid["order_id"] != oid
    assert (kid["side"], kid["order_type"], kid["order_qty"]) == ("sell", "stop-loss-limit", D("0.004"))
    assert kid["limit_price"] == D("63900.0") and kid["triggers"]["price"] == D("64000.0")
    assert "contingent" not in kid
    kid_new = await recv(ws, _is_exec(lambda r: r["exec_type"] == "new"))
    assert kid_new["data"][0]["order_id"] == kid["order_id"]

    info = raw.ok("QueryOrders", {"txid": f"{oid},{kid['order_id']}"})
    assert info[oid]["descr"]["close"] == "close position @ stop loss 64000.0 -> limit 63900.0"
    assert info[kid["order_id"]]["refid"] == oid
    assert info[kid["order_id"]]["descr"]["order"] == "sell 0.00400000 XBTUSD @ stop loss 64000.0 -> limit 63900.0"


async def test_ws_conditional_offset_from_primary_price_and_validation(sb: Sandbox, private_ws: PrivateWs) -> None:
    tok, raw, ws = private_ws.token, private_ws.raw, private_ws.ws
    base = {
        "order_type": "limit",
        "side": "buy",
        "order_qty": 0.01,
        "symbol": "BTC/USD",
        "limit_price": 65000.0,
        "token": tok,
    }
    no_price2 = {"order_type": "stop-loss-limit", "trigger_price": 64000.0}
    e = await _add_order(ws, {**base, "conditional": no_price2})
    assert (e["success"], e["error"]) == (False, "EGeneral:Invalid arguments:close[price2]")
    e = await _add_order(ws, {**base, "conditional": {"order_type": "market", "trigger_price": 64000.0}})
    assert (e["success"], e["error"]) == (False, "EGeneral:Invalid arguments:close[ordertype]")

    # -2 % from the primary's price: 65000.0 * 0.98 = 63700.0
    pct = {"order_type": "stop-loss", "trigger_price": -2, "trigger_price_type": "pct"}
    res = await _add_order(ws, {**base, "conditional": pct})
    assert res["success"] is True
    oid = res["result"]["order_id"]
    assert raw.ok("QueryOrders", {"txid": oid})[oid]["descr"]["close"] == "close position @ stop loss -2%"
    sb.take("BTC/USD", "sell", "0.01")
    kids = _children(raw, oid)
    assert [(o["vol"], o["descr"]["ordertype"], o["descr"]["price"]) for o in kids.values()] == [
        ("0.01000000", "stop-loss", "63700.0")
    ]

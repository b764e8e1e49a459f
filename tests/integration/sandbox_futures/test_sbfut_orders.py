"""Order entry semantics: sendStatus values, edit, cancel, batch, orders/status, dead man's switch."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from sbfut_helpers import FutClient, Reference, Venue, wait_for

D = "/derivatives/api/v3"


async def book(c: FutClient, symbol: str = "PF_XBTUSD") -> dict[str, Any]:
    ob: dict[str, Any] = (await c.get(D + "/orderbook", {"symbol": symbol}, auth=False)).json()["orderBook"]
    return ob


async def send(c: FutClient, **params: Any) -> dict[str, Any]:
    base = {"symbol": "PF_XBTUSD", "side": "buy", "orderType": "lmt", "size": "0.001"}
    base.update({k: str(v) for k, v in params.items()})
    body = (await c.post(D + "/sendorder", base)).json()
    assert body["result"] == "success", body
    status: dict[str, Any] = body["sendStatus"]
    return status


async def test_send_status_cases(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    try:
        ob = await book(c)
        bid, ask = ob["bids"][0][0], ob["asks"][0][0]
        st = await send(c, limitPrice=bid - 100, cliOrdId="dup")
        assert st["status"] == "placed" and st["orderEvents"][0]["type"] == "PLACE"
        assert (await send(c, limitPrice=bid - 100, cliOrdId="dup"))["status"] == "clientOrderIdAlreadyExist"
        assert (await send(c, limitPrice=bid - 100, cliOrdId="x" * 101))["status"] == "clientOrderIdTooBig"
        assert (await send(c, limitPrice=bid - 100, cliOrdId="y" * 100))["status"] == "placed"
        assert (await send(c, limitPrice=bid, size="0.00001"))["status"] == "invalidSize"
        assert (await send(c, limitPrice=bid, size="-1"))["status"] == "invalidSize"
        assert (await send(c, limitPrice=Decimal(bid) - Decimal("0.5")))["status"] == "invalidPrice"
        rej = await send(c, orderType="post", limitPrice=ask)
        assert rej["status"] == "postWouldExecute"
        assert rej["orderEvents"][0] == {**rej["orderEvents"][0], "type": "REJECT", "reason": "POST_WOULD_EXECUTE"}
        ioc = await send(c, orderType="ioc", limitPrice=bid - 1000)
        assert ioc["status"] == "iocWouldNotExecute"
        ref.check_rest(
            "POST /derivatives/api/v3/sendorder", {"result": "success", "sendStatus": ioc, "serverTime": "x"}
        )
        assert (await send(c, side="sell", reduceOnly="true", limitPrice=ask + 100))[
            "status"
        ] == "wouldNotReducePosition"
        assert (await send(c, size="100", limitPrice=bid))["status"] == "insufficientAvailableFunds"
        venue.ctx.faults.system_status = "maintenance"
        assert (await send(c, limitPrice=bid - 100))["status"] == "marketSuspended"
        venue.ctx.faults.system_status = "post_only"
        assert (await send(c, limitPrice=bid - 100))["status"] == "marketIsPostOnly"
        assert (await send(c, orderType="post", limitPrice=bid - 100))["status"] == "placed"
        venue.ctx.faults.system_status = "online"
        venue.exchange.suspend_market("PF_ETHUSD")
        assert (await send(c, symbol="PF_ETHUSD", limitPrice="100"))["status"] == "marketSuspended"
        # unknown symbol / missing argument are request errors
        r = await c.post(
            D + "/sendorder", {"orderType": "lmt", "symbol": "PF_NOPE", "side": "buy", "size": "1", "limitPrice": "1"}
        )
        assert r.json()["result"] == "error"
        r = await c.post(D + "/sendorder", {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy"})
        assert r.json()["error"] == "requiredArgumentMissing"
    finally:
        await c.aclose()


async def test_self_fill_and_too_many_small_orders(venue: Venue) -> None:
    c = await venue.client()
    try:
        ob = await book(c)
        ask = ob["asks"][0][0]
        mine = ask - 1
        assert (await send(c, side="sell", limitPrice=mine, size="0.01"))["status"] == "placed"
        assert (await send(c, side="buy", limitPrice=mine, size="0.01"))["status"] == "selfFill"
        for _ in range(10):
            assert (await send(c, limitPrice="1000", size="0.0001"))["status"] == "placed"
        assert (await send(c, limitPrice="1000", size="0.0001"))["status"] == "tooManySmallOrders"
    finally:
        await c.aclose()


async def test_execution_position_pnl_and_other_participant(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    other = await venue.client()
    try:
        ob = await book(c)
        ask = Decimal(str(ob["asks"][0][0]))
        st = await send(c, orderType="mkt", size="0.01")
        assert st["status"] == "placed"
        ex = [e for e in st["orderEvents"] if e["type"] == "EXECUTION"]
        assert ex and Decimal(str(ex[0]["price"])) == ask
        # another participant rests a sell; we lift it: maker fill for them, taker fill for us
        price = int(ask) - 1
        their = await send(other, side="sell", limitPrice=price, size="0.02", cliOrdId="theirs")
        assert their["status"] == "placed"
        st = await send(c, orderType="ioc", limitPrice=price, size="0.01")
        assert [Decimal(str(e["price"])) for e in st["orderEvents"] if e["type"] == "EXECUTION"] == [Decimal(price)]
        pos = (await c.get(D + "/openpositions")).json()["openPositions"]
        assert len(pos) == 1 and pos[0]["side"] == "long" and Decimal(str(pos[0]["size"])) == Decimal("0.02")
        expected_avg = (ask * Decimal("0.01") + Decimal(price) * Decimal("0.01")) / Decimal("0.02")
        assert abs(Decimal(str(pos[0]["price"])) - expected_avg) < Decimal("0.0001")
        other_pos = (await other.get(D + "/openpositions")).json()["openPositions"]
        assert other_pos[0]["side"] == "short" and Decimal(str(other_pos[0]["size"])) == Decimal("0.01")
        fills = (await other.get(D + "/fills")).json()["fills"]
        assert fills[0]["fillType"] == "maker" and fills[0]["cliOrdId"] == "theirs"
        mine = (await c.get(D + "/fills")).json()["fills"]
        assert [f["fillType"] for f in mine] == ["taker", "taker"]
        ref.check_rest("GET /derivatives/api/v3/fills", (await c.get(D + "/fills")).json())
        # lastFillTime pages backwards: fills strictly before that time
        older = (await c.get(D + "/fills", {"lastFillTime": mine[0]["fillTime"]})).json()["fills"]
        assert [f["fill_id"] for f in older] == [mine[1]["fill_id"]]
        # unrealised pnl moves with the mark price
        venue.exchange.set_mark_price("PF_XBTUSD", ask + 1000)
        acc = (await c.get(D + "/accounts")).json()["accounts"]["flex"]
        assert Decimal(str(acc["pnl"])) > Decimal(15)
        assert venue.exchange.positions(c.key)[0]["side"] == "long"
    finally:
        await c.aclose()
        await other.aclose()


async def test_edit_and_cancel(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    try:
        bid = (await book(c))["bids"][0][0]
        st = await send(c, limitPrice=bid - 200, size="0.01", cliOrdId="edit-me")
        oid = st["order_id"]
        r = (
            await c.post(D + "/editorder", {"cliOrdId": "edit-me", "size": "0.02", "limitPrice": str(bid - 300)})
        ).json()
        ref.check_rest("POST /derivatives/api/v3/editorder", r)
        assert r["editStatus"]["status"] == "edited"
        ev = r["editStatus"]["orderEvents"][0]
        assert ev["old"]["quantity"] == 0.01 and ev["new"]["quantity"] == 0.02 and ev["new"]["limitPrice"] == bid - 300
        oo = (await c.get(D + "/openorders")).json()["openOrders"]
        assert [(o["order_id"], o["limitPrice"], o["unfilledSize"]) for o in oo] == [(oid, bid - 300, 0.02)]
        r = (await c.post(D + "/editorder", {"orderId": "00000000-0000-4000-8000-000000000000", "size": "1"})).json()
        assert r["editStatus"]["status"] == "orderForEditNotFound"
        r = (await c.post(D + "/cancelorder", {"cliOrdId": "edit-me"})).json()
        ref.check_rest("POST /derivatives/api/v3/cancelorder", r)
        assert r["cancelStatus"]["status"] == "cancelled" and r["cancelStatus"]["order_id"] == oid
        r = (await c.post(D + "/cancelorder", {"order_id": oid})).json()
        assert r["cancelStatus"]["status"] == "notFound"
        assert (await c.get(D + "/openorders")).json()["openOrders"] == []
        # cancelallorders by symbol only touches that symbol
        await send(c, limitPrice=bid - 200)
        await send(c, symbol="PF_ETHUSD", limitPrice="100", size="0.1")
        r = (await c.post(D + "/cancelallorders", {"symbol": "PF_ETHUSD"})).json()
        assert r["cancelStatus"]["cancelOnly"] == "PF_ETHUSD" and len(r["cancelStatus"]["cancelledOrders"]) == 1
        r = (await c.post(D + "/cancelallorders")).json()
        assert r["cancelStatus"]["status"] == "cancelled" and len(r["cancelStatus"]["cancelledOrders"]) == 1
        r = (await c.post(D + "/cancelallorders")).json()
        assert r["cancelStatus"]["status"] == "noOrdersToCancel"
    finally:
        await c.aclose()


async def test_batchorder(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    try:
        bid = (await book(c))["bids"][0][0]
        existing = await send(c, limitPrice=bid - 400, size="0.01", cliOrdId="old")
        batch = {
            "batchOrder": [
                {
                    "order": "send",
                    "order_tag": "a",
                    "orderType": "lmt",
                    "symbol": "PF_XBTUSD",
                    "side": "buy",
                    "size": 0.01,
                    "limitPrice": bid - 500,
                    "cliOrdId": "b-1",
                },
                {
                    "order": "send",
                    "order_tag": "b",
                    "orderType": "lmt",
                    "symbol": "PF_XBTUSD",
                    "side": "buy",
                    "size": 0.01,
                    "limitPrice": bid - 500,
                    "cliOrdId": "b-1",
                },
                {
                    "order": "send",
                    "order_tag": "c",
                    "orderType": "post",
                    "symbol": "PF_XBTUSD",
                    "side": "buy",
                    "size": 0.01,
                    "limitPrice": bid + 100000,
                },
                {"order": "edit", "order_id": existing["order_id"], "size": 0.05, "limitPrice": bid - 450},
                {"order": "cancel", "cliOrdId": "old"},
            ]
        }
        r = (await c.post(D + "/batchorder", {"json": json.dumps(batch)})).json()
        ref.check_rest("POST /derivatives/api/v3/batchorder", r)
        statuses = [(s.get("order_tag"), s["status"]) for s in r["batchStatus"]]
        assert statuses == [
            ("a", "placed"),
            ("b", "clientOrderIdAlreadyExist"),
            ("c", "postWouldExecute"),
            (None, "edited"),
            (None, "cancelled"),
        ]
        oo = (await c.get(D + "/openorders")).json()["openOrders"]
        assert [o.get("cliOrdId") for o in oo] == ["b-1"]
        # cancelling an unknown order: "notFound" (the spec's batch enum has no value for it)
        unknown = {"batchOrder": [{"order": "cancel", "order_id": "00000000-0000-4000-8000-000000000000"}]}
        r = (await c.post(D + "/batchorder", {"json": json.dumps(unknown)})).json()
        assert [s["status"] for s in r["batchStatus"]] == ["notFound"]
        r = (await c.post(D + "/batchorder", {"json": "{not json"})).json()
        assert r["result"] == "error"
    finally:
        await c.aclose()


async def test_orders_status_by_cli_ord_id(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    try:
        bid = (await book(c))["bids"][0][0]
        await send(c, limitPrice=bid - 200, cliOrdId="open-1")
        await send(c, orderType="mkt", size="0.001", cliOrdId="filled-1")
        await send(c, orderType="post", limitPrice=(await book(c))["asks"][0][0], cliOrdId="rejected-1")
        body = (
            await c.post(D + "/orders/status", {"cliOrdIds": ["open-1", "filled-1", "rejected-1", "never-sent"]})
        ).json()
        ref.check_rest("POST /derivatives/api/v3/orders/status", body)
        got = {o["order"]["cliOrdId"]: o["status"] for o in body["orders"]}
        assert got == {"open-1": "ENTERED_BOOK", "filled-1": "FULLY_EXECUTED", "rejected-1": "REJECTED"}
        rejected = next(o for o in body["orders"] if o["order"]["cliOrdId"] == "rejected-1")
        assert rejected["error"] == "POST_WOULD_EXECUTE"
        oid = next(o for o in body["orders"] if o["order"]["cliOrdId"] == "open-1")["order"]["orderId"]
        body = (await c.post(D + "/orders/status", {"orderIds": oid})).json()
        assert [o["order"]["orderId"] for o in body["orders"]] == [oid]
    finally:
        await c.aclose()


async def test_trigger_order_fires_on_mark(venue: Venue) -> None:
    c = await venue.client()
    try:
        await send(c, orderType="mkt", size="0.01")
        mark = Decimal(str((await c.get(D + "/tickers/PF_XBTUSD", auth=False)).json()["ticker"]["markPrice"]))
        st = await send(c, orderType="stp", side="sell", size="0.01", stopPrice=mark - 1000, reduceOnly="true")
        assert st["status"] == "placed" and st["orderEvents"][0]["orderTrigger"]["triggerSide"] == "trigger_below"
        oo = (await c.get(D + "/openorders")).json()["openOrders"]
        assert oo[0]["orderType"] == "stop" and oo[0]["stopPrice"] == float(mark - 1000)
        venue.exchange.set_mark_price("PF_XBTUSD", mark - 1500)
        assert (await c.get(D + "/openpositions")).json()["openPositions"] == []
        assert (await c.get(D + "/openorders")).json()["openOrders"] == []
    finally:
        await c.aclose()


async def test_cancel_all_orders_after_fires(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    try:
        bid = (await book(c))["bids"][0][0]
        oid = (await send(c, limitPrice=bid - 200))["order_id"]
        r = (await c.post(D + "/cancelallordersafter", {"timeout": "1"})).json()
        ref.check_rest("POST /derivatives/api/v3/cancelallordersafter", r)
        assert r["status"]["triggerTime"] != "0"
        loop = asyncio.get_running_loop()
        start = loop.time()

        def cancelled() -> bool:
            return any(
                o["order"]["orderId"] == oid and o["status"] == "CANCELLED" for o in venue.exchange.orders(c.key)
            )

        await wait_for(cancelled, timeout=5)
        assert loop.time() - start >= 0.5
        st = next(o for o in venue.exchange.orders(c.key) if o["order"]["orderId"] == oid)
        assert st["updateReason"] == "DEAD_MAN_SWITCH"
        r = (await c.post(D + "/cancelallordersafter", {"timeout": "0"})).json()
        assert r["status"]["triggerTime"] == "0"
    finally:
        await c.aclose()


async def test_leverage_preferences_change_margin(venue: Venue) -> None:
    c = await venue.client({"USD": "1000"})
    try:
        bid = (await book(c))["bids"][0][0]
        # 0.5 BTC at ~60k with 50x needs ~600 USD: fits
        assert (await send(c, limitPrice=bid - 100, size="0.5"))["status"] == "placed"
        r = (await c.put(D + "/leveragepreferences", {"symbol": "PF_XBTUSD", "maxLeverage": "2"})).json()
        assert r["result"] == "error"  # would leave negative available margin
        await c.post(D + "/cancelallorders")
        assert (await c.put(D + "/leveragepreferences", {"symbol": "PF_XBTUSD", "maxLeverage": "2"})).json()[
            "result"
        ] == "success"
        prefs = (await c.get(D + "/leveragepreferences")).json()["leveragePreferences"]
        assert prefs == [{"symbol": "PF_XBTUSD", "maxLeverage": 2.0}]
        assert (await send(c, limitPrice=bid - 100, size="0.5"))["status"] == "insufficientAvailableFunds"
    finally:
        await c.aclose()


async def test_other_participants_take_orders_the_market_moves_through(venue: Venue) -> None:
    c = await venue.client()
    try:
        ask = (await book(c))["asks"][0][0]
        st = await send(c, side="sell", limitPrice=ask + 500, size="0.3", cliOrdId="resting-sell")
        assert st["status"] == "placed"
        assert (await c.get(D + "/fills")).json()["fills"] == []
        # the index jumps 1% above our ask: the simulated participants lift it at our price
        venue.exchange.engine.base_index["XBT"] = Decimal(ask + 500) * Decimal("1.01")
        venue.exchange.step_market(1)
        fills = (await c.get(D + "/fills")).json()["fills"]
        assert [(f["cliOrdId"], f["fillType"], f["size"], f["price"]) for f in fills] == [
            ("resting-sell", "maker", 0.3, ask + 500)
        ]
        pos = (await c.get(D + "/openpositions")).json()["openPositions"]
        assert pos[0]["side"] == "short" and pos[0]["size"] == 0.3
    finally:
        await c.aclose()

"""Fidelity fixes of the Derivatives WS v1 private feeds (see docs/sandbox-futures-fidelity.md).

open_orders deltas: ``qty`` is what is left of the order, fill-driven removals (``full_fill`` /
``partial_fill``) carry the order object with ``is_cancel: true``, other removals carry
``order_id`` (+ ``cli_ord_id``), a triggered stop is removed (``stop_order_triggered``) and comes
back as ``limit_order_from_stop``; open_orders_verbose also reports failed post-only orders;
``fills`` may be narrowed with ``product_ids`` (echoed in the ack, as in the official example).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sbfut_helpers import FutClient, Reference, Venue, WsClient, sign_challenge

D = "/derivatives/api/v3"


async def private_ws(venue: Venue, c: FutClient, *feeds: str, **extra: Any) -> WsClient:
    ws = await WsClient.connect(venue.ws_url)
    await ws.event("info")
    await ws.send({"event": "challenge", "api_key": c.key})
    ch = (await ws.event("challenge"))["message"]
    creds = {"api_key": c.key, "original_challenge": ch, "signed_challenge": sign_challenge(c.secret, ch)}
    for feed in feeds:
        await ws.send({"event": "subscribe", "feed": feed, **creds, **extra})
        await ws.event("subscribed")
        await ws.feed(feed + "_snapshot" if feed.startswith("open_orders") or feed == "fills" else feed)
    return ws


async def top(c: FutClient, symbol: str = "PF_XBTUSD") -> tuple[Decimal, Decimal]:
    ob = (await c.get(D + "/orderbook", {"symbol": symbol}, auth=False)).json()["orderBook"]
    return Decimal(str(ob["bids"][0][0])), Decimal(str(ob["asks"][0][0]))


async def send(c: FutClient, **params: Any) -> dict[str, Any]:
    base = {"symbol": "PF_XBTUSD", "side": "buy", "orderType": "lmt", "size": "0.01"}
    base.update({k: str(v) for k, v in params.items()})
    body = (await c.post(D + "/sendorder", base)).json()
    assert body["result"] == "success", body
    status: dict[str, Any] = body["sendStatus"]
    return status


async def test_maker_fills_partial_then_full(venue: Venue, ref: Reference) -> None:
    maker = await venue.client()
    taker = await venue.client()
    ws = await private_ws(venue, maker, "open_orders")
    try:
        bid, ask = await top(maker)
        price = ask - 1  # best ask now, above the best bid: rests, and is the first to be taken
        assert price > bid
        oid = (await send(maker, side="sell", limitPrice=price, size="0.05", cliOrdId="mk-1"))["order_id"]
        new = await ws.feed("open_orders", reason="new_placed_order_by_user")
        ref.check_ws("fws_open_orders_delta_new", new)
        assert new["order"]["qty"] == 0.05 and new["order"]["filled"] == 0.0 and new["is_cancel"] is False

        assert (await send(taker, orderType="ioc", limitPrice=price, size="0.02"))["status"] == "placed"
        part = await ws.feed("open_orders", reason="partial_fill")
        ref.check_ws("fws_open_orders_delta_new", part)
        assert part["is_cancel"] is False and part["order"]["order_id"] == oid
        assert part["order"]["qty"] == 0.03 and part["order"]["filled"] == 0.02  # qty = what is left

        assert (await send(taker, orderType="ioc", limitPrice=price, size="0.03"))["status"] == "placed"
        full = await ws.feed("open_orders", reason="full_fill")
        ref.check_ws("fws_open_orders_delta_new", full)
        assert full["is_cancel"] is True and full["order"]["order_id"] == oid
        assert full["order"]["qty"] == 0.0 and full["order"]["filled"] == 0.05
        assert full["order"]["cli_ord_id"] == "mk-1"
    finally:
        await ws.close()
        await maker.aclose()
        await taker.aclose()


async def test_taker_outcomes_and_cancel_removal(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    ws = await private_ws(venue, c, "open_orders")
    try:
        # a market order filled on arrival leaves with full_fill (order object, is_cancel true)
        oid = (await send(c, orderType="mkt", size="0.02"))["order_id"]
        full = await ws.feed("open_orders", reason="full_fill")
        assert full["order"]["order_id"] == oid and full["is_cancel"] is True and full["order"]["qty"] == 0.0
        # an IOC larger than the liquidity under its limit: the rest is discarded with partial_fill
        _bid, ask = await top(c)
        level = (await c.get(D + "/orderbook", {"symbol": "PF_XBTUSD"}, auth=False)).json()["orderBook"]["asks"][0]
        size = Decimal(str(level[1])) + Decimal("0.01")
        oid = (await send(c, orderType="ioc", limitPrice=ask, size=size))["order_id"]
        part = await ws.feed("open_orders", reason="partial_fill")
        assert part["order"]["order_id"] == oid and part["is_cancel"] is True
        assert part["order"]["qty"] == 0.01 and part["order"]["filled"] == float(level[1])
        # a user cancel: order_id and cli_ord_id only
        bid, _ask = await top(c)
        oid = (await send(c, limitPrice=bid - 200, cliOrdId="cx-1"))["order_id"]
        await ws.feed("open_orders", reason="new_placed_order_by_user")
        assert (await c.post(D + "/cancelorder", {"order_id": oid})).json()["cancelStatus"]["status"] == "cancelled"
        cancel = await ws.feed("open_orders", reason="cancelled_by_user")
        ref.check_ws("fws_open_orders_delta_cancel", cancel)
        assert cancel == {
            "feed": "open_orders",
            "order_id": oid,
            "cli_ord_id": "cx-1",
            "is_cancel": True,
            "reason": "cancelled_by_user",
        }
    finally:
        await ws.close()
        await c.aclose()


async def test_verbose_feed_reports_failed_post_only(venue: Venue) -> None:
    c = await venue.client()
    ws = await private_ws(venue, c, "open_orders", "open_orders_verbose")
    try:
        _bid, ask = await top(c)
        rej = await send(c, orderType="post", limitPrice=ask, cliOrdId="po-1")
        assert rej["status"] == "postWouldExecute"
        msg = await ws.feed("open_orders_verbose", reason="post_order_failed_because_it_would_filled")
        assert msg == {
            "feed": "open_orders_verbose",
            "order_id": rej["order_id"],
            "cli_ord_id": "po-1",
            "is_cancel": True,
            "reason": "post_order_failed_because_it_would_filled",
        }
        # the plain open_orders feed does not: the next thing it shows is the following order
        bid, _ask = await top(c)
        await send(c, limitPrice=bid - 300)
        nxt = await ws.feed("open_orders")
        assert nxt["reason"] == "new_placed_order_by_user"
    finally:
        await ws.close()
        await c.aclose()


async def test_stop_trigger_removed_then_limit_from_stop(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    ws = await private_ws(venue, c, "open_orders")
    try:
        bid, _ask = await top(c)
        mark = Decimal(str((await c.get(D + "/tickers/PF_XBTUSD", auth=False)).json()["ticker"]["markPrice"]))
        st = await send(c, orderType="stp", stopPrice=mark + 1000, limitPrice=bid - 2000, cliOrdId="st-1")
        oid = st["order_id"]
        placed = await ws.feed("open_orders", reason="new_placed_order_by_user")
        assert placed["order"]["type"] == "stop" and placed["order"]["stop_price"] == float(mark + 1000)
        # a stop-market trigger has no limit_price (like the official trailing_stop example)
        smkt = await send(c, orderType="stp", side="sell", stopPrice=mark - 5000, reduceOnly="false")
        smsg = await ws.feed("open_orders", reason="new_placed_order_by_user")
        assert smsg["order"]["order_id"] == smkt["order_id"] and "limit_price" not in smsg["order"]

        venue.exchange.set_mark_price("PF_XBTUSD", mark + 1500)
        removed = await ws.feed("open_orders", reason="stop_order_triggered")
        assert removed == {
            "feed": "open_orders",
            "order_id": oid,
            "cli_ord_id": "st-1",
            "is_cancel": True,
            "reason": "stop_order_triggered",
        }
        limit = await ws.feed("open_orders", reason="limit_order_from_stop")
        ref.check_ws("fws_open_orders_delta_new", limit)
        assert limit["is_cancel"] is False and limit["order"]["order_id"] == oid
        assert limit["order"]["type"] == "limit" and limit["order"]["limit_price"] == float(bid - 2000)
    finally:
        await ws.close()
        await c.aclose()


async def test_fills_subscription_with_product_ids(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    ws = await WsClient.connect(venue.ws_url)
    try:
        await ws.event("info")
        await ws.send({"event": "challenge", "api_key": c.key})
        ch = (await ws.event("challenge"))["message"]
        creds = {"api_key": c.key, "original_challenge": ch, "signed_challenge": sign_challenge(c.secret, ch)}
        await ws.send({"event": "subscribe", "feed": "fills", "product_ids": ["PF_NOPEUSD"], **creds})
        assert await ws.event("error") == {"event": "error", "message": "Invalid product id"}
        await ws.send({"event": "subscribe", "feed": "fills", "product_ids": ["PF_ETHUSD"], **creds})
        ack = await ws.event("subscribed")
        ref.check_ws("fws_fills_subscribed", ack)
        assert list(ack) == ["event", "feed", "product_ids", "api_key", "original_challenge", "signed_challenge"]
        assert ack["product_ids"] == ["PF_ETHUSD"]
        assert (await ws.feed("fills_snapshot"))["fills"] == []
        await send(c, orderType="mkt", size="0.01")  # PF_XBTUSD: filtered out
        eth = await send(c, orderType="mkt", symbol="PF_ETHUSD", size="0.1")
        fill = await ws.feed("fills")
        assert [f["order_id"] for f in fill["fills"]] == [eth["order_id"]]
        assert all(f["instrument"] == "PF_ETHUSD" for f in fill["fills"])
        assert not any(m.get("feed") == "fills" for m in ws.pending)
    finally:
        await ws.close()
        await c.aclose()

"""Derivatives WebSocket v1: challenge flow, public and private feeds shaped like the official examples."""

from __future__ import annotations

import asyncio
from typing import Any

from sbfut_helpers import FutClient, Reference, Venue, WsClient, sign_challenge, wait_for

D = "/derivatives/api/v3"


async def authed(venue: Venue, c: FutClient) -> tuple[WsClient, dict[str, str]]:
    ws = await WsClient.connect(venue.ws_url)
    await ws.event("info")
    await ws.send({"event": "challenge", "api_key": c.key})
    ch = await ws.event("challenge")
    creds = {
        "api_key": c.key,
        "original_challenge": ch["message"],
        "signed_challenge": sign_challenge(c.secret, ch["message"]),
    }
    return ws, creds


async def test_info_and_public_feeds(venue: Venue, ref: Reference) -> None:
    ws = await WsClient.connect(venue.ws_url)
    try:
        info = await ws.event("info")
        assert info == {"event": "info", "version": 1}
        # protocol-level ping frames are answered
        pong = await ws.conn.ping()
        await asyncio.wait_for(pong, timeout=3)
        await ws.send({"event": "subscribe", "feed": "book", "product_ids": ["PF_XBTUSD"]})
        sub = await ws.event("subscribed")
        ref.check_ws("fws_book_subscribed", sub)
        assert sub == {"event": "subscribed", "feed": "book", "product_ids": ["PF_XBTUSD"]}
        snap = await ws.feed("book_snapshot")
        ref.check_ws("fws_book_snapshot", snap)
        assert snap["bids"][0]["price"] < snap["asks"][0]["price"]
        await ws.send({"event": "subscribe", "feed": "trade", "product_ids": ["PF_XBTUSD"]})
        ref.check_ws("fws_trade_subscribed", await ws.event("subscribed"))
        tsnap = await ws.feed("trade_snapshot")
        ref.check_ws("fws_trade_snapshot", tsnap)
        seqs = [t["seq"] for t in tsnap["trades"]]
        assert seqs == sorted(seqs, reverse=True) and len(seqs) > 10
        for feed, example in (("ticker", "fws_ticker_perpetual"), ("ticker_lite", "fws_ticker_lite_perpetual")):
            await ws.send({"event": "subscribe", "feed": feed, "product_ids": ["PF_XBTUSD"]})
            ref.check_ws(f"fws_{feed}_subscribed", await ws.event("subscribed"))
            ref.check_ws(example, await ws.feed(feed))
        await ws.send({"event": "subscribe", "feed": "heartbeat"})
        ref.check_ws("fws_heartbeat_subscribed", await ws.event("subscribed"))
        ref.check_ws("fws_heartbeat", await ws.feed("heartbeat", timeout=3))
        # trading by someone else moves the book (seq strictly increasing, no gap) and prints a trade
        c = await venue.client()
        try:
            r = await c.post(D + "/sendorder", {"orderType": "mkt", "symbol": "PF_XBTUSD", "side": "buy", "size": "3"})
            assert r.json()["sendStatus"]["status"] == "placed"
        finally:
            await c.aclose()
        trade = await ws.feed("trade")
        ref.check_ws("fws_trade_delta", trade)
        assert trade["seq"] > seqs[0] and trade["side"] == "buy"
        deltas = [await ws.feed("book") for _ in range(3)]
        for d in deltas:
            ref.check_ws("fws_book_delta", d)
        got = [snap["seq"], *[d["seq"] for d in deltas]]
        assert got == list(range(snap["seq"], snap["seq"] + 4)), got
        await ws.send({"event": "unsubscribe", "feed": "book", "product_ids": ["PF_XBTUSD"]})
        assert (await ws.event("unsubscribed"))["feed"] == "book"
    finally:
        await ws.close()


async def test_errors(venue: Venue, ref: Reference) -> None:
    ws = await WsClient.connect(venue.ws_url)
    try:
        await ws.event("info")
        await ws.send("this is not json")
        ref.check_ws("fws_error_json", await ws.event("error"))
        await ws.send({"event": "subscribe", "feed": "nope", "product_ids": ["PF_XBTUSD"]})
        err = await ws.event("error")
        assert err == {"event": "error", "message": "Invalid feed"}
        await ws.send({"event": "subscribe", "feed": "book", "product_ids": ["PF_NOPE"]})
        assert await ws.event("error") == {"event": "error", "message": "Invalid product id"}
        # private feed without a valid signed challenge
        c = await venue.client()
        await ws.send({"event": "challenge", "api_key": c.key})
        ch = await ws.event("challenge")
        bad = sign_challenge(c.secret, ch["message"] + "x")
        await ws.send(
            {
                "event": "subscribe",
                "feed": "fills",
                "api_key": c.key,
                "original_challenge": ch["message"],
                "signed_challenge": bad,
            }
        )
        assert (await ws.event("error"))["event"] == "error"
        await c.aclose()
    finally:
        await ws.close()


async def test_private_feeds_follow_rest_orders(venue: Venue, ref: Reference) -> None:
    c = await venue.client()
    ws, creds = await authed(venue, c)
    try:
        ref.check_ws("fws_challenge_response", {"event": "challenge", "message": creds["original_challenge"]})
        for feed in (
            "open_orders",
            "fills",
            "open_positions",
            "balances",
            "account_log",
            "notifications_auth",
            "open_orders_verbose",
        ):
            await ws.send({"event": "subscribe", "feed": feed, **creds})
            ack = await ws.event("subscribed")
            assert ack["feed"] == feed and ack["api_key"] == c.key
            ref.check_ws("fws_open_orders_subscribed", ack)
        ref.check_ws("fws_open_orders_snapshot", await ws.feed("open_orders_snapshot"))
        ref.check_ws("fws_open_orders_snapshot", await ws.feed("open_orders_verbose_snapshot"))
        fills_snap = await ws.feed("fills_snapshot")
        assert fills_snap["fills"] == []
        pos = await ws.feed("open_positions")
        assert pos["positions"] == []
        bal = await ws.feed("balances_snapshot")
        assert bal["flex_futures"]["currencies"]["USD"]["quantity"] == 100000.0
        ref.check_ws("fws_balances_delta_flex", bal)
        await ws.feed("account_log_snapshot")
        ref.check_ws("fws_notifications_auth_snapshot", await ws.feed("notifications_auth"))

        # a resting order over REST shows up on open_orders
        ob = (await c.get(D + "/orderbook", {"symbol": "PF_XBTUSD"}, auth=False)).json()["orderBook"]
        price = ob["bids"][0][0] - 100
        r = await c.post(
            D + "/sendorder",
            {
                "orderType": "lmt",
                "symbol": "PF_XBTUSD",
                "side": "buy",
                "size": "0.01",
                "limitPrice": str(price),
                "cliOrdId": "ws-1",
            },
        )
        oid = r.json()["sendStatus"]["order_id"]
        new = await ws.feed("open_orders")
        ref.check_ws("fws_open_orders_delta_new", new)
        assert new["order"]["order_id"] == oid and new["order"]["cli_ord_id"] == "ws-1"
        assert new["order"]["direction"] == 0 and new["reason"] == "new_placed_order_by_user"
        await c.post(D + "/cancelorder", {"order_id": oid})
        cancel = await ws.feed("open_orders", order_id=oid)
        ref.check_ws("fws_open_orders_delta_cancel", cancel)
        assert cancel["is_cancel"] is True and cancel["reason"] == "cancelled_by_user"

        # an execution: fills, open_positions, balances, account_log
        r = await c.post(
            D + "/sendorder",
            {"orderType": "mkt", "symbol": "PF_XBTUSD", "side": "buy", "size": "0.02", "cliOrdId": "ws-2"},
        )
        assert r.json()["sendStatus"]["status"] == "placed"
        fill_msg = await ws.feed("fills")
        fill: dict[str, Any] = fill_msg["fills"][0]
        ref.check_ws("fws_fills_snapshot", {**fill_msg, "feed": "fills_snapshot", "account": "x"})
        assert fill["buy"] is True and fill["qty"] == 0.02 and fill["fill_type"] == "taker"
        assert fill["cli_ord_id"] == "ws-2"
        positions = await ws.next_where(lambda m: m.get("feed") == "open_positions" and m["positions"])
        ref.check_ws("fws_open_positions_snapshot", positions)
        assert positions["positions"][0]["instrument"] == "PF_XBTUSD" and positions["positions"][0]["balance"] == 0.02
        delta = await ws.feed("balances")
        ref.check_ws("fws_balances_delta_flex", delta)
        assert delta["flex_futures"]["initial_margin"] > 0
        assert delta["seq"] > bal["seq"]
        log_entry = await ws.feed("account_log")
        ref.check_ws("fws_account_log_new_entry", log_entry)
        assert log_entry["new_entry"]["info"] == "futures trade"

        # an admin notification reaches notifications_auth
        venue.exchange.add_notification("maintenance at noon", "maintenance", "high")
        note = await ws.feed("notifications_auth")
        assert note["notifications"][0]["note"] == "maintenance at noon"
        # fills snapshot after trading, on a fresh subscription
        await ws.send({"event": "unsubscribe", "feed": "fills", **creds})
        assert (await ws.event("unsubscribed"))["feed"] == "fills"
        await ws.send({"event": "subscribe", "feed": "fills", **creds})
        await ws.event("subscribed")
        snap = await ws.feed("fills_snapshot")
        ref.check_ws("fws_fills_snapshot", snap)
        assert [f["cli_ord_id"] for f in snap["fills"]] == ["ws-2"]
    finally:
        await ws.close()
        await c.aclose()


async def test_registry_and_faults(venue: Venue) -> None:
    c = await venue.client()
    ws = await WsClient.connect(venue.ws_url)
    try:
        await ws.event("info")
        reg = venue.ctx.ws_registry
        await wait_for(lambda: len(reg.connections("derivativesPublicV1")) == 1)
        await ws.send({"event": "challenge", "api_key": c.key})
        await ws.event("challenge")
        assert len(reg.connections("derivativesPrivateV1")) == 1
        conn = reg.connections("derivativesPrivateV1")[0]
        conn.inject_text("CloudFlare WebSocket proxy restarting")
        raw = await ws.next_where(lambda m: "_raw" in m)
        assert raw["_raw"] == "CloudFlare WebSocket proxy restarting"
        conn.abort()
        closed = False
        try:
            await ws.next_where(lambda m: False, timeout=3)
        except AssertionError:
            raise
        except Exception:  # connection closed abruptly
            closed = True
        assert closed
        await wait_for(lambda: len(reg.connections()) == 0)
    finally:
        await ws.close()
        await c.aclose()

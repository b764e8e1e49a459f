"""Spot WebSocket v2 of the sandbox against the official examples, with an independent book checksum."""

from __future__ import annotations

import asyncio
import json
import zlib
from decimal import Decimal
from typing import Any

import pytest
import websockets
from sandbox_testkit import ack, assert_shape, is_, load_ws, recv, token

from krakenkit_sandbox import Sandbox

D = Decimal


def _crc(asks: list[tuple[D, D]], bids: list[tuple[D, D]], pp: int, qp: int) -> int:
    """Independent checksum: the README rule written out again."""

    def tok(v: D, p: int) -> str:
        return str(v.quantize(D(1).scaleb(-p))).replace(".", "").lstrip("0")

    s = "".join(tok(p, pp) + tok(q, qp) for p, q in asks[:10]) + "".join(tok(p, pp) + tok(q, qp) for p, q in bids[:10])
    return zlib.crc32(s.encode())


async def test_status_ping_and_public_channels() -> None:
    async with Sandbox(seed=1, market=False) as sb, websockets.connect(sb.ws_urls["spotPublicV2"]) as ws:
        status = await recv(ws, is_("status"))
        assert_shape(status, load_ws("ws2_status_update.json")[0])
        await ws.send(json.dumps({"method": "ping", "req_id": 101}))
        assert_shape(await recv(ws, ack("pong")), load_ws("ws2_pong.json")[0])
        extras: list[tuple[str, dict[str, Any]]] = [
            ("ticker", {}),
            ("trade", {"snapshot": True}),
            ("ohlc", {"interval": 5}),
            ("book", {}),
        ]
        for channel, extra in extras:
            await ws.send(
                json.dumps({"method": "subscribe", "params": {"channel": channel, "symbol": ["BTC/USD"], **extra}})
            )
            a = await recv(ws, ack("subscribe"))
            ack_file = {
                "ticker": "ws2_ticker_subscribe_ack.json",
                "trade": "ws2_trade_subscribe_ack.json",
                "ohlc": "ws2_ohlc_subscribe_ack.jsonl",
                "book": "ws2_book_subscribe_ack.jsonl",
            }[channel]
            assert_shape(a, load_ws(ack_file)[0])
            if channel in ("ticker", "book"):
                snap = await recv(ws, is_(channel, "snapshot"))
                assert_shape(snap, load_ws(f"ws2_{channel}_snapshot.json")[0])
        sb.take("BTC/USD", "buy", "0.5")
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < 4:
            m = await recv(ws, lambda m: m.get("type") == "update")
            seen.setdefault(m["channel"], m)
        for channel in ("trade", "ohlc", "ticker", "book"):
            assert_shape(seen[channel], load_ws(f"ws2_{channel}_update.json")[0])
        await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "instrument"}, "req_id": 79}))
        assert_shape(await recv(ws, ack("subscribe")), load_ws("ws2_instrument_subscribe_ack.json")[0])
        assert_shape(await recv(ws, is_("instrument", "snapshot")), load_ws("ws2_instrument_snapshot.json")[0])
        await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "book", "symbol": ["NOPE/USD"]}}))
        err = await recv(ws, ack("subscribe"))
        assert err["success"] is False and "error" in err
        assert_shape(await recv(ws, is_("heartbeat"), timeout=3), load_ws("ws2_heartbeat.json")[0])


@pytest.mark.parametrize("depth", [10, 25])
async def test_book_checksums_verify_independently(depth: int) -> None:
    async with Sandbox(seed=7, market=False) as sb, websockets.connect(sb.ws_urls["spotPublicV2"]) as ws:
        await ws.send(
            json.dumps({"method": "subscribe", "params": {"channel": "book", "symbol": ["DOGE/USD"], "depth": depth}})
        )
        snap = (await recv(ws, is_("book", "snapshot")))["data"][0]
        bids = {D(str(x["price"])): D(str(x["qty"])) for x in snap["bids"]}
        asks = {D(str(x["price"])): D(str(x["qty"])) for x in snap["asks"]}
        assert len(bids) == depth and len(asks) == depth

        def check(expected: int) -> None:
            a = sorted(asks.items())[:10]
            b = sorted(bids.items(), reverse=True)[:10]
            assert _crc(a, b, 7, 8) == expected

        check(snap["checksum"])
        updates = 0
        sb.market_tick(60)
        sb.take("DOGE/USD", "sell", "300000")
        while True:
            try:
                m = await recv(ws, is_("book", "update"), timeout=0.5)
            except TimeoutError:
                break
            d = m["data"][0]
            for side, book in (("bids", bids), ("asks", asks)):
                for lv in d[side]:
                    p, q = D(str(lv["price"])), D(str(lv["qty"]))
                    if q == 0:
                        book.pop(p, None)
                    else:
                        book[p] = q
            for p in sorted(bids, reverse=True)[depth:]:
                del bids[p]
            for p in sorted(asks)[depth:]:
                del asks[p]
            check(d["checksum"])
            updates += 1
        assert updates >= 10
        sb.faults.corrupt_next_checksum("DOGE/USD")
        sb.take("DOGE/USD", "buy", "2000")
        bad = (await recv(ws, is_("book", "update")))["data"][0]
        for side, book in (("bids", bids), ("asks", asks)):
            for lv in bad[side]:
                p, q = D(str(lv["price"])), D(str(lv["qty"]))
                book.pop(p, None) if q == 0 else book.__setitem__(p, q)
        for p in sorted(bids, reverse=True)[depth:]:
            del bids[p]
        for p in sorted(asks)[depth:]:
            del asks[p]
        with pytest.raises(AssertionError):
            check(bad["checksum"])


async def test_level3_checksum() -> None:
    async with Sandbox(seed=2, market=False) as sb:
        k, s = sb.create_key()
        tok = await token(sb, k, s)
        async with websockets.connect(sb.ws_urls["spotL3V2"]) as ws:
            await ws.send(
                json.dumps(
                    {"method": "subscribe", "params": {"channel": "level3", "symbol": ["BTC/USD"], "token": tok}}
                )
            )
            assert_shape(await recv(ws, ack("subscribe")), load_ws("ws2_level3_subscribe_ack.jsonl")[0])
            snap = await recv(ws, is_("level3", "snapshot"))
            assert_shape(snap, load_ws("ws2_level3_snapshot.json")[0])
            d = snap["data"][0]

            def levels(orders: list[dict[str, Any]]) -> list[list[tuple[D, D]]]:
                out: list[list[tuple[D, D]]] = []
                last = None
                for o in orders:
                    p = D(str(o["limit_price"]))
                    if p != last:
                        out.append([])
                        last = p
                    out[-1].append((p, D(str(o["order_qty"]))))
                return out

            def tok_(v: D, p: int) -> str:
                return str(v.quantize(D(1).scaleb(-p))).replace(".", "").lstrip("0")

            text = "".join(tok_(p, 1) + tok_(q, 8) for lv in levels(d["asks"])[:10] for p, q in lv)
            text += "".join(tok_(p, 1) + tok_(q, 8) for lv in levels(d["bids"])[:10] for p, q in lv)
            assert zlib.crc32(text.encode()) == d["checksum"]
            sb.take("BTC/USD", "buy", "0.3")
            upd = await recv(ws, is_("level3", "update"))
            assert_shape(upd, load_ws("ws2_level3_update.json")[0])
        async with websockets.connect(sb.ws_urls["spotL3V2"]) as ws:
            await ws.send(
                json.dumps(
                    {"method": "subscribe", "params": {"channel": "level3", "symbol": ["BTC/USD"], "token": "bogus"}}
                )
            )
            assert (await recv(ws, ack("subscribe")))["success"] is False


async def test_private_trading_and_executions() -> None:
    async with Sandbox(seed=4, market=False) as sb:
        k, s = sb.create_key()
        tok = await token(sb, k, s)
        async with websockets.connect(sb.ws_urls["spotPrivateV2"]) as ws:
            await ws.send(
                json.dumps(
                    {
                        "method": "subscribe",
                        "params": {"channel": "executions", "token": tok, "snap_orders": True, "snap_trades": True},
                    }
                )
            )
            assert_shape(await recv(ws, ack("subscribe")), load_ws("ws2_executions_subscribe_ack.json")[0])
            snap = await recv(ws, is_("executions", "snapshot"))
            assert snap["sequence"] == 1 and snap["data"] == []
            await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "balances", "token": tok}}))
            assert_shape(await recv(ws, ack("subscribe")), load_ws("ws2_balances_subscribe_ack.json")[0])
            assert_shape(await recv(ws, is_("balances", "snapshot")), load_ws("ws2_balances_snapshot.json")[0])
            req = {
                "method": "add_order",
                "params": {
                    "order_type": "limit",
                    "side": "buy",
                    "limit_price": 65000.0,
                    "order_userref": 3,
                    "order_qty": 0.01,
                    "symbol": "BTC/USD",
                    "token": tok,
                },
                "req_id": 123456789,
            }
            await ws.send(json.dumps(req))
            res = await recv(ws, ack("add_order"))
            assert_shape(res, load_ws("ws2_add_order_response.json")[0])
            oid = res["result"]["order_id"]
            pend = await recv(ws, is_("executions", "update"))
            assert_shape(pend, load_ws("ws2_executions_update_pending_new.json")[0])
            seqs = [pend["sequence"]]
            new = await recv(ws, is_("executions", "update"))
            assert_shape(new, load_ws("ws2_executions_update_new.json")[0])
            assert new["sequence"] == pend["sequence"] + 1 and new["data"][0]["order_status"] == "new"
            # take the order: a participant sells into it
            sb.take("BTC/USD", "sell", "0.01")
            trade = await recv(
                ws, lambda m: m.get("channel") == "executions" and any(r.get("exec_type") == "trade" for r in m["data"])
            )
            seqs.append(trade["sequence"])
            row = next(r for r in trade["data"] if r["exec_type"] == "trade")
            assert_shape({**trade, "data": [row]}, load_ws("ws2_executions_update_trade.json")[0])
            assert row["order_id"] == oid and row["liquidity_ind"] == "m"
            assert_shape(await recv(ws, is_("balances", "update")), load_ws("ws2_balances_update_trade.jsonl")[0])
            assert seqs == sorted(seqs) and seqs[0] >= 2
            # cancel by cl_ord_id, amend, edit, batch
            await ws.send(
                json.dumps(
                    {
                        "method": "add_order",
                        "params": {
                            "order_type": "limit",
                            "side": "buy",
                            "limit_price": 50000.0,
                            "order_qty": 0.01,
                            "symbol": "BTC/USD",
                            "cl_ord_id": "2c6be801-1f53-4f79-a0bb-4ea1c95dfae9",
                            "token": tok,
                        },
                    }
                )
            )
            oid2 = (await recv(ws, ack("add_order")))["result"]["order_id"]
            await ws.send(
                json.dumps(
                    {
                        "method": "amend_order",
                        "params": {
                            "cl_ord_id": "2c6be801-1f53-4f79-a0bb-4ea1c95dfae9",
                            "limit_price": 50001.0,
                            "order_qty": 0.02,
                            "token": tok,
                        },
                    }
                )
            )
            assert_shape(await recv(ws, ack("amend_order")), load_ws("ws2_amend_order_response.json")[0])
            await ws.send(
                json.dumps(
                    {
                        "method": "edit_order",
                        "params": {"order_id": oid2, "order_qty": 0.03, "symbol": "BTC/USD", "token": tok},
                        "req_id": 1234567890,
                    }
                )
            )
            edit = await recv(ws, ack("edit_order"))
            assert_shape(edit, load_ws("ws2_edit_order_response.json")[0])
            oid3 = edit["result"]["order_id"]
            await ws.send(
                json.dumps(
                    {
                        "method": "cancel_order",
                        "params": {"order_id": [oid3, "OXXXXX-XXXXX-XXXXXX"], "token": tok},
                        "req_id": 123456789,
                    }
                )
            )
            c1 = await recv(ws, ack("cancel_order"))
            assert_shape(c1, load_ws("ws2_cancel_order_response.jsonl")[0])
            c2 = await recv(ws, ack("cancel_order"))
            assert c2["success"] is False and c2["error"] == "EOrder:Unknown order"
            await ws.send(
                json.dumps(
                    {
                        "method": "batch_add",
                        "params": {
                            "symbol": "BTC/USD",
                            "token": tok,
                            "orders": [
                                {
                                    "limit_price": 40000.0,
                                    "order_qty": 0.01,
                                    "order_type": "limit",
                                    "order_userref": 1,
                                    "side": "buy",
                                },
                                {
                                    "limit_price": 40001.0,
                                    "order_qty": 0.01,
                                    "order_type": "limit",
                                    "order_userref": 2,
                                    "side": "buy",
                                },
                            ],
                        },
                        "req_id": 1234567890,
                    }
                )
            )
            batch = await recv(ws, ack("batch_add"))
            assert_shape(batch, load_ws("ws2_batch_add_response.json")[0])
            ids = [r["order_id"] for r in batch["result"]]
            await ws.send(
                json.dumps({"method": "batch_cancel", "params": {"orders": ids, "token": tok}, "req_id": 1234567890})
            )
            assert_shape(await recv(ws, ack("batch_cancel")), load_ws("ws2_batch_cancel_response.json")[0])
            await ws.send(
                json.dumps(
                    {
                        "method": "cancel_all_orders_after",
                        "params": {"timeout": 100, "token": tok},
                        "req_id": 1234567890,
                    }
                )
            )
            assert_shape(
                await recv(ws, ack("cancel_all_orders_after")), load_ws("ws2_cancel_all_orders_after_response.json")[0]
            )
            await ws.send(json.dumps({"method": "cancel_all", "params": {"token": tok}, "req_id": 1234567890}))
            assert_shape(await recv(ws, ack("cancel_all")), load_ws("ws2_cancel_all_response.json")[0])
            await ws.send(
                json.dumps(
                    {
                        "method": "add_order",
                        "params": {
                            "order_type": "limit",
                            "side": "buy",
                            "limit_price": 60000.0,
                            "order_qty": 1000,
                            "symbol": "BTC/USD",
                            "token": tok,
                        },
                    }
                )
            )
            e = await recv(ws, ack("add_order"))
            assert e["success"] is False and e["error"] == "EOrder:Insufficient funds"
            await ws.send(
                json.dumps(
                    {
                        "method": "add_order",
                        "params": {
                            "order_type": "limit",
                            "side": "buy",
                            "limit_price": 60000.0,
                            "order_qty": 0.01,
                            "symbol": "BTC/USD",
                            "token": "not-a-token",
                        },
                    }
                )
            )
            assert (await recv(ws, ack("add_order")))["success"] is False


async def test_ws_faults_drop_stall_non_json_status() -> None:
    async with Sandbox(seed=1, market=False) as sb:
        async with websockets.connect(sb.ws_urls["spotPublicV2"]) as ws:
            await recv(ws, is_("status"))
            sb.faults.send_non_json("spotPublicV2")
            assert await asyncio.wait_for(ws.recv(), 5) == "CloudFlare WebSocket proxy restarting"
            sb.faults.set_system_status("maintenance")
            st = await recv(ws, is_("status"))
            assert st["data"][0]["system"] == "maintenance"
            sb.faults.set_system_status("online")
            sb.faults.drop_ws_connections("spotPublicV2")
            with pytest.raises(websockets.ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 5)
            assert info.value.rcvd is None  # no close frame: abrupt drop (1006)
        async with websockets.connect(sb.ws_urls["spotPublicV2"]) as ws:
            await recv(ws, is_("status"))
            await ws.send(json.dumps({"method": "subscribe", "params": {"channel": "ticker", "symbol": ["BTC/USD"]}}))
            await recv(ws, is_("ticker", "snapshot"))
            sb.faults.stall_ws()
            await ws.send(json.dumps({"method": "ping", "req_id": 1}))
            with pytest.raises(TimeoutError):
                await recv(ws, timeout=2.0)  # no pong, no heartbeat
            assert ws.state is websockets.protocol.State.OPEN

"""Derivatives v1 feeds (public + challenge-authenticated private) and live books, against the sandbox."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from ws_testkit import Recorder

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import MissingCredentialsError, SequenceGapError
from krakenkit.sandbox import Sandbox
from krakenkit.ws import Backoff, WebsocketAPIClient, WebsocketClient

DPUB = WS_KEY_MAP.derivativesPublicV1
DPRIV = WS_KEY_MAP.derivativesPrivateV1
PUB = WS_KEY_MAP.spotPublicV2
L3 = WS_KEY_MAP.spotL3V2
FAST = Backoff(first_jitter=0.01, base=0.05, max_delay=0.5)


def futures_ws_requests(sb: Sandbox, event: str) -> list[dict[str, Any]]:
    return [
        r["params"] for r in sb.requests if r["transport"] == "ws" and r["method"] == event and r["path"] == "/ws/v1"
    ]


async def test_public_futures_feeds(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment)
    rec = Recorder(ws)
    async with ws:
        acks = await asyncio.wait_for(
            asyncio.gather(
                ws.subscribe({"topic": "ticker", "payload": {"product_ids": ["PF_XBTUSD"]}}, DPUB),
                ws.subscribe({"topic": "trade", "payload": {"product_ids": ["PF_XBTUSD"]}}, DPUB),
                ws.subscribe("heartbeat", DPUB),
            ),
            5,
        )
        assert [a[0]["event"] for a in acks] == ["subscribed"] * 3
        await rec.wait("message", DPUB, where=lambda e: e.channel == "ticker")
        await rec.wait("message", DPUB, where=lambda e: e.channel == "trade_snapshot")


async def test_private_futures_feeds_rechallenge_after_reconnect(sb: Sandbox) -> None:
    fkey, fsecret = sb.create_futures_key()
    ws = WebsocketClient(
        futures_api_key=fkey, futures_api_secret=fsecret, environment=sb.environment, reconnect_backoff=FAST
    )
    rec = Recorder(ws)
    feeds = ["open_orders", "fills", "balances", "open_positions", "account_log", "notifications_auth"]
    async with ws:
        await asyncio.wait_for(asyncio.gather(*(ws.subscribe(f, DPRIV) for f in feeds)), 5)
        await rec.wait("authenticated", DPRIV)
        first = ws.connection(DPRIV).challenge
        subs_before = len(futures_ws_requests(sb, "subscribe"))
        sb.faults.drop_ws_connections()
        await rec.wait("reconnected", DPRIV)
        auths = rec.of("authenticated", DPRIV)
        assert len(auths) == 2 and {a.method for a in auths} == {"challenge"}
        assert len(futures_ws_requests(sb, "challenge")) == 2
        second = ws.connection(DPRIV).challenge
        assert second and second != first
        resent = futures_ws_requests(sb, "subscribe")[subs_before:]
        assert sorted(r["feed"] for r in resent) == sorted(feeds)  # each exactly once
        assert {r["original_challenge"] for r in resent} == {second}
        # fresh snapshots on both connections (2 feeds x 2 sessions)
        await rec.wait(
            "message", DPRIV, count=4, where=lambda e: e.channel in ("open_orders_snapshot", "fills_snapshot")
        )


async def test_spot_books_resync_only_the_corrupted_symbol(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment, reconnect_backoff=FAST)
    rec = Recorder(ws)
    async with ws:
        btc = ws.book("BTC/USD", depth=10)
        eth = ws.book("ETH/USD", depth=10)
        await asyncio.wait_for(asyncio.gather(btc.ready(), eth.ready()), 10)
        bid, ask = btc.best_bid, btc.best_ask
        assert bid is not None and ask is not None and bid[0] < ask[0]
        updates: list[str] = []
        btc.on_update(lambda b: updates.append(b.symbol))
        sb.faults.corrupt_next_checksum("BTC/USD")
        (ev,) = await rec.wait("book_resync", PUB, timeout=10)
        assert ev.symbol == "BTC/USD" and ev.reason == "checksum_mismatch"
        await asyncio.wait_for(btc.ready(), 10)
        assert btc.resyncs == 1 and eth.resyncs == 0 and eth.is_ready
        unsubs = [
            r["params"]["params"]
            for r in sb.requests
            if r["transport"] == "ws" and r["method"] == "unsubscribe" and r["path"] == PUB
        ]
        assert [u["symbol"] for u in unsubs] == [["BTC/USD"]]
        await rec.wait("message", PUB, where=lambda e: e.channel == "book")
        await asyncio.wait_for(_until(lambda: bool(updates)), 10)


async def _until(pred: Any) -> None:
    while not pred():
        await asyncio.sleep(0.01)


async def test_derivatives_book_ready_and_seq_gap_resyncs(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment)
    rec = Recorder(ws)
    async with ws:
        book = ws.book("PF_XBTUSD")
        await asyncio.wait_for(book.ready(), 10)
        assert book.best_bid is not None
        seq = book.sequence
        assert seq is not None
        gap = {
            "feed": "book",
            "product_id": "PF_XBTUSD",
            "side": "buy",
            "seq": seq + 5,
            "price": 1,
            "qty": 1,
            "timestamp": 1,
        }
        ws._frame_hook(DPUB, gap, b"")  # what the reader does with a frame that skips sequence numbers
        (ev,) = await rec.wait("book_resync", DPUB)
        assert ev.reason == "sequence_gap" and isinstance(ev.error, SequenceGapError)
        assert not book.is_ready
        await asyncio.wait_for(book.ready(), 10)
        assert book.resyncs == 1


async def test_books_are_not_ready_while_disconnected_and_come_back(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment, reconnect_backoff=FAST)
    rec = Recorder(ws)
    async with ws:
        btc = ws.book("BTC/USD", depth=10, price_precision=1, qty_precision=8)
        await asyncio.wait_for(btc.ready(), 10)
        sb.faults.drop_ws_connections(PUB)
        await rec.wait("close", PUB)
        assert not btc.is_ready  # stale data is not served as current
        await rec.wait("reconnected", PUB)
        await asyncio.wait_for(btc.ready(), 10)
        assert btc.best_bid is not None and btc.resyncs == 0


async def test_stalled_derivatives_connection_is_detected_and_reconnected(sb: Sandbox) -> None:
    """No feed subscribed: only protocol pings keep the connection alive, so a stalled server (which
    answers nothing, pings included, like a half-open socket) must be noticed by staleness."""
    ws = WebsocketClient(environment=sb.environment, staleness_timeout=0.6, ping_interval=0.15, reconnect_backoff=FAST)
    rec = Recorder(ws)
    async with ws:
        await ws.connect(DPUB, timeout=5)
        conn = ws.connection(DPUB)
        live = conn.liveness
        assert live is not None
        opened = live.last_rx
        # idle but answered: pongs keep it fresh past one staleness window
        await asyncio.wait_for(_until(lambda: live.last_rx > opened + 0.7), 5)
        assert rec.of("reconnecting", DPUB) == []
        t0 = time.monotonic()
        sb.faults.stall_ws(DPUB)
        (ev,) = await rec.wait("reconnecting", DPUB, timeout=3)
        elapsed = time.monotonic() - t0
        assert ev.reason.startswith("stale")
        assert elapsed <= 0.6 + 0.5
        await rec.wait("open", DPUB, count=2, timeout=5)
        assert conn.connects == 2


async def test_level3_book_ready_resyncs_on_corrupted_checksum_and_tracks_own_orders(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    ws = WebsocketClient(key, secret, environment=sb.environment, reconnect_backoff=FAST)
    rec = Recorder(ws)
    async with ws:
        book = ws.book("BTC/USD", depth=10, level3=True)
        assert ws.l3_book("BTC/USD") is book and book.level3 and book.ws_key == L3
        await asyncio.wait_for(book.ready(), 10)
        bid, ask = book.best_bid, book.best_ask
        assert bid is not None and ask is not None and bid[0] < ask[0]
        orders = book.bid_orders(1)
        assert orders and all(o.price == bid[0] for o in orders)
        assert sum(o.qty for o in orders) == bid[1]  # the L2 view is the sum of the L3 queue
        # an own order joins the back of the best bid's queue
        api = WebsocketAPIClient(ws_client=ws)
        placed = await api.submit_spot_order(
            order_type="limit", side="buy", symbol="BTC/USD", order_qty="0.01", limit_price=bid[0], post_only=True
        )
        await asyncio.wait_for(_until(lambda: book.order(placed.order_id) is not None), 10)
        pos = book.queue_position(placed.order_id)
        assert pos is not None and pos[0] >= len(orders) - 1
        # a corrupted level3 checksum: not ready, book_resync, resubscribe of that symbol, ready again
        sb.faults.corrupt_next_checksum("BTC/USD")
        (ev,) = await rec.wait("book_resync", L3, timeout=10)
        assert ev.symbol == "BTC/USD" and ev.reason == "checksum_mismatch"
        await asyncio.wait_for(book.ready(), 10)
        assert book.resyncs == 1
        unsubs = [
            r["params"]["params"]
            for r in sb.requests
            if r["transport"] == "ws" and r["method"] == "unsubscribe" and r["path"] == L3
        ]
        assert [(u["channel"], u["symbol"]) for u in unsubs] == [("level3", ["BTC/USD"])]
        assert book.order(placed.order_id) is not None  # still there after the fresh snapshot
        # a dropped connection: not ready until the reconnect's snapshot (with a fresh token)
        sb.faults.drop_ws_connections(L3)
        await rec.wait("close", L3)
        assert not book.is_ready
        await rec.wait("reconnected", L3, timeout=10)
        await asyncio.wait_for(book.ready(), 10)
        assert book.resyncs == 1 and len(rec.of("authenticated", L3)) == 2


async def test_level3_book_needs_spot_credentials(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment)
    async with ws:
        with pytest.raises(MissingCredentialsError):
            ws.book("BTC/USD", level3=True)
        assert ws._books == {}  # nothing half-registered

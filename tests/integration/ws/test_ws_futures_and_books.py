"""Derivatives v1 feeds (public + challenge-authenticated private) and live books, against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import SequenceGapError
from krakenkit.sandbox import Sandbox
from krakenkit.ws import Backoff, WebsocketClient
from krakenkit.ws.events import WsEvent

DPUB = WS_KEY_MAP.derivativesPublicV1
DPRIV = WS_KEY_MAP.derivativesPrivateV1
PUB = WS_KEY_MAP.spotPublicV2
FAST = Backoff(first_jitter=0.01, base=0.05, max_delay=0.5)


class Recorder:
    def __init__(self, ws: WebsocketClient) -> None:
        self.events: list[WsEvent] = []
        self._cond = asyncio.Condition()
        for name in ("open", "authenticated", "message", "response", "reconnecting", "reconnected",
                     "exception", "close", "book_resync"):
            ws.on(name, self._on)

    async def _on(self, ev: WsEvent) -> None:
        async with self._cond:
            self.events.append(ev)
            self._cond.notify_all()

    def of(self, name: str, ws_key: str | None = None) -> list[Any]:
        return [e for e in self.events if e.name == name and (ws_key is None or e.ws_key == ws_key)]

    async def wait(self, name: str, ws_key: str | None = None, *, count: int = 1, timeout: float = 5.0,
                   where: Any = None) -> list[Any]:
        def matching() -> list[Any]:
            return [e for e in self.of(name, ws_key) if where is None or where(e)]

        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: len(matching()) >= count), timeout)
        return matching()


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=1, rate_limits=False) as sandbox:
        yield sandbox


def futures_ws_requests(sb: Sandbox, event: str) -> list[dict[str, Any]]:
    return [r["params"] for r in sb.requests if r["transport"] == "ws" and r["method"] == event
            and r["path"] == "/ws/v1"]


async def test_public_futures_feeds(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment)
    rec = Recorder(ws)
    async with ws:
        acks = await asyncio.wait_for(asyncio.gather(
            ws.subscribe({"topic": "ticker", "payload": {"product_ids": ["PF_XBTUSD"]}}, DPUB),
            ws.subscribe({"topic": "trade", "payload": {"product_ids": ["PF_XBTUSD"]}}, DPUB),
            ws.subscribe("heartbeat", DPUB),
        ), 5)
        assert [a[0]["event"] for a in acks] == ["subscribed"] * 3
        await rec.wait("message", DPUB, where=lambda e: e.channel == "ticker")
        await rec.wait("message", DPUB, where=lambda e: e.channel == "trade_snapshot")


async def test_private_futures_feeds_rechallenge_after_reconnect(sb: Sandbox) -> None:
    fkey, fsecret = sb.create_futures_key()
    ws = WebsocketClient(futures_api_key=fkey, futures_api_secret=fsecret, environment=sb.environment,
                         reconnect_backoff=FAST)
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
        await rec.wait("message", DPRIV, count=4,
                       where=lambda e: e.channel in ("open_orders_snapshot", "fills_snapshot"))


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
        unsubs = [r["params"]["params"] for r in sb.requests
                  if r["transport"] == "ws" and r["method"] == "unsubscribe" and r["path"] == PUB]
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
        gap = {"feed": "book", "product_id": "PF_XBTUSD", "side": "buy", "seq": seq + 5, "price": 1, "qty": 1,
               "timestamp": 1}
        ws._book_hook(DPUB, gap, b"")  # what the reader does with a frame that skips sequence numbers
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

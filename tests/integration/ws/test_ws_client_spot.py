"""WebsocketClient against the sandbox (Spot v2): events, reconnects, staleness, garbage frames."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from ws_testkit import Recorder

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import InvalidResponseError, KrakenAPIError, SymbolFormatError
from krakenkit.sandbox import Sandbox
from krakenkit.ws import Backoff, WebsocketClient

PUB = WS_KEY_MAP.spotPublicV2
PRIV = WS_KEY_MAP.spotPrivateV2
FAST = Backoff(first_jitter=0.01, base=0.05, max_delay=0.5)


def ws_subscribes(sb: Sandbox, ws_key: str, method: str = "subscribe") -> list[dict[str, Any]]:
    return [
        r["params"]["params"]
        for r in sb.requests
        if r["transport"] == "ws" and r["method"] == method and r["path"] == ws_key
    ]


def token_calls(sb: Sandbox) -> int:
    return sum(1 for r in sb.requests if r["path"].endswith("/GetWebSocketsToken"))


async def test_events_fire_on_subscribe_and_messages_are_decimal(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment, reconnect_backoff=FAST)
    rec = Recorder(ws)
    async with ws:
        acks = await asyncio.wait_for(
            ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD", "ETH/USD"]}}, PUB), 5
        )
        assert sorted(a["result"]["symbol"] for a in acks) == ["BTC/USD", "ETH/USD"]
        (opened,) = await rec.wait("open", PUB)
        assert opened.url == sb.ws_urls[PUB] and not opened.reconnect
        await rec.wait("response", PUB, count=2)
        ticks = await rec.wait("message", PUB, where=lambda e: e.channel == "ticker")
        assert isinstance(ticks[0].data["data"][0]["last"], Decimal)
    closes = rec.of("close", PUB)
    assert closes and closes[-1].final


async def test_wrong_symbol_form_is_refused_before_sending(sb: Sandbox) -> None:
    async with WebsocketClient(environment=sb.environment) as ws:
        for bad in ("XBTUSD", "PF_XBTUSD"):
            with pytest.raises(SymbolFormatError):
                ws.subscribe({"topic": "ticker", "payload": {"symbol": [bad]}}, PUB)
        with pytest.raises(SymbolFormatError):
            ws.subscribe({"topic": "ticker", "payload": {"product_ids": ["BTC/USD"]}}, WS_KEY_MAP.derivativesPublicV1)
        assert ws.subscriptions(PUB) == []
    assert ws_subscribes(sb, PUB) == []


async def test_rejected_subscription_raises_mapped_error_and_emits_exception(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment)
    rec = Recorder(ws)
    async with ws:
        with pytest.raises(KrakenAPIError) as info:
            await asyncio.wait_for(ws.subscribe({"topic": "ticker", "payload": {"symbol": ["NOPE/USD"]}}, PUB), 5)
        assert "NOPE/USD" in str(info.value)
        (exc,) = await rec.wait("exception", PUB)
        assert exc.error is info.value
        assert ws.subscriptions(PUB) == []


async def test_drop_brings_back_same_subscriptions_with_a_fresh_token(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    ws = WebsocketClient(key, secret, environment=sb.environment, reconnect_backoff=FAST)
    rec = Recorder(ws)
    async with ws:
        await asyncio.wait_for(
            asyncio.gather(
                ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB),
                ws.subscribe({"topic": "book", "payload": {"symbol": ["ETH/USD"], "depth": 25}}, PUB),
                ws.subscribe({"topic": "executions", "payload": {"snap_orders": True, "snap_trades": False}}, PRIV),
                ws.subscribe("balances", PRIV),
            ),
            5,
        )
        token_before = ws.connection(PRIV).token
        assert token_calls(sb) == 1
        before_pub, before_priv = ws_subscribes(sb, PUB), ws_subscribes(sb, PRIV)

        sb.faults.drop_ws_connections()
        await rec.wait("reconnected", PUB)
        await rec.wait("reconnected", PRIV)

        reasons = [e.reason for e in rec.of("reconnecting")]
        assert reasons and all("1006" in r or "lost" in r for r in reasons)
        after_pub, after_priv = ws_subscribes(sb, PUB)[len(before_pub) :], ws_subscribes(sb, PRIV)[len(before_priv) :]
        assert sorted(map(repr, after_pub)) == sorted(map(repr, before_pub))  # same parameters
        strip = [{k: v for k, v in p.items() if k != "token"} for p in before_priv]
        assert sorted(map(repr, strip)) == sorted(
            map(repr, [{k: v for k, v in p.items() if k != "token"} for p in after_priv])
        )
        assert token_calls(sb) == 2  # a fresh GetWebSocketsToken per connection
        assert ws.connection(PRIV).token not in (None, token_before)
        assert len(rec.of("authenticated", PRIV)) == 2
        # data flows again on the new connections
        n = len(rec.of("message", PUB))
        await rec.wait("message", PUB, count=n + 1)


async def test_stalled_connection_is_detected_within_the_staleness_window(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment, staleness_timeout=0.6, ping_interval=0.2, reconnect_backoff=FAST)
    rec = Recorder(ws)
    async with ws:
        await asyncio.wait_for(ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB), 5)
        t0 = time.monotonic()
        sb.faults.stall_ws(PUB)
        (ev,) = await rec.wait("reconnecting", PUB, timeout=3)
        elapsed = time.monotonic() - t0
        assert ev.reason.startswith("stale")
        assert 0.5 <= elapsed <= 0.6 + 0.5
        await rec.wait("reconnected", PUB)
        assert ws.subscriptions(PUB)[0]["acked"]


async def test_non_json_frame_is_survived(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment)
    rec = Recorder(ws)
    async with ws:
        await asyncio.wait_for(ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB), 5)
        connects = ws.connection(PUB).connects
        sb.faults.send_non_json(PUB)
        (exc,) = await rec.wait("exception", PUB)
        assert isinstance(exc.error, InvalidResponseError)
        assert exc.raw == b"CloudFlare WebSocket proxy restarting"
        n = len(rec.of("message", PUB))
        await rec.wait("message", PUB, count=n + 1)  # still streaming on the same socket
        assert ws.connection(PUB).connects == connects
        assert rec.of("reconnecting") == [] and rec.of("close") == []


async def test_unsubscribed_topic_stays_gone_after_reconnect(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment, reconnect_backoff=FAST)
    rec = Recorder(ws)
    async with ws:
        await asyncio.wait_for(ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD", "ETH/USD"]}}, PUB), 5)
        await asyncio.wait_for(ws.unsubscribe({"topic": "ticker", "payload": {"symbol": ["ETH/USD"]}}, PUB), 5)
        n = len(ws_subscribes(sb, PUB))
        sb.faults.drop_ws_connections(PUB)
        await rec.wait("reconnected", PUB)
        resent = ws_subscribes(sb, PUB)[n:]
        assert [p["symbol"] for p in resent] == [["BTC/USD"]]


async def test_hundred_drops_leave_one_subscription_per_topic_and_no_leaks(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment, reconnect_backoff=FAST, connect_budget=(500, 60.0))
    rec = Recorder(ws)
    async with ws:
        await asyncio.wait_for(
            asyncio.gather(
                ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB),
                ws.subscribe({"topic": "trade", "payload": {"symbol": ["BTC/USD"]}}, PUB),
                ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB),  # duplicate
            ),
            5,
        )
        tasks_before = len(asyncio.all_tasks())
        for i in range(100):
            sb.faults.drop_ws_connections(PUB)
            await rec.wait("reconnected", PUB, count=i + 1)
        per_topic: dict[tuple[str, str], int] = defaultdict(int)
        for p in ws_subscribes(sb, PUB):
            for s in p.get("symbol", []):
                per_topic[(p["channel"], s)] += 1
        assert dict(per_topic) == {("ticker", "BTC/USD"): 101, ("trade", "BTC/USD"): 101}
        assert [(s["topic"], s["symbol"], s["acked"]) for s in ws.subscriptions(PUB)] == [
            ("ticker", "BTC/USD", True),
            ("trade", "BTC/USD", True),
        ]
        assert len(sb.ctx.ws_registry.connections(PUB)) == 1  # no leaked sockets
        assert len(asyncio.all_tasks()) <= tasks_before  # no leaked tasks
        downs = [e.downtime for e in rec.of("reconnected", PUB)]
        assert sorted(downs)[50] < 0.5


async def test_stream_iterates_messages_of_one_key(sb: Sandbox) -> None:
    async with WebsocketClient(environment=sb.environment) as ws:
        ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB)
        got = []

        async def take() -> None:
            async for ev in ws.stream(PUB):
                got.append(ev)
                if ev.channel == "ticker":
                    return

        await asyncio.wait_for(take(), 5)
        assert got[-1].ws_key == PUB and got[-1].data["data"][0]["symbol"] == "BTC/USD"


async def test_handlers_may_be_decorators_sync_or_async_and_failures_become_exception_events(sb: Sandbox) -> None:
    ws = WebsocketClient(environment=sb.environment)
    rec = Recorder(ws)
    seen: list[str] = []

    @ws.on("message")
    def boom(ev: Any) -> None:
        seen.append(ev.channel)
        raise RuntimeError("handler bug")

    async with ws:
        await asyncio.wait_for(ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB), 5)
        exc = (await rec.wait("exception", PUB))[0]
        assert isinstance(exc.error, RuntimeError)
        await rec.wait("message", PUB, count=2)
        assert len(seen) >= 2


async def test_full_queue_drops_oldest_market_data_and_warns() -> None:
    async with Sandbox(seed=1, rate_limits=False, fast_mode=True) as sb:
        ws = WebsocketClient(environment=sb.environment, max_queue=50)
        release = asyncio.Event()
        warned = asyncio.Event()
        fulls: list[Any] = []

        @ws.on("message")
        async def slow(ev: Any) -> None:
            await release.wait()

        @ws.on("queue_full")
        def on_full(ev: Any) -> None:  # delivered at once, even while the queue is stuck
            fulls.append(ev)
            warned.set()

        async with ws:
            ws.subscribe({"topic": "book", "payload": {"symbol": ["BTC/USD"], "depth": 10}}, PUB)
            await asyncio.wait_for(warned.wait(), 10)
            release.set()
            full = fulls[0]
            assert full.policy == "drop_oldest" and full.max_queue == 50
            assert ws.connection(PUB).dropped_messages > 0
            assert len(ws.connection(PUB)._queue) <= 52


async def test_connect_failures_back_off_and_report_each_attempt() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    backoff = Backoff(first_jitter=0.0, base=0.02, factor=2, max_delay=0.08, jitter=0.0)
    ws = WebsocketClient(ws_urls={PUB: f"ws://127.0.0.1:{port}/v2"}, reconnect_backoff=backoff)
    rec = Recorder(ws)
    async with ws:
        ws.subscribe("heartbeat", PUB)
        evs = await rec.wait("reconnecting", PUB, count=4)
        assert [e.attempt for e in evs[:4]] == [1, 2, 3, 4]
        assert [e.delay for e in evs[:4]] == pytest.approx([0.02, 0.04, 0.08, 0.08])
        assert all(e.reason.startswith("connect failed") for e in evs)
        errs = rec.of("exception", PUB)
        assert errs and all(getattr(e.error, "retry_safe", False) for e in errs)
    assert ws.subscriptions(PUB)[0]["topic"] == "heartbeat"  # still wanted, never acked


def test_run_forever_for_scripts() -> None:
    with Sandbox(seed=1, rate_limits=False) as sandbox:
        ws = WebsocketClient(environment=sandbox.environment)
        got: list[Any] = []

        @ws.on("message")
        def on_message(ev: Any) -> None:
            if ev.channel == "ticker":
                got.append(ev)
                asyncio.get_running_loop().create_task(ws.close())

        acks = ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB)  # outside any loop
        ws.run_forever()
        assert got and got[0].data["data"][0]["symbol"] == "BTC/USD"
        assert acks.done() and acks.result()[0]["result"]["symbol"] == "BTC/USD"
        assert ws.closed


async def test_tls_off_warns_once_per_client_even_with_its_token_client(sb: Sandbox) -> None:
    """verify=False reaches the REST client that fetches the token too; the user hears of it once, from the
    line that built the WebSocket client."""
    import warnings

    from krakenkit import InsecureTransportWarning

    key, secret = sb.create_key()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ws = WebsocketClient(key, secret, environment=sb.environment, network_options={"verify": False})
        async with ws:
            await asyncio.wait_for(ws.subscribe("executions", PRIV), 5)
            assert token_calls(sb) == 1  # the token client was built and used
    mine = [w for w in caught if issubclass(w.category, InsecureTransportWarning)]
    assert len(mine) == 1 and mine[0].filename == __file__ and "verify=False" in str(mine[0].message)

"""Order safety on the WebSocket side, against the sandbox: deadlines on the wire, trading replies that never
wait behind an unread stream or a stuck handler, snapshots that reach a stream opened after subscribing,
subscriptions that are never acknowledged, and garbage frames that cost nothing but an event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ws_testkit import Recorder

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import APITimeoutError, InvalidResponseError, KrakenError
from krakenkit.sandbox import Sandbox
from krakenkit.ws import Backoff, MessageEvent, QueueFullEvent, StreamOverflowError, WebsocketAPIClient, WebsocketClient

PUB = WS_KEY_MAP.spotPublicV2
PRIV = WS_KEY_MAP.spotPrivateV2
FAST = Backoff(first_jitter=0.01, base=0.05, max_delay=0.5)
LIMIT = {"order_type": "limit", "side": "buy", "symbol": "BTC/USD", "order_qty": "0.001", "limit_price": "1000"}
BATCH_ORDER = {k: v for k, v in LIMIT.items() if k != "symbol"}  # a batch names its symbol once


def ws_logged(sb: Sandbox, method: str) -> list[dict[str, Any]]:
    return [r for r in sb.requests if r["transport"] == "ws" and r["method"] == method]


async def first_of(stream: AsyncIterator[MessageEvent], channel: str) -> MessageEvent:
    """The first message of ``channel`` (Kraken opens every connection with a ``status`` message)."""
    async for ev in stream:
        if ev.channel == channel:
            return ev
    raise AssertionError(f"stream ended before any {channel} message")


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def test_orders_and_amends_carry_a_deadline_and_the_callers_own_wins(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    async with WebsocketAPIClient(key, secret, environment=sb.environment, order_deadline=20) as api:
        ws = api.ws
        await api.submit_spot_order(**LIMIT, cl_ord_id="dl-1")
        assert ws.server_clock.measured  # learned from the reply's time_in / time_out
        await api.amend_spot_order(cl_ord_id="dl-1", limit_price="1001")
        await api.batch_submit_spot_orders(
            symbol="BTC/USD", orders=[{**BATCH_ORDER, "cl_ord_id": "dl-2"}, dict(BATCH_ORDER)]
        )
        own = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        await api.submit_spot_order(**LIMIT, cl_ord_id="dl-3", deadline=own)
        # the low-level path: with a client id it gets one, without it goes as given
        await ws.request(PRIV, "add_order", {**LIMIT, "cl_ord_id": "dl-4"})
        await ws.request(PRIV, "add_order", dict(LIMIT))
        await api.cancel_spot_order(cl_ord_id="dl-1")

        adds, amends, batches = ws_logged(sb, "add_order"), ws_logged(sb, "amend_order"), ws_logged(sb, "batch_add")
        auto = [adds[0], amends[0], batches[0], adds[2]]
        for r in auto:
            left = _ts(r["params"]["params"]["deadline"]) - r["time"]
            assert 19.0 < left <= 20.5, (r["method"], left)  # order_deadline=20 from sending, Kraken's clock
        assert adds[1]["params"]["params"]["deadline"] == own
        assert "deadline" not in adds[3]["params"]["params"]
        assert "deadline" not in ws_logged(sb, "cancel_order")[0]["params"]["params"]
        assert all(not r["errors"] for r in adds + amends + batches)  # the sandbox took every deadline


async def test_an_unread_private_stream_never_holds_up_trading_replies(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    ws = WebsocketClient(key, secret, environment=sb.environment, max_queue=4)
    overflows: list[QueueFullEvent] = []
    ws.on("queue_full", overflows.append)
    async with ws, WebsocketAPIClient(ws_client=ws) as api:
        await asyncio.wait_for(ws.subscribe("executions", PRIV), 5)
        unread = ws.stream(PRIV)  # opened, never read: it fills past max_queue with executions
        ids = []
        for i in range(6):  # each order adds executions messages on the same connection
            res = await asyncio.wait_for(api.submit_spot_order(**LIMIT, cl_ord_id=f"hol-{i}", timeout=3), 5)
            ids.append(res.order_id)
        assert all(ids) and len(set(ids)) == 6
        assert [e.policy for e in overflows] == ["stream_overflow"] and overflows[0].max_queue == 4
        assert ws.connection(PRIV).connects == 1
        # the stream hands over what it held, then says it was closed
        held: list[MessageEvent] = []
        with pytest.raises(StreamOverflowError):
            async for ev in unread:
                held.append(ev)
        assert len(held) == 4  # from the start: the status message and the executions snapshot first
        assert [(e.channel, e.data["type"]) for e in held[:2]] == [("status", "update"), ("executions", "snapshot")]
        # what came since was kept for the next stream: the executions of the last orders
        later = ws.stream(PRIV)
        ev = await asyncio.wait_for(anext(later), 5)
        assert ev.channel == "executions"


async def test_a_stuck_message_handler_never_holds_up_trading_replies(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    ws = WebsocketClient(key, secret, environment=sb.environment, max_queue=4)
    release = asyncio.Event()
    overflows: list[QueueFullEvent] = []

    @ws.on("message")
    async def stuck(ev: Any) -> None:
        await release.wait()

    ws.on("queue_full", overflows.append)
    try:
        async with ws, WebsocketAPIClient(ws_client=ws) as api:
            await asyncio.wait_for(ws.subscribe("executions", PRIV), 5)
            for i in range(6):
                res = await asyncio.wait_for(api.submit_spot_order(**LIMIT, cl_ord_id=f"stuck-{i}", timeout=3), 5)
                assert res.order_id
            assert [e.policy for e in overflows] == ["drop_oldest"]
            assert ws.connection(PRIV).dropped_messages > 0
            release.set()
    finally:
        release.set()


async def test_a_stream_opened_right_after_subscribe_sees_the_snapshot(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    async with WebsocketAPIClient(key, secret, environment=sb.environment) as api:
        placed = await api.submit_spot_order(**LIMIT, cl_ord_id="snap-1")
    ws = WebsocketClient(key, secret, environment=sb.environment)
    seen: list[Any] = []
    ws.on("message", seen.append)  # a handler sees the snapshot too; the stream must still get it
    async with ws:
        await asyncio.wait_for(ws.subscribe("executions", PRIV), 5)  # the order docs/websockets.md teaches
        first = await asyncio.wait_for(first_of(ws.stream(PRIV), "executions"), 5)
        assert first.channel == "executions" and first.data["type"] == "snapshot"
        assert [row["order_id"] for row in first.data["data"]] == [placed.order_id]
        assert any(ev.data is first.data for ev in seen)

        await asyncio.wait_for(ws.subscribe({"topic": "ticker", "payload": {"symbol": ["ETH/USD"]}}, PUB), 5)
        tick = await asyncio.wait_for(first_of(ws.stream(PUB), "ticker"), 5)
        assert tick.channel == "ticker" and tick.data["type"] == "snapshot"

        await asyncio.wait_for(ws.subscribe({"topic": "book", "payload": {"symbol": ["BTC/USD"]}}, PUB), 5)
        live = ws.stream(PUB, replay=False)  # live messages only: the book snapshot already came
        nxt = await asyncio.wait_for(first_of(live, "book"), 5)
        assert nxt.data["type"] == "update"


async def test_a_subscribe_the_server_never_acknowledges_ends_within_its_timeout(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    ws = WebsocketClient(key, secret, environment=sb.environment, reconnect_backoff=FAST, staleness_timeout=30)
    rec = Recorder(ws)
    async with ws:
        await ws.connect(PRIV)
        conn = ws.connection(PRIV)
        sb.faults.stall_ws(PRIV)  # the server reads nothing and answers nothing
        with pytest.raises(APITimeoutError) as info:
            await asyncio.wait_for(ws.subscribe("executions", PRIV, timeout=0.3), 3)
        assert info.value.endpoint == "subscribe" and "not acknowledged within 0.3s" in str(info.value)
        assert conn.pending_requests == 0 and conn.protocol.subs.waiting == 0
        assert [s["topic"] for s in ws.subscriptions(PRIV)] == ["executions"]  # still wanted
        # after a reconnect it is sent again and acknowledged
        sb.faults.drop_ws_connections(PRIV)
        (back,) = await rec.wait("reconnected", PRIV)
        assert back.resubscribed == 1 and ws.subscriptions(PRIV)[0]["acked"]
        assert conn.pending_requests == 0


@pytest.mark.parametrize(
    ("garbage", "error"),
    [
        ("[" * 100_000, InvalidResponseError),  # nested too deep to decode
        ('{"a":' * 50_000, InvalidResponseError),
        ('{"channel":"ticker","data":', InvalidResponseError),  # truncated
        ("\x00\x01 not json", InvalidResponseError),
        ('{"method":"subscribe","result":7}', KrakenError),  # an ack of no known shape
    ],
)
async def test_garbage_frames_cost_an_exception_event_and_keep_the_connection(
    sb: Sandbox, garbage: str, error: type[KrakenError]
) -> None:
    ws = WebsocketClient(environment=sb.environment)
    rec = Recorder(ws)
    async with ws:
        await asyncio.wait_for(ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB), 5)
        conn = ws.connection(PUB)
        sb.faults.send_non_json(PUB, garbage)
        (exc,) = await rec.wait("exception", PUB)
        assert isinstance(exc.error, error) and exc.raw == garbage.encode()
        pong = await asyncio.wait_for(ws.request(PUB, "ping", {}), 5)  # the same socket still answers
        assert pong[0]["method"] == "pong"
        assert conn.connects == 1 and rec.of("reconnecting") == [] and rec.of("close") == []

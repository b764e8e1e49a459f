"""Order safety on the WebSocket side, without sockets: bounded waiters, unknown outcomes that carry
their ids, deadlines refused before sending, Kraken's clock read from replies, streams that never
hold the reader back, frames that cannot be decoded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from krakenkit import WS_KEY_MAP
from krakenkit._core import jsonutil
from krakenkit._core.deadline import ServerClock
from krakenkit._core.errors import (
    APITimeoutError,
    ConnectionLostError,
    InvalidResponseError,
    OrderOutcomeUnknownError,
    ValidationError,
)
from krakenkit.ws import StreamOverflowError, WebsocketAPIClient, WebsocketClient
from krakenkit.ws.client import _Stream
from krakenkit.ws.connection import ConnectionOptions, WsConnection
from krakenkit.ws.events import ExceptionEvent, MessageEvent, WsEvent
from krakenkit.ws.protocol_common import ConnectBudget, normalize_requests
from krakenkit.ws.protocol_spot import SpotProtocol, client_order_ids

KEY, SECRET = "K" * 56, "c2VjcmV0LWtleS1mb3ItdGVzdHM="
PUB = WS_KEY_MAP.spotPublicV2
PRIV = WS_KEY_MAP.spotPrivateV2
TICKER = normalize_requests({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}})


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- subscriptions -----------------------------------------------------------------------------------


def test_an_expired_subscribe_waiter_is_gone_and_a_repeated_subscribe_sends_again() -> None:
    p = SpotProtocol(PUB)
    p.on_ready()  # connected
    wid, frames, now = p.subscribe(TICKER)
    assert len(frames) == 1 and now == [] and p.subs.waiting == 1
    _, again, _ = p.subscribe(TICKER)
    assert again == []  # sent and waiting for its ack: not sent twice

    p.subs.expire(wid)  # the caller's timeout
    assert p.subs.waiting == 1  # the second caller still waits
    assert [k.channel for k in p.subs.topics] == ["ticker"]  # still wanted
    _, retry, _ = p.subscribe(TICKER)
    assert len(retry) == 1 and retry[0]["params"]["symbol"] == ["BTC/USD"]  # a retry goes over the wire

    # the subscription was sent on this session, so an unsubscribe must go over the wire too
    uwid, unsub, _ = p.unsubscribe(TICKER)
    assert [f["method"] for f in unsub] == ["unsubscribe"]
    p.subs.expire(uwid)
    assert p.subs.unsub_waiters == {}


# --- requests that get no answer ---------------------------------------------------------------------


def _pending(p: SpotProtocol, method: str, params: dict[str, Any], **kw: Any) -> tuple[int, Any]:
    frame = p.api_request(method, params, waiter_id=1, **kw)
    req_id = frame["req_id"]
    return req_id, p.request_record(req_id)


def test_an_unanswered_order_is_an_unknown_outcome_carrying_its_ids_and_no_token() -> None:
    p = SpotProtocol(PRIV)
    p.token = "SECRET-TOKEN"
    dl = "2030-01-01T00:00:10.000Z"
    req_id, rec = _pending(p, "add_order", {"order_type": "market", "cl_ord_id": "cl-1", "deadline": dl})
    err = p.unanswered_error(req_id, rec, "got no reply within 1.0s")
    assert type(err) is OrderOutcomeUnknownError
    assert err.cl_ord_id == "cl-1" and err.context["req_id"] == req_id and err.context["deadline"] == dl
    assert err.request == {"order_type": "market", "cl_ord_id": "cl-1", "deadline": dl}
    assert "cl-1" in str(err) and "SECRET-TOKEN" not in f"{err!s} {err!r} {err.context!r}"

    lost = p.unanswered_error(req_id, rec, "was in flight", lost=True)
    assert isinstance(lost, ConnectionLostError) and isinstance(lost, OrderOutcomeUnknownError)
    assert lost.cl_ord_id == "cl-1" and lost.req_id == req_id

    b_id, b_rec = _pending(
        p, "batch_add", {"symbol": "BTC/USD", "orders": [{"cl_ord_id": "a"}, {"cl_ord_id": "b"}, {"order_userref": 3}]}
    )
    batch = p.unanswered_error(b_id, b_rec, "got no reply")
    assert isinstance(batch, OrderOutcomeUnknownError)
    assert batch.context["cl_ord_ids"] == ["a", "b"] and batch.cl_ord_id is None

    ping_id, ping_rec = _pending(p, "ping", {})
    ping = p.unanswered_error(ping_id, ping_rec, "got no reply")
    assert type(ping) is APITimeoutError  # not an order: a plain timeout


def test_a_lost_connection_fails_orders_in_flight_with_their_deadline() -> None:
    p = SpotProtocol(PRIV)
    p.token = "t"
    p.api_request("amend_order", {"cl_ord_id": "x", "deadline": "D"}, waiter_id=9)
    (out,) = p.on_connection_lost("connection lost (code 1006)")
    assert out.waiter_id == 9 and isinstance(out.error, ConnectionLostError)
    assert out.error.cl_ord_id == "x" and out.error.context["deadline"] == "D" and p.pending_requests == 0


def test_client_order_ids_of_a_request() -> None:
    assert client_order_ids({"cl_ord_id": "a"}) == ["a"]
    assert client_order_ids({"cl_ord_id": ["a", "b"]}, "a") == ["a", "b"]
    assert client_order_ids({"orders": [{"cl_ord_id": "c"}, "OABC-123"]}) == ["c"]
    assert client_order_ids({"order_id": "O1"}) == []


# --- deadlines refused locally -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, 1, 2, 61, "10", True])
def test_order_deadline_option_outside_krakens_range_is_refused(bad: Any) -> None:
    with pytest.raises(ValidationError) as info:
        WebsocketClient(order_deadline=bad)
    assert info.value.field == "order_deadline"
    with pytest.raises(ValidationError):
        WebsocketAPIClient(KEY, SECRET, order_deadline=bad)


def test_timeouts_and_replay_options_are_checked() -> None:
    for kwargs in ({"request_timeout": 0}, {"request_timeout": -1}, {"stream_replay": -1}):
        with pytest.raises(ValidationError):
            WebsocketClient(**kwargs)
    with pytest.raises(ValidationError) as info:
        WebsocketClient().subscribe("heartbeat", PUB, timeout=0)
    assert info.value.field == "timeout"
    assert WebsocketAPIClient(KEY, SECRET, order_deadline=30).order_deadline == 30.0
    assert WebsocketAPIClient(KEY, SECRET).order_deadline == 10.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: "2001-01-01T00:00:00Z",  # passed
        lambda: "soon",
        lambda: datetime.now(UTC) + timedelta(seconds=120),  # beyond Kraken's 60 s
        lambda: datetime.now(UTC) + timedelta(seconds=1),  # under Kraken's 2 s
        lambda: datetime.now() + timedelta(seconds=20),  # no time zone
    ],
    ids=["passed", "not-a-time", "beyond-60s", "under-2s", "naive"],
)
async def test_a_callers_deadline_kraken_would_refuse_is_refused_before_anything_is_sent(make: Any) -> None:
    deadline = make()  # made when the test runs, not at collection (a relative time would go stale)
    api = WebsocketAPIClient(KEY, SECRET)
    order = {"order_type": "limit", "side": "buy", "symbol": "BTC/USD", "order_qty": "1", "limit_price": "1"}
    with pytest.raises(ValidationError) as info:
        await api.submit_spot_order(**order, cl_ord_id="c1", deadline=deadline)
    assert info.value.field == "deadline"
    with pytest.raises(ValidationError):
        await api.batch_submit_spot_orders(symbol="BTC/USD", orders=[order, order], deadline=deadline)
    with pytest.raises(ValidationError):
        await api.amend_spot_order(cl_ord_id="c1", limit_price="2", deadline=deadline)
    with pytest.raises(ValidationError):
        await api.ws.request(PRIV, "add_order", {**order, "deadline": deadline})
    assert api.ws._connections == {}  # no connection was even opened


# --- Kraken's clock from replies ---------------------------------------------------------------------


def _conn(ws_key: str, max_queue: int = 100) -> tuple[WsConnection, list[WsEvent]]:
    seen: list[WsEvent] = []
    conn = WsConnection(ws_key, "ws://x", ConnectionOptions(max_queue=max_queue), seen.append, ConnectBudget())
    return conn, seen


def test_time_in_and_time_out_of_a_reply_set_the_server_clock() -> None:
    conn, _ = _conn(PUB)
    clock = conn.server_clock = ServerClock()
    conn._note_sent({"method": "ping", "req_id": 7})
    server = time.time() + 100.0  # Kraken's clock runs 100 s ahead of ours
    pong = {"method": "pong", "req_id": 7, "time_in": _rfc3339(server), "time_out": _rfc3339(server + 0.001)}
    conn.on_frame(jsonutil.dumps(pong))
    assert clock.measured and clock.offset == pytest.approx(100.0, abs=0.1) and clock.uncertainty < 0.1
    assert conn._sent_at == {}
    # a reply to nothing we timed (or without times) teaches nothing
    other = ServerClock()
    conn.server_clock = other
    conn.on_frame(jsonutil.dumps({**pong, "req_id": 8}))
    conn._note_sent({"method": "ping", "req_id": 9})
    conn.on_frame(b'{"method":"pong","req_id":9,"time_in":"garbage"}')
    assert not other.measured


# --- frames that cannot be decoded -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"\xff\xfe\x00", b'{"channel":"ticker"', b""],
)
def test_undecodable_frames_become_exception_events_and_never_raise(raw: bytes) -> None:
    conn, _ = _conn(PUB)
    conn.on_frame(raw)  # runs inside the socket's data_received: must not raise
    (event,) = [ev for ev, _ in conn._queue]
    assert isinstance(event, ExceptionEvent) and isinstance(event.error, InvalidResponseError)
    assert event.raw == raw


# --- streams never make the reader wait --------------------------------------------------------------


async def test_a_full_private_stream_is_closed_with_an_error_after_what_it_held() -> None:
    s = _Stream(PRIV, 3, droppable=False)
    assert all(s.put(MessageEvent(PRIV, {"i": i})) for i in range(3))
    assert not s.put(MessageEvent(PRIV, {"i": 3}))  # overflow: closed, the producer never waits
    assert not s.put(MessageEvent(PRIV, {"i": 4}))
    got = [(await s.get()).data["i"] for _ in range(3)]  # type: ignore[union-attr]
    assert got == [0, 1, 2]
    with pytest.raises(StreamOverflowError):
        await s.get()


async def test_a_full_public_stream_drops_its_oldest_message() -> None:
    s = _Stream(PUB, 2, droppable=True)
    assert all(s.put(MessageEvent(PUB, {"i": i})) for i in range(5))
    assert s.dropped == 3
    s.close()
    got = []
    while (ev := await s.get()) is not None:
        got.append(ev.data["i"])
    assert got == [3, 4]


async def test_one_overflowing_stream_costs_the_other_streams_nothing_and_unread_messages_are_kept() -> None:
    ws = WebsocketClient(max_queue=10, stream_replay=3)
    slow, fast = _Stream(PRIV, 1, droppable=False), _Stream(PRIV, 10, droppable=False)
    ws._streams[PRIV] = [slow, fast]
    for i in range(3):
        ws._to_streams(MessageEvent(PRIV, {"i": i}))
    assert ws._streams[PRIV] == [fast] and slow.error is not None
    assert [(await fast.get()).data["i"] for _ in range(3)] == [0, 1, 2]  # type: ignore[union-attr]
    assert PRIV not in ws._parked  # taken by a stream: nothing kept
    ws._streams[PRIV] = []
    for i in range(3, 8):
        ws._to_streams(MessageEvent(PRIV, {"i": i}))
    assert [e.data["i"] for e in ws._parked[PRIV]] == [5, 6, 7]  # the newest stream_replay

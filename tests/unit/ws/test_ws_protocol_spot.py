"""Spot v2 protocol state machine fed with Kraken's official example frames (no sockets)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kraken_reference import REFERENCE
from krakenkit._core import jsonutil
from krakenkit._core.environment import WS_KEY_MAP
from krakenkit._core.errors import (
    ConnectionLostError,
    InsufficientFundsError,
    KrakenAPIError,
    SymbolFormatError,
    ValidationError,
)
from krakenkit._core.secrets import Secret
from krakenkit.ws._wire import encode_frame
from krakenkit.ws.protocol_common import normalize_requests
from krakenkit.ws.protocol_spot import FrameKind, SpotProtocol

REF = REFERENCE / "ws-v2-examples"


def frames(name: str) -> list[Any]:
    text = (REF / name).read_text()
    if name.endswith(".jsonl"):
        return [jsonutil.loads(line) for line in text.splitlines() if line.strip()]
    return [jsonutil.loads(text)]


def without_req_id(msg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in msg.items() if k != "req_id"}


def wire(f: Any) -> Any:
    """What goes on the wire (the token is a Secret until then)."""
    return jsonutil.loads(encode_frame(f))


def resolved(outcomes: list[Any]) -> dict[int, Any]:
    return {o.waiter_id: (o.value if o.error is None else o.error) for o in outcomes}


def test_subscribe_builds_the_official_request_and_matches_per_symbol_acks() -> None:
    p = SpotProtocol()
    p.subs.take_unsent()  # connected
    wid, out, imm = p.subscribe(normalize_requests({"topic": "book", "payload": {"symbol": ["ALGO/USD", "MATIC/USD"]}}))
    assert imm == []
    assert len(out) == 1
    official = frames("ws2_book_subscribe.json")[0]
    assert without_req_id(out[0]) == official
    assert isinstance(out[0]["req_id"], int)
    # the official acks carry no req_id: matched by method + channel + symbol
    acks = frames("ws2_book_subscribe_ack.jsonl")
    f1 = p.on_frame(acks[0])
    assert f1.kind == FrameKind.ACK and f1.outcomes == []  # one symbol still outstanding
    f2 = p.on_frame(acks[1])
    got = resolved(f2.outcomes)
    assert got == {wid: acks}
    assert all(t.acked for t in p.subs.topics.values())


def test_acks_with_req_id_are_matched_by_req_id() -> None:
    p = SpotProtocol()
    p.subs.take_unsent()
    wid, out, _ = p.subscribe(normalize_requests({"topic": "instrument"}))
    assert without_req_id(out[0]) == {"method": "subscribe", "params": {"channel": "instrument"}}
    ack = dict(frames("ws2_instrument_subscribe_ack.json")[0])
    ack["req_id"] = out[0]["req_id"]
    assert resolved(p.on_frame(ack).outcomes) == {wid: [ack]}


def test_equal_requests_are_deduplicated_and_resolved_from_the_first_ack() -> None:
    p = SpotProtocol()
    p.subs.take_unsent()
    w1, out1, _ = p.subscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": ["ALGO/USD"]}}))
    w2, out2, _ = p.subscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": "ALGO/USD"}}))
    assert len(out1) == 1 and out2 == []  # nothing sent twice
    ack = frames("ws2_ticker_subscribe_ack.json")[0]
    assert set(resolved(p.on_frame(ack).outcomes)) == {w1, w2}
    w3, out3, imm = p.subscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": ["ALGO/USD"]}}))
    assert out3 == [] and resolved(imm) == {w3: [ack]}
    assert len(p.subs.topics) == 1


def test_subscriptions_made_while_disconnected_are_sent_when_ready() -> None:
    p = SpotProtocol()
    _wid, out, _ = p.subscribe(
        normalize_requests(
            [
                {"topic": "ohlc", "payload": {"symbol": ["ALGO/USD", "MATIC/USD"], "interval": 5}},
                "heartbeat",
            ]
        )
    )
    assert out == []
    sent = p.on_ready()
    by_channel = {f["params"]["channel"]: without_req_id(f) for f in sent}
    assert by_channel["ohlc"] == frames("ws2_ohlc_subscribe.json")[0]
    assert by_channel["heartbeat"] == {"method": "subscribe", "params": {"channel": "heartbeat"}}
    assert p.on_ready() == []  # each topic once per session


def test_reconnect_resends_every_active_topic_exactly_once_and_unsubscribed_stays_gone() -> None:
    p = SpotProtocol()
    p.subs.take_unsent()
    p.subscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": ["ALGO/USD", "ETH/USD"]}}))
    p.subscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": ["ALGO/USD"]}}))
    p.subscribe(normalize_requests({"topic": "trade", "payload": {"symbol": ["MATIC/USD"], "snapshot": True}}))
    _, unsub, _ = p.unsubscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": ["ETH/USD"]}}))
    assert [f["params"]["symbol"] for f in unsub] == [["ETH/USD"]]
    for _ in range(3):
        p.on_connection_lost()
        sent = p.on_ready()
        pairs = sorted((f["params"]["channel"], s) for f in sent for s in f["params"]["symbol"])
        assert pairs == [("ticker", "ALGO/USD"), ("trade", "MATIC/USD")]
        trade = next(f for f in sent if f["params"]["channel"] == "trade")
        assert without_req_id(trade) == frames("ws2_trade_subscribe.json")[0]  # same parameters back


def test_private_requests_carry_a_fresh_token_per_connection() -> None:
    p = SpotProtocol(WS_KEY_MAP.spotPrivateV2)
    p.subscribe(normalize_requests({"topic": "executions", "payload": {"snap_orders": True, "snap_trades": True}}))
    p.token = "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY"
    sent = p.on_ready()
    assert without_req_id(wire(sent[0])) == frames("ws2_executions_subscribe.json")[0]
    assert "G38a1tGF" not in repr(sent) and isinstance(p.token, Secret)  # a Secret until it is encoded
    p.on_connection_lost()
    assert p.token is None  # a used token is never reused on a new connection
    with pytest.raises(ValidationError):
        p.on_ready()
    p.token = "second"
    assert wire(p.on_ready()[0])["params"]["token"] == "second"


def test_rejected_subscription_leaves_the_set_and_raises_the_mapped_error() -> None:
    p = SpotProtocol()
    p.subs.take_unsent()
    wid, out, _ = p.subscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": ["XBT/USDX"]}}))
    err_frame = {
        "error": "Currency pair not supported XBT/USDX",
        "method": "subscribe",
        "req_id": out[0]["req_id"],
        "success": False,
        "symbol": "XBT/USDX",
        "time_in": "x",
        "time_out": "y",
    }
    f = p.on_frame(err_frame)
    assert isinstance(f.error, KrakenAPIError)
    assert isinstance(resolved(f.outcomes)[wid], KrakenAPIError)
    assert p.subs.topics == {}
    p.on_connection_lost()
    assert p.on_ready() == []


def test_already_subscribed_counts_as_ack() -> None:
    p = SpotProtocol()
    p.subs.take_unsent()
    wid, out, _ = p.subscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": ["ALGO/USD"]}}))
    f = p.on_frame(
        {
            "error": "Already subscribed",
            "method": "subscribe",
            "req_id": out[0]["req_id"],
            "success": False,
            "symbol": "ALGO/USD",
        }
    )
    assert f.error is None and wid in resolved(f.outcomes)


def test_unsubscribe_matches_with_fewer_params_and_sends_the_stored_ones() -> None:
    p = SpotProtocol()
    p.subs.take_unsent()
    p.subscribe(normalize_requests({"topic": "ohlc", "payload": {"symbol": ["ALGO/USD", "MATIC/USD"], "interval": 5}}))
    wid, out, _ = p.unsubscribe(normalize_requests({"topic": "ohlc", "payload": {"symbol": ["ALGO/USD", "MATIC/USD"]}}))
    assert without_req_id(out[0]) == frames("ws2_ohlc_unsubscribe.json")[0]
    acks = frames("ws2_ohlc_unsubscribe_ack.jsonl")
    p.on_frame(acks[0])
    assert wid in resolved(p.on_frame(acks[1]).outcomes)
    assert p.subs.topics == {}


def test_wrong_symbol_forms_are_refused_before_sending() -> None:
    p = SpotProtocol()
    for bad in ("XBTUSD", "PF_XBTUSD"):
        with pytest.raises(SymbolFormatError):
            p.subscribe(normalize_requests({"topic": "ticker", "payload": {"symbol": [bad]}}))
    with pytest.raises(ValidationError):
        p.subscribe(normalize_requests({"topic": "ticker", "payload": {"product_ids": ["PF_XBTUSD"]}}))
    with pytest.raises(ValidationError):  # private channel on a public key
        p.subscribe(normalize_requests("executions"))
    assert p.subs.topics == {}


def test_data_heartbeat_pong_and_malformed_frames_are_classified() -> None:
    p = SpotProtocol()
    assert p.on_frame(frames("ws2_ticker_update.json")[0]).kind == FrameKind.DATA
    assert p.on_frame(frames("ws2_status_update.json")[0]).kind == FrameKind.DATA
    assert p.on_frame(frames("ws2_heartbeat.json")[0]).kind == FrameKind.HEARTBEAT
    assert p.on_frame(frames("ws2_pong.json")[0]).kind == FrameKind.PONG
    assert p.on_frame([1, 2]).kind == FrameKind.MALFORMED
    assert p.on_frame({"foo": 1}).kind == FrameKind.MALFORMED
    ping = p.ping()
    assert set(ping) == {"method", "req_id"} and ping["method"] == "ping"
    # numbers are exact Decimals
    assert frames("ws2_ticker_update.json")[0]["data"][0]["bid"] == Decimal("0.10025")


def test_trading_reply_correlation_with_official_frames() -> None:
    p = SpotProtocol(WS_KEY_MAP.spotPrivateV2)
    p.token = "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY"
    official = frames("ws2_add_order_request_limit.json")[0]
    params = {k: v for k, v in official["params"].items() if k != "token"}
    frame = p.api_request("add_order", params, waiter_id=7)
    assert without_req_id(wire(frame)) == without_req_id(official)
    # exact JSON numbers on the wire
    assert b'"limit_price":26500.4' in encode_frame(frame)
    reply = dict(frames("ws2_add_order_response.json")[0])
    reply["req_id"] = frame["req_id"]
    f = p.on_frame(reply)
    assert f.kind == FrameKind.REPLY and resolved(f.outcomes) == {7: [reply]}


def test_multi_reply_cancel_waits_for_every_reply() -> None:
    p = SpotProtocol(WS_KEY_MAP.spotPrivateV2)
    p.token = "t"
    req = frames("ws2_cancel_order_request.json")[0]
    frame = p.api_request("cancel_order", {"order_id": req["params"]["order_id"]}, waiter_id=3, expected_replies=2)
    r1, r2 = (dict(r, req_id=frame["req_id"]) for r in frames("ws2_cancel_order_response.jsonl"))
    assert p.on_frame(r1).outcomes == []
    assert resolved(p.on_frame(r2).outcomes) == {3: [r1, r2]}


def test_hundred_concurrent_requests_each_get_their_own_reply() -> None:
    p = SpotProtocol(WS_KEY_MAP.spotPrivateV2)
    p.token = "t"
    reqs = [p.api_request("add_order", {"n": i}, waiter_id=1000 + i) for i in range(100)]
    assert len({r["req_id"] for r in reqs}) == 100
    got: dict[int, Any] = {}
    for i, r in reversed(list(enumerate(reqs))):
        reply = {"method": "add_order", "req_id": r["req_id"], "result": {"order_id": f"O{i}"}, "success": True}
        got.update(resolved(p.on_frame(reply).outcomes))
    assert all(got[1000 + i][0]["result"]["order_id"] == f"O{i}" for i in range(100))


def test_error_reply_maps_to_kraken_error_with_cl_ord_id() -> None:
    p = SpotProtocol(WS_KEY_MAP.spotPrivateV2)
    p.token = "t"
    frame = p.api_request("add_order", {}, waiter_id=1, cl_ord_id="abc")
    f = p.on_frame(
        {"error": "EOrder:Insufficient funds", "method": "add_order", "req_id": frame["req_id"], "success": False}
    )
    err = resolved(f.outcomes)[1]
    assert isinstance(err, InsufficientFundsError) and err.context["cl_ord_id"] == "abc"


def test_requests_in_flight_fail_with_connection_lost_carrying_cl_ord_id() -> None:
    p = SpotProtocol(WS_KEY_MAP.spotPrivateV2)
    p.token = "t"
    p.api_request("add_order", {}, waiter_id=1, cl_ord_id="my-order-1")
    p.api_request("cancel_all", {}, waiter_id=2)
    errs = resolved(p.on_connection_lost("dropped"))
    assert isinstance(errs[1], ConnectionLostError) and errs[1].cl_ord_id == "my-order-1"
    assert isinstance(errs[2], ConnectionLostError) and errs[2].cl_ord_id is None
    assert p.pending_requests == 0


def test_late_reply_after_timeout_is_just_a_response() -> None:
    p = SpotProtocol(WS_KEY_MAP.spotPrivateV2)
    p.token = "t"
    frame = p.api_request("add_order", {}, waiter_id=1)
    p.forget_request(frame["req_id"])
    f = p.on_frame({"method": "add_order", "req_id": frame["req_id"], "result": {}, "success": True})
    assert f.kind == FrameKind.RESPONSE and f.outcomes == []

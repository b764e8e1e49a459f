"""Derivatives v1 protocol state machine fed with Kraken's official example frames (no sockets)."""

from __future__ import annotations

from typing import Any

import pytest

from kraken_reference import REFERENCE
from krakenkit._core import jsonutil
from krakenkit._core.environment import WS_KEY_MAP
from krakenkit._core.errors import KrakenAPIError, SymbolFormatError, ValidationError
from krakenkit._core.secrets import Secret
from krakenkit._core.signing import sign_futures_challenge
from krakenkit.ws._wire import encode_frame
from krakenkit.ws.protocol_common import normalize_requests
from krakenkit.ws.protocol_futures import FuturesProtocol
from krakenkit.ws.protocol_spot import FrameKind

REF = REFERENCE / "futures-ws-examples"
SECRET = "aDPXclXySiSXFOqdqmvlh3rf94QBaX6KpeDwwJD7x3cPx6qMI1Pp/aMW60liaVChZ5IBlQnHP7JxkWqQKul4Mg=="


def frame(name: str) -> Any:
    return jsonutil.loads((REF / name).read_text())


def wire(f: Any) -> Any:
    """What goes on the wire (the frames hold their secrets as Secret values until then)."""
    return jsonutil.loads(encode_frame(f))


def resolved(outcomes: list[Any]) -> dict[int, Any]:
    return {o.waiter_id: (o.value if o.error is None else o.error) for o in outcomes}


def test_public_subscribe_matches_official_request_and_ack() -> None:
    p = FuturesProtocol()
    p.subs.take_unsent()
    wid, out, _ = p.subscribe(normalize_requests({"topic": "book", "payload": {"product_ids": ["PF_XBTUSD"]}}))
    assert out == [frame("fws_book_subscribe.json")]
    f = p.on_frame(frame("fws_book_subscribed.json"))
    assert resolved(f.outcomes) == {wid: [frame("fws_book_subscribed.json")]}
    for name in ("fws_book_snapshot.json", "fws_book_delta.json", "fws_ticker_perpetual.json", "fws_trade_delta.json"):
        assert p.on_frame(frame(name)).kind == FrameKind.DATA
    assert p.on_frame(frame("fws_heartbeat.json")).kind == FrameKind.HEARTBEAT


def test_heartbeat_and_ticker_requests() -> None:
    p = FuturesProtocol()
    p.subs.take_unsent()
    _, out, _ = p.subscribe(normalize_requests("heartbeat"))
    assert out == [frame("fws_heartbeat_subscribe.json")]
    _, out, _ = p.subscribe(normalize_requests({"topic": "ticker", "payload": {"product_ids": ["PI_XBTUSD"]}}))
    assert out == [frame("fws_ticker_subscribe.json")]


def test_challenge_flow_and_private_subscribe_carry_signed_challenge() -> None:
    p = FuturesProtocol(WS_KEY_MAP.derivativesPrivateV1)
    wid, out, _ = p.subscribe(normalize_requests("fills"))
    assert out == []  # not ready: nothing goes before the challenge
    api_key = frame("fws_challenge_request.json")["api_key"]
    request = p.challenge_request(api_key)
    assert wire(request) == frame("fws_challenge_request.json")
    assert request["api_key"] == Secret(api_key) and api_key not in repr(request)
    resp = frame("fws_challenge_response.json")
    assert p.on_frame(resp).kind == FrameKind.CHALLENGE
    p.set_challenge(resp["message"], Secret(SECRET))
    sent = p.on_ready()
    signed = sign_futures_challenge(SECRET, resp["message"])
    assert signed not in repr(sent) and api_key not in repr(sent)  # Secrets until encoded
    assert [wire(f) for f in sent] == [
        {
            "event": "subscribe",
            "feed": "fills",
            "api_key": api_key,
            "original_challenge": resp["message"],
            "signed_challenge": signed,
        }
    ]
    # the official ack names a product even though the request had none
    assert wid in resolved(p.on_frame(frame("fws_fills_subscribed.json")).outcomes)
    # a new connection needs a new challenge
    p.on_connection_lost()
    assert not p.authenticated
    with pytest.raises(ValidationError):
        p.on_ready()


def test_error_fails_the_oldest_waiting_request() -> None:
    p = FuturesProtocol()
    p.subs.take_unsent()
    w1, _, _ = p.subscribe(normalize_requests({"topic": "ticker", "payload": {"product_ids": ["PF_NOPEUSD"]}}))
    w2, _, _ = p.subscribe(normalize_requests({"topic": "trade", "payload": {"product_ids": ["PI_XBTUSD"]}}))
    f = p.on_frame(frame("fws_error_invalid_product.json"))
    assert isinstance(f.error, KrakenAPIError)
    assert set(resolved(f.outcomes)) == {w1}
    assert [k.channel for k in p.subs.topics] == ["trade"]
    assert w2 in resolved(p.on_frame(frame("fws_trade_subscribed.json")).outcomes)


def test_symbols_and_feeds_refused_on_the_wrong_key() -> None:
    p = FuturesProtocol()
    with pytest.raises(SymbolFormatError):
        p.subscribe(normalize_requests({"topic": "ticker", "payload": {"product_ids": ["BTC/USD"]}}))
    with pytest.raises(ValidationError):
        p.subscribe(normalize_requests("open_orders"))
    with pytest.raises(ValidationError):
        p.subscribe(normalize_requests("book"))  # needs product ids
    priv = FuturesProtocol(WS_KEY_MAP.derivativesPrivateV1)
    with pytest.raises(ValidationError):
        priv.subscribe(normalize_requests({"topic": "book", "payload": {"product_ids": ["PF_XBTUSD"]}}))


def test_reconnect_resends_each_private_feed_once() -> None:
    p = FuturesProtocol(WS_KEY_MAP.derivativesPrivateV1)
    for feed in (
        "open_orders",
        "fills",
        "balances",
        "open_positions",
        "account_log",
        "notifications_auth",
        "open_orders",
    ):
        p.subscribe(normalize_requests(feed))
    for n in range(3):
        p.challenge_request("key")
        p.set_challenge(f"challenge-{n}", SECRET)
        sent = p.on_ready()
        assert sorted(f["feed"] for f in sent) == sorted(
            ["open_orders", "fills", "balances", "open_positions", "account_log", "notifications_auth"]
        )
        assert {f["original_challenge"] for f in sent} == {f"challenge-{n}"}
        p.on_connection_lost()

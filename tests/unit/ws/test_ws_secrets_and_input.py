"""WebSocket credentials held as Secrets (wire-only plain text, redacted websockets log, clean tracebacks),
testnet never live for Spot, TLS-off warnings and unknown keywords refused before anything is sent."""

from __future__ import annotations

import asyncio
import logging
import pickle
import ssl
import traceback
import warnings
from decimal import Decimal
from typing import Any

import pytest
from websockets.frames import Frame, Opcode

from krakenkit import TESTNET, WS_KEY_MAP, Environment
from krakenkit._core import jsonutil
from krakenkit._core.errors import InvalidResponseError, MissingCredentialsError, ValidationError
from krakenkit._core.secrets import Secret
from krakenkit.sandbox import Sandbox  # noqa: F401 - named in the testnet message; importable
from krakenkit.ws import InsecureTransportWarning, WebsocketAPIClient, WebsocketClient
from krakenkit.ws._auth import SpotTokenSource
from krakenkit.ws._wire import PRIVATE_WS_LOGGER, encode_frame, send_frame
from krakenkit.ws.protocol_futures import FuturesProtocol, redact_echo
from krakenkit.ws.protocol_spot import SpotProtocol

KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrSt"  # 56 characters, like Kraken's
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
TOKEN = "G38a1tGFzqGiUCmnegBcm8d4nfP3tytiNQz6tkCBYXY"
PLAIN = (KEY, SECRET, TOKEN)
PRIV = WS_KEY_MAP.spotPrivateV2


def shown(exc: BaseException) -> str:
    """repr, str and the capture_locals traceback (what a crash reporter records) of the library's frames (this
    file's test functions hold the plain values they pass in)."""
    te: traceback.TracebackException | None = traceback.TracebackException.from_exception(exc, capture_locals=True)
    chain = te
    while chain is not None:
        chain.stack = traceback.StackSummary.from_list([f for f in chain.stack if f.filename != __file__])
        chain = chain.__cause__ or chain.__context__
    assert te is not None
    return "\n".join([repr(exc), str(exc), *te.format()])


def assert_hidden(text: str) -> None:
    for value in PLAIN:
        assert value[:12] not in text and value[-12:] not in text, value[:4]


# --- the wire -----------------------------------------------------------------------------------------------


def test_frames_hold_secrets_that_only_the_wire_text_reveals() -> None:
    frame = {"method": "add_order", "params": {"order_qty": Decimal("0.00000001"), "token": Secret(TOKEN)}}
    assert_hidden(repr(frame))
    wire = jsonutil.loads(encode_frame(frame))
    assert wire == {"method": "add_order", "params": {"order_qty": Decimal("0.00000001"), "token": TOKEN}}
    assert b'"order_qty":0.00000001' in encode_frame(frame)  # plain notation, as jsonutil.dumps writes it


def test_a_value_json_cannot_hold_is_a_validation_error_naming_its_type_only() -> None:
    with pytest.raises(ValidationError, match="object") as info:
        encode_frame({"params": {"token": Secret(TOKEN), "x": object()}})
    assert_hidden(shown(info.value))


async def test_an_error_out_of_the_socket_send_loses_the_frames_holding_the_wire_text() -> None:
    class Socket:
        async def send(self, message: bytes, text: bool = False) -> None:
            held = message  # what websockets' own frames hold while sending
            raise ConnectionResetError(f"gone after {len(held)} bytes")

    with pytest.raises(ConnectionResetError) as info:
        await send_frame(Socket(), {"params": {"token": Secret(TOKEN)}})  # type: ignore[arg-type]
    assert_hidden(shown(info.value))
    names = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "send" not in names and "send_frame" in names


def test_websockets_logger_of_private_connections_redacts_data_frames_only(caplog: pytest.LogCaptureFixture) -> None:
    data = Frame(Opcode.TEXT, b'{"params":{"token":"' + TOKEN.encode() + b'"}}')
    with caplog.at_level(logging.DEBUG, logger="websockets.client"):
        PRIVATE_WS_LOGGER.debug("> %s", data)
        PRIVATE_WS_LOGGER.debug("> %s", Frame(Opcode.PING, b"ok"))
        PRIVATE_WS_LOGGER.debug("= connection is %s", "OPEN")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == f"> TEXT [redacted: {len(data.data)} bytes]"
    assert lines[1].startswith("> PING") and lines[2] == "= connection is OPEN"
    assert all(r.name == "websockets.client" for r in caplog.records)
    assert_hidden("\n".join(lines) + repr([r.args for r in caplog.records]))


def test_private_connections_hand_websockets_the_redacting_logger() -> None:
    ws = WebsocketClient(KEY, SECRET, futures_api_key=KEY, futures_api_secret=SECRET)
    for key in WS_KEY_MAP.ALL:
        kwargs = ws.connection(key).connect_kwargs()
        assert (kwargs.get("logger") is PRIVATE_WS_LOGGER) == (key in WS_KEY_MAP.PRIVATE)


# --- what objects hold ------------------------------------------------------------------------------------------


def test_spot_token_is_a_secret_and_a_bad_provider_answer_is_refused_by_type() -> None:
    p = SpotProtocol(PRIV)
    p.token = TOKEN
    assert isinstance(p.token, Secret) and p.token.get_secret_value() == TOKEN
    p.token = Secret("other")
    assert p.token == Secret("other")
    with pytest.raises(InvalidResponseError, match="dict") as info:
        p.token = {"token": TOKEN}
    assert_hidden(shown(info.value))
    with pytest.raises(InvalidResponseError, match="empty"):
        p.token = ""
    assert p.token is None


def test_futures_key_and_signed_challenge_are_secrets_and_echoes_are_redacted() -> None:
    p = FuturesProtocol(WS_KEY_MAP.derivativesPrivateV1)
    p.challenge_request(KEY)
    p.set_challenge("226aee50-88fc-4618-a42a-34f7709570b2", Secret(SECRET))
    assert isinstance(p.api_key, Secret) and isinstance(p.signed_challenge, Secret)
    with pytest.raises(InvalidResponseError):
        p.set_challenge("not a uuid \u00e9", SECRET)
    ack = {"event": "subscribed", "feed": "fills", "api_key": KEY, "signed_challenge": "c2lnbmVk"}
    assert redact_echo(ack) and ack["api_key"] == "***" and ack["signed_challenge"] == "***"
    assert not redact_echo(ack) and not redact_echo({"event": "subscribed", "feed": "book"})


def test_clients_hold_credentials_as_secrets_from_the_first_line() -> None:
    api = WebsocketAPIClient(KEY, SECRET)
    ws = WebsocketClient(KEY, Secret(SECRET), futures_api_key=Secret(KEY), futures_api_secret=SECRET)
    source = ws._token_source
    assert isinstance(source, SpotTokenSource)
    assert_hidden(repr(api) + repr(ws) + repr(source) + repr(vars(source)) + repr(vars(ws)) + repr(vars(api)))
    with pytest.raises(TypeError):
        pickle.dumps(source)
    # an error raised by the constructor after the credentials came in: its frames hold Secrets only
    with pytest.raises(ValidationError) as info:
        WebsocketClient(KEY, SECRET, futures_api_key=KEY, futures_api_secret=SECRET, max_queue=0)
    assert_hidden(shown(info.value))
    with pytest.raises(ValidationError) as info:
        WebsocketAPIClient(KEY, SECRET, futures_api_key=KEY, futures_api_secret=SECRET, max_queue=0)
    assert_hidden(shown(info.value))


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((KEY + " ", SECRET), {}, "api_key"),
        (("k\u00e9y" + KEY[3:], SECRET), {}, "api_key"),
        ((KEY, "not base64!"), {}, "api_secret"),
        ((KEY, b"bytes"), {}, "api_secret"),
        ((), {"futures_api_key": KEY, "futures_api_secret": SECRET + "\n"}, "futures_api_secret"),
        ((), {"futures_api_key": "", "futures_api_secret": SECRET}, "futures_api_key"),
    ],
)
def test_unusable_credentials_are_refused_at_construction(args: Any, kwargs: Any, field: str) -> None:
    for cls in (WebsocketClient, WebsocketAPIClient):
        with pytest.raises(ValidationError) as info:
            cls(*args, **kwargs)
        assert info.value.field == field
        assert_hidden(shown(info.value))


def test_one_of_key_and_secret_is_still_a_missing_credentials_error() -> None:
    with pytest.raises(MissingCredentialsError):
        WebsocketClient(KEY)
    with pytest.raises(MissingCredentialsError):
        WebsocketClient(futures_api_secret=SECRET)


# --- testnet means never live -----------------------------------------------------------------------------------


def test_testnet_refuses_every_spot_key_and_serves_the_derivatives_demo() -> None:
    for ws in (
        WebsocketClient(KEY, SECRET, testnet=True, futures_api_key=KEY, futures_api_secret=SECRET),
        WebsocketClient(KEY, SECRET, environment=TESTNET, futures_api_key=KEY, futures_api_secret=SECRET),
    ):
        for key in WS_KEY_MAP.SPOT:
            with pytest.raises(ValidationError) as info:
                ws.connection(key)
            text = str(info.value)
            assert info.value.field == "testnet" and "validate=True" in text and "Sandbox" in text
            assert "environment=sb.environment" in text and "live" in text
        with pytest.raises(ValidationError):
            ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, WS_KEY_MAP.spotPublicV2)
        for key in WS_KEY_MAP.DERIVATIVES:
            assert ws.connection(key).url == "wss://demo-futures.kraken.com/ws/v1"
        assert ws._connections.keys() == WS_KEY_MAP.DERIVATIVES  # no Spot connection was even created


def test_testnet_trading_client_is_refused_at_construction() -> None:
    with pytest.raises(ValidationError, match="validate=True"):
        WebsocketAPIClient(KEY, SECRET, testnet=True)
    with pytest.raises(ValidationError, match="sandbox"):
        WebsocketAPIClient(KEY, SECRET, environment=TESTNET)
    with pytest.raises(ValidationError, match="validate=True"):
        WebsocketAPIClient(ws_client=WebsocketClient(KEY, SECRET, testnet=True))


def test_testnet_spot_key_pointed_elsewhere_is_allowed_and_testnet_with_environment_conflicts() -> None:
    ws = WebsocketClient(testnet=True, ws_urls={WS_KEY_MAP.spotPublicV2: "ws://127.0.0.1:1/v2"})
    assert ws.connection(WS_KEY_MAP.spotPublicV2).url == "ws://127.0.0.1:1/v2"
    with pytest.raises(ValidationError):
        ws.connection(WS_KEY_MAP.spotPrivateV2)
    env = Environment("http://x", "http://x", {k: f"ws://x/{k}" for k in WS_KEY_MAP.ALL}, "sandbox")
    with pytest.raises(ValidationError, match="conflicts"):
        WebsocketClient(testnet=True, environment=env)
    assert WebsocketClient(environment=env).connection(WS_KEY_MAP.spotPublicV2).url == "ws://x/spotPublicV2"


# --- TLS verification off ---------------------------------------------------------------------------------------


def _no_check() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _no_hostname() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    return ctx


@pytest.mark.parametrize(
    ("options", "shown_as"),
    [
        ({"verify": False}, "verify=False"),
        ({"ssl": _no_check()}, "ssl=<SSLContext with no certificate check>"),
        ({"ssl": _no_hostname()}, "ssl=<SSLContext with no host name check>"),
        ({"verify": _no_check(), "ssl": False}, "verify=<SSLContext"),
    ],
)
def test_tls_verification_off_warns_once_per_client_and_logs(
    options: dict[str, Any], shown_as: str, caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="krakenkit.ws"):
        warnings.simplefilter("always")
        ws = WebsocketClient(network_options=options)
        ws.connection(WS_KEY_MAP.spotPublicV2)
        WebsocketAPIClient(KEY, SECRET, network_options=options)
    mine = [w for w in caught if issubclass(w.category, InsecureTransportWarning)]
    assert len(mine) == 2 and all(shown_as in str(w.message) for w in mine)
    assert all(w.filename == __file__ for w in mine)  # names the user's line
    assert issubclass(InsecureTransportWarning, UserWarning) and ws.tls_verification_off
    logged = [r.levelno for r in caplog.records if "verification is turned off" in r.getMessage()]
    assert logged == [logging.WARNING] * 2


def test_verified_tls_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ws = WebsocketClient(network_options={"ssl": ssl.create_default_context(), "verify": True})
    assert not ws.tls_verification_off


# --- unknown keywords -------------------------------------------------------------------------------------------

LIMIT = {"order_type": "limit", "side": "buy", "symbol": "BTC/USD", "order_qty": "1", "limit_price": "100"}


@pytest.mark.parametrize(
    ("call", "field", "hint"),
    [
        (lambda api: api.submit_spot_order(**LIMIT, post_onyl=True), "post_onyl", "did you mean post_only?"),
        (lambda api: api.submit_spot_order(**LIMIT, timeinforce="gtc"), "timeinforce", "time_in_force"),
        (lambda api: api.submit_spot_order(**LIMIT, token="t"), "token", "fresh one per connection"),
        (
            lambda api: api.submit_spot_order(**{**LIMIT, "order_type": "stop-loss"}, triggers={"prise": "1"}),
            "triggers.prise",
            "did you mean price?",
        ),
        (lambda api: api.amend_spot_order(order_id="O1", limit_price="1", post_onyl=True), "post_onyl", "post_only"),
        (lambda api: api.edit_spot_order(order_id="O1", symbol="BTC/USD", order_qtty="1"), "order_qtty", "order_qty"),
        (lambda api: api.cancel_spot_order(order_ids=["O1"]), "order_ids", "did you mean order_id?"),
        (lambda api: api.cancel_all_spot_orders(timout=1), "timout", "did you mean timeout?"),
        (lambda api: api.cancel_all_spot_orders_after(60, timeout_secs=1), "timeout_secs", "timeout"),
        (
            lambda api: api.batch_submit_spot_orders(
                symbol="BTC/USD", orders=[dict(LIMIT, symbol=None), {"side": "buy", "post_onyl": True}]
            ),
            "orders[0].symbol",
            "given once",
        ),
        (
            lambda api: api.batch_submit_spot_orders(
                symbol="BTC/USD",
                orders=[{"order_type": "limit", "side": "buy"}, {"side": "buy", "post_onyl": True}],
            ),
            "orders[1].post_onyl",
            "did you mean post_only?",
        ),
        (lambda api: api.batch_cancel_spot_orders(orders=["O1", "O2"], cl_ordid=["a"]), "cl_ordid", "cl_ord_id"),
    ],
)
async def test_unknown_keywords_are_refused_before_anything_is_sent(call: Any, field: str, hint: str) -> None:
    sent: list[Any] = []

    async def token() -> str:
        sent.append("token")
        return TOKEN

    api = WebsocketAPIClient(token_provider=token, ws_urls={PRIV: "ws://127.0.0.1:9/v2"})
    with pytest.raises(ValidationError) as info:
        await asyncio.wait_for(call(api), 1)
    assert info.value.field == field and hint in str(info.value)
    assert api.ws._connections == {} and sent == []  # no connection, no token, no waiter: nothing happened
    await api.close()


def test_a_token_given_in_low_level_params_is_replaced_and_never_kept_for_errors() -> None:
    p = SpotProtocol(PRIV)
    p.token = TOKEN
    frame = p.api_request("cancel_all", {"token": "their-own-token-value-xyz"}, waiter_id=1)
    assert jsonutil.loads(encode_frame(frame))["params"]["token"] == TOKEN  # the connection's token
    record = p.request_record(frame["req_id"])
    assert record is not None and "token" not in record.request
    err = p.unanswered_error(frame["req_id"], record, "got no reply")
    assert "their-own" not in repr(err.context) and TOKEN[:12] not in repr(err.context)


def test_a_subscription_payload_json_cannot_hold_is_refused_before_anything_is_kept() -> None:
    ws = WebsocketClient()
    with pytest.raises(ValidationError, match="object"):
        ws.subscribe({"topic": "book", "payload": {"symbol": ["BTC/USD"], "depth": object()}}, WS_KEY_MAP.spotPublicV2)
    assert ws.subscriptions(WS_KEY_MAP.spotPublicV2) == []


# --- values through the shared validation layer -----------------------------------------------------------------


class _Booked:
    """A rate limiter that records every booking (none may happen for a refused call)."""

    def __init__(self) -> None:
        self.booked: list[str] = []

    def reserve(self, endpoint: str, params: Any = None) -> float:
        self.booked.append(endpoint)
        return 0.0

    def on_response(self, endpoint: str, params: Any, result: Any) -> None:
        return None

    def on_rate_limited(self, endpoint: str, params: Any) -> None:
        return None


_ITEM = {k: v for k, v in LIMIT.items() if k != "symbol"}


def _api(limiter: _Booked, sent: list[Any]) -> WebsocketAPIClient:
    async def token() -> str:
        sent.append("token")
        return TOKEN

    return WebsocketAPIClient(token_provider=token, ws_urls={PRIV: "ws://127.0.0.1:9/v2"}, rate_limiter=limiter)


@pytest.mark.parametrize(
    ("call", "field", "fragment"),
    [
        (lambda api: api.submit_spot_order(**{**LIMIT, "order_qty": 0.1}), "order_qty", "float"),
        (lambda api: api.submit_spot_order(**{**LIMIT, "symbol": "btc/usd"}), "symbol", "BTC/USD"),
        (lambda api: api.submit_spot_order(**{**LIMIT, "symbol": "BTC/USD\n"}), "symbol", ""),
        (lambda api: api.submit_spot_order(**{**LIMIT, "time_in_force": "GTC"}), "time_in_force", "use 'gtc'"),
        (lambda api: api.submit_spot_order(**{**LIMIT, "order_qty": "1e999999999"}), "order_qty", ""),
        (lambda api: api.submit_spot_order(**{**LIMIT, "limit_price": None}), "limit_price", "is required"),
        (lambda api: api.submit_spot_order(**{k: v for k, v in LIMIT.items() if k != "side"}), "side", "required"),
        (
            lambda api: api.submit_spot_order(**LIMIT, extra_params={"limit_price": 1}),
            "limit_price",
            "checked add_order field",
        ),
        (lambda api: api.submit_spot_order(**LIMIT, deadline="2026-12-04 18:21:45"), "deadline", "RFC 3339"),
        (lambda api: api.submit_spot_order(**LIMIT, deadline="2020-01-01T00:00:00Z"), "deadline", "at least 2s"),
        (lambda api: api.submit_spot_order(**LIMIT, timeout=-1), "timeout", "positive"),
        (lambda api: api.amend_spot_order(order_id="O1", cl_ord_id="a", limit_price="1"), "cl_ord_id", "exactly one"),
        (lambda api: api.amend_spot_order(order_id="O1"), "order_qty", "at least one"),
        (lambda api: api.edit_spot_order(order_id="O1", symbol="BTC/USD", limit_price="-1"), "limit_price", ""),
        (lambda api: api.cancel_spot_order(order_id="O1", cl_ord_id="a"), "cl_ord_id", "exactly one"),
        (lambda api: api.cancel_spot_order(), "order_id", ""),
        (lambda api: api.cancel_all_spot_orders_after(-1), "timeout", "below the minimum"),
        (lambda api: api.cancel_all_spot_orders_after(True), "timeout", ""),
        (lambda api: api.cancel_all_spot_orders_after(timeout=60), "timeout_seconds", "reply timeout"),
        (
            lambda api: api.batch_submit_spot_orders(symbol="BTC/USD", orders=[_ITEM] * 16),
            "orders",
            "at most 15",
        ),
        (
            lambda api: api.batch_submit_spot_orders(symbol="BTC/USD", orders=[_ITEM, {"side": "buy"}]),
            "orders[1].order_type",
            "required",
        ),
        (lambda api: api.batch_submit_spot_orders(symbol="BTC/USD", orders=None), "orders", "required"),
        (lambda api: api.batch_cancel_spot_orders(orders=["O1"]), "orders", "2 to 50"),
    ],
)
async def test_bad_values_are_refused_before_any_connection_token_or_booking(
    call: Any, field: str, fragment: str
) -> None:
    sent: list[Any] = []
    limiter = _Booked()
    api = _api(limiter, sent)
    with pytest.raises(ValidationError) as info:
        await asyncio.wait_for(call(api), 1)
    assert info.value.field == field, info.value
    assert fragment in str(info.value)
    assert api.ws._connections == {} and sent == [] and limiter.booked == []
    await api.close()


async def test_valid_calls_hand_the_transport_the_layers_wire_form_and_the_clients_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[Any] = []
    limiter = _Booked()
    api = _api(limiter, sent)
    calls: list[tuple[str, dict[str, Any], Any, Any, int]] = []

    async def unbooked(
        ws_key: str, method: str, params: Any, *, timeout: Any, expected_replies: int, cl_ord_id: Any, deadline: Any
    ) -> list[dict[str, Any]]:
        calls.append((method, dict(params), cl_ord_id, deadline, expected_replies))
        return [{"method": method, "success": True, "result": {"order_id": "OX"}}] * expected_replies

    monkeypatch.setattr(api.ws, "_request_unbooked", unbooked)
    res = await api.submit_spot_order(
        **{**LIMIT, "order_qty": 1, "limit_price": Decimal("100.50")}, cl_ord_id="my-1", post_only=True
    )
    assert res.order_id == "OX"
    method, params, cl, deadline, _ = calls[-1]
    assert (method, cl, deadline) == ("add_order", "my-1", api.order_deadline)  # deadline: written at send time
    assert params == {
        "order_type": "limit",
        "side": "buy",
        "symbol": "BTC/USD",
        "order_qty": Decimal(1),
        "limit_price": Decimal("100.5"),
        "cl_ord_id": "my-1",
        "post_only": True,
    }
    assert all(not isinstance(v, str) for k, v in params.items() if k in ("order_qty", "limit_price"))

    await api.cancel_spot_order(order_id=["O1", "O2"])
    assert calls[-1][0] == "cancel_order" and calls[-1][1] == {"order_id": ["O1", "O2"]} and calls[-1][4] == 2
    await api.batch_cancel_spot_orders(orders=[1, "O2"])
    assert calls[-1][1] == {"orders": ["1", "O2"]}
    await api.cancel_all_spot_orders_after(60)
    assert calls[-1][:2] == ("cancel_all_orders_after", {"timeout": 60})
    await api.submit_spot_order(**LIMIT, extra_params={"new_field": "x"})
    assert calls[-1][1]["new_field"] == "x"
    assert limiter.booked == ["add_order", "cancel_order", "batch_cancel", "cancel_all_orders_after", "add_order"]
    await api.close()

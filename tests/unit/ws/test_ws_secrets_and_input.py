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
    assert [r.levelno for r in caplog.records if "TLS verification off" in r.getMessage()] == [logging.WARNING] * 2


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

"""No secret in plain sight on the WebSocket paths (Spot v2 trading and streams, Derivatives v1 challenge).

Each scenario drives real error paths against the sandbox (or a silent local server) with DEBUG on for every
client-side logger, and scans every log record, the repr/str of the clients and events, and every error the user got or
an ``exception`` event carried (repr, str, pickle, capture_locals traceback): zero occurrences of the API
keys, secrets, WS tokens and signed challenges of the run, or of a long fragment of one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from secrets_testkit import (
    Seen,
    Vault,
    assert_clean,
    capture_everything,
    futures_key,
    signed_challenge,
    silent_ws_server,
    spot_key,
)

from krakenkit import WS_KEY_MAP, KrakenError, ValidationError
from krakenkit._core.errors import (
    ConnectionLostError,
    InsufficientFundsError,
    OrderOutcomeUnknownError,
    UnknownOrderError,
)
from krakenkit.sandbox import Sandbox
from krakenkit.ws import Backoff, WebsocketAPIClient, WebsocketClient
from krakenkit.ws.events import WsEvent

PUB = WS_KEY_MAP.spotPublicV2
PRIV = WS_KEY_MAP.spotPrivateV2
DPUB = WS_KEY_MAP.derivativesPublicV1
DPRIV = WS_KEY_MAP.derivativesPrivateV1
FAST = Backoff(first_jitter=0.01, base=0.05, max_delay=0.3)
EVENTS = ("open", "authenticated", "message", "response", "reconnecting", "reconnected", "exception", "close")


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=5, market=False, rate_limits=False) as sandbox:
        yield sandbox


def add_tokens(sb: Sandbox, vault: Vault) -> int:
    """Every GetWebSocketsToken token the sandbox handed out in this run."""
    tokens = list(sb.spot.keys.tokens)
    vault.add_all("ws_token_", tokens)
    return len(tokens)


def add_signed_challenges(sb: Sandbox, vault: Vault, secret_name: str = "futures_secret") -> int:
    """Every signed challenge of this run: those the sandbox received, and the signatures of every
    challenge it sent (computed by Kraken's rule)."""
    received = {
        str(r["params"]["signed_challenge"])
        for r in sb.requests
        if r["transport"] == "ws" and isinstance(r.get("params"), dict) and r["params"].get("signed_challenge")
    }
    originals = {
        str(r["params"]["original_challenge"])
        for r in sb.requests
        if r["transport"] == "ws" and isinstance(r.get("params"), dict) and r["params"].get("original_challenge")
    }
    computed = {signed_challenge(vault[secret_name], c) for c in originals}
    vault.add_all("signed_challenge_", received | computed)
    return len(received | computed)


def record_events(ws: WebsocketClient, seen: Seen) -> list[WsEvent]:
    """Every event, and what its error shows (an ``exception`` event's error reaches handlers and loggers)."""
    events: list[WsEvent] = []

    def on(ev: WsEvent) -> None:
        events.append(ev)
        seen.objects(ev)
        err = getattr(ev, "error", None)
        if isinstance(err, BaseException):
            seen.exception(err, f"event:{ev.name}")

    for name in EVENTS:
        ws.on(name, on)
    return events


async def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def expect_error(seen: Seen, call: Any, kind: type[BaseException] = KrakenError) -> BaseException:
    try:
        await call
    except kind as exc:
        seen.exception(exc)
        return exc
    raise AssertionError(f"expected {kind.__name__}")


def ws_requests(sb: Sandbox, method: str) -> list[dict[str, Any]]:
    return [r for r in sb.requests if r["transport"] == "ws" and r["method"] == method]


# --- Spot WS trading --------------------------------------------------------------------------------------------


async def test_spot_ws_trading_errors_show_no_secret(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    with capture_everything(seen) as cap:
        api = WebsocketAPIClient(*spot_key(sb, vault, balances={"ZUSD": "10"}), environment=sb.environment)
        events = record_events(api.ws, seen)
        async with api:
            # rejected by the exchange
            funds = await expect_error(
                seen, api.submit_spot_order(symbol="BTC/USD", side="buy", order_type="market", order_qty="5")
            )
            unknown = await expect_error(seen, api.cancel_spot_order(order_id=["OABCDE-FGHIJ-KLMNOP"]))
            assert isinstance(funds, InsufficientFundsError) and isinstance(unknown, UnknownOrderError)
            # refused locally, before sending
            sent = len(ws_requests(sb, "add_order"))
            typo = await expect_error(
                seen,
                api.submit_spot_order(
                    symbol="BTC/USD", side="buy", order_type="limit", order_qty="1", limit_price="1", post_onyl=True
                ),
                ValidationError,
            )
            assert "did you mean post_only?" in str(typo) and len(ws_requests(sb, "add_order")) == sent
            assert api.ws.connection(PRIV).pending_requests == 0
            # no reply in time: outcome unknown
            sb.faults.ws_garble_reply("add_order", kind="swallow")
            swallowed = await expect_error(
                seen,
                api.submit_spot_order(
                    symbol="BTC/USD", side="buy", order_type="limit", order_qty="0.001", limit_price="1000", timeout=0.3
                ),
            )
            assert type(swallowed) is OrderOutcomeUnknownError
            # the socket goes while a request waits: ConnectionLostError
            sb.faults.ws_late_arrival("add_order", delay=3.0)
            n = len(ws_requests(sb, "add_order"))
            pending = asyncio.ensure_future(
                api.submit_spot_order(
                    symbol="BTC/USD", side="buy", order_type="limit", order_qty="0.001", limit_price="1000"
                )
            )
            await wait_until(lambda: len(ws_requests(sb, "add_order")) > n)
            sb.faults.drop_ws_connections(PRIV)
            assert isinstance(await expect_error(seen, pending), ConnectionLostError)
            # a private subscription on the new connection (a fresh token), then a stall: unknown outcome
            await asyncio.wait_for(api.ws.subscribe("executions", PRIV), 5)
            sb.faults.stall_ws(PRIV)
            stalled = await expect_error(seen, api.cancel_all_spot_orders(timeout=0.3))
            assert type(stalled) is OrderOutcomeUnknownError
            conn = api.ws.connection(PRIV)
            seen.objects(api, api.ws, conn, conn.protocol, conn.token, api.ws._token_source)
        assert add_tokens(sb, vault) >= 2
    assert cap.records > 20 and any(e.name == "exception" for e in events)
    assert_clean(vault, seen)


# --- Spot private streams across reconnects ---------------------------------------------------------------------


async def test_spot_private_stream_reconnects_show_no_secret(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    with capture_everything(seen):
        ws = WebsocketClient(*spot_key(sb, vault), environment=sb.environment, reconnect_backoff=FAST)
        events = record_events(ws, seen)
        async with ws:
            await asyncio.wait_for(
                asyncio.gather(
                    ws.subscribe({"topic": "executions", "payload": {"snap_orders": True}}, PRIV),
                    ws.subscribe("balances", PRIV),
                    ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB),
                ),
                5,
            )
            sb.faults.drop_ws_connections(PRIV)
            await wait_until(lambda: any(e.name == "reconnected" and e.ws_key == PRIV for e in events))
            await asyncio.wait_for(ws.unsubscribe("balances", PRIV), 5)
            sb.faults.send_non_json(PRIV)  # a garbage frame on the private socket: an exception event
            await wait_until(lambda: any(e.name == "exception" and e.ws_key == PRIV for e in events))
            seen.objects(ws, ws.connection(PRIV), ws.connection(PRIV).protocol, ws.connection(PRIV).token)
        assert add_tokens(sb, vault) >= 2
    assert_clean(vault, seen)


async def test_websockets_debug_log_redacts_private_frames_only(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    with capture_everything(seen):
        ws = WebsocketClient(*spot_key(sb, vault), environment=sb.environment)
        async with ws:
            await asyncio.wait_for(ws.subscribe("executions", PRIV), 5)
            await asyncio.wait_for(ws.subscribe({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}, PUB), 5)
        add_tokens(sb, vault)
    frames = [text for where, text in seen.texts if where.startswith("log:websockets") and "TEXT" in text]
    assert any("executions" in t for t in frames) is False  # private frame contents are not logged ...
    assert any("[redacted" in t for t in frames)  # ... only their size
    assert any('"ticker"' in t for t in frames)  # public frames are logged as websockets logs them
    assert_clean(vault, seen)


# --- bad credentials --------------------------------------------------------------------------------------------


class Hidden:
    """A test's own value kept out of its frame's repr (a caught error's traceback starts in the test)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<hidden>"


async def test_bad_credentials_are_refused_at_construction_without_showing_them(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    spot_key(sb, vault)
    futures_key(sb, vault)
    key, secret, fkey, fsecret = (vault[n] for n in ("spot_key", "spot_secret", "futures_key", "futures_secret"))
    bad = [
        Hidden(((key + " ", secret), {})),
        Hidden((("k\u00e9y" + key[4:], secret), {})),
        Hidden(((key, secret[:-3] + "!!!"), {})),
        Hidden(((key, " " + secret), {})),
        Hidden(((), {"futures_api_key": fkey + "\n", "futures_api_secret": fsecret})),
        Hidden(((), {"futures_api_key": fkey, "futures_api_secret": fsecret + "\u00e9"})),
    ]
    del key, secret, fkey, fsecret
    messages: list[str] = []
    with capture_everything(seen):
        for case in bad:
            for cls in (WebsocketClient, WebsocketAPIClient):
                with pytest.raises(ValidationError) as info:
                    cls(*case.value[0], environment=sb.environment, **case.value[1])
                seen.exception(info.value)
                messages.append(f"{info.value.field}: {info.value}")
    assert len(messages) == 12
    fields = [m.split(":")[0] for m in messages]
    assert fields == [f for f in ("api_key", "api_key", "api_secret", "api_secret") for _ in (0, 1)] + [
        "futures_api_key",
        "futures_api_key",
        "futures_api_secret",
        "futures_api_secret",
    ], messages
    assert_clean(vault, seen)


async def test_unknown_key_and_refused_token_show_no_secret(sb: Sandbox) -> None:
    """A well-formed key the exchange does not know (the token fetch fails on every connect: exception events,
    reconnects), and a token of the user's own provider that the exchange refuses (subscribe rejected)."""
    vault, seen = Vault(), Seen()
    spot_key(sb, vault)
    vault.add("unknown_key", "Q" + vault["spot_key"][1:])
    vault.add("bogus_token", "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5")

    async def bogus_token() -> str:
        return vault["bogus_token"]

    with capture_everything(seen):
        ws = WebsocketClient(
            vault["unknown_key"], vault["spot_secret"], environment=sb.environment, reconnect_backoff=FAST
        )
        events = record_events(ws, seen)
        async with ws:
            fut = ws.subscribe("executions", PRIV, timeout=1.0)
            await wait_until(lambda: sum(e.name == "exception" for e in events) >= 2)
            await expect_error(seen, fut)
            seen.objects(ws, ws.connection(PRIV), ws._token_source)
        ws2 = WebsocketClient(token_provider=bogus_token, environment=sb.environment, reconnect_backoff=FAST)
        events2 = record_events(ws2, seen)
        async with ws2:
            await expect_error(seen, ws2.subscribe("executions", PRIV, timeout=2.0))
            api = WebsocketAPIClient(ws_client=ws2)
            await expect_error(seen, api.cancel_all_spot_orders(timeout=2.0))
            seen.objects(ws2, ws2.connection(PRIV), ws2.connection(PRIV).protocol)
    assert any(e.name == "exception" for e in events) and any(e.name == "exception" for e in events2)
    assert_clean(vault, seen)


# --- Derivatives v1: challenge ----------------------------------------------------------------------------------


async def test_futures_challenge_timeout_shows_no_secret(sb: Sandbox) -> None:
    """A Derivatives private socket whose server never sends the challenge (a silent local server)."""
    vault, seen = Vault(), Seen()
    async with silent_ws_server() as url:
        with capture_everything(seen):
            env = sb.environment.with_ws_urls({DPRIV: url})
            ws = WebsocketClient(
                environment=env,
                request_timeout=0.3,
                reconnect_backoff=FAST,
                **dict(zip(("futures_api_key", "futures_api_secret"), futures_key(sb, vault), strict=True)),
            )
            events = record_events(ws, seen)
            async with ws:
                fut = ws.subscribe({"topic": "open_orders"}, DPRIV)
                await wait_until(lambda: any(e.name == "exception" for e in events))
                await expect_error(seen, fut)
                seen.objects(ws, ws.connection(DPRIV), ws.connection(DPRIV).protocol)
    errors = [e.error for e in events if e.name == "exception"]
    assert any("challenge" in str(e) for e in errors)
    assert_clean(vault, seen)


async def test_futures_private_feeds_and_rechallenge_show_no_secret(sb: Sandbox) -> None:
    vault, seen = Vault(), Seen()
    with capture_everything(seen):
        ws = WebsocketClient(
            environment=sb.environment,
            reconnect_backoff=FAST,
            **dict(zip(("futures_api_key", "futures_api_secret"), futures_key(sb, vault), strict=True)),
        )
        events = record_events(ws, seen)
        async with ws:
            acks = await asyncio.wait_for(
                asyncio.gather(ws.subscribe("open_orders", DPRIV), ws.subscribe("fills", DPRIV)), 5
            )
            seen.objects(*acks)
            sb.faults.drop_ws_connections(DPRIV)
            await wait_until(lambda: any(e.name == "reconnected" and e.ws_key == DPRIV for e in events))
            await asyncio.wait_for(ws.unsubscribe("fills", DPRIV), 5)
            await expect_error(seen, ws.subscribe({"topic": "fills", "payload": {"product_ids": ["PF_NOPE"]}}, DPRIV))
            seen.objects(ws, ws.connection(DPRIV), ws.connection(DPRIV).protocol)
        assert add_signed_challenges(sb, vault) >= 2
    assert any(e.name == "response" and e.ws_key == DPRIV for e in events)
    assert_clean(vault, seen)

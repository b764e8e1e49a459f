"""``WebsocketClient.request`` (the low-level path) books trading methods on the same shared Spot trading
limiter as ``WebsocketAPIClient``, against a sandbox that enforces Kraken's trading counters."""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import KrakenAPIError, RateLimitError
from krakenkit._core.ratelimit import NoRateLimit, SpotRateLimiter, shared_spot_rate_limiter, spot_rate_limiter
from krakenkit.sandbox import Sandbox
from krakenkit.ws import WebsocketAPIClient, WebsocketClient
from krakenkit.ws.client import TRADING_METHODS

PRIV = WS_KEY_MAP.spotPrivateV2
STARTER_THRESHOLD = 60  # Kraken's Spot trading counter threshold for the starter tier


class VirtualClock:
    """Unix-like seconds that move only when told (shared by the sandbox and the limiter)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recording:
    """Wraps a real limiter: records every call; with a clock, moves it by the wait instead of sleeping
    (the requests below are sequential, so each goes out at its booked time)."""

    def __init__(self, inner: SpotRateLimiter, clock: VirtualClock | None = None) -> None:
        self.inner = inner
        self.clock = clock
        self.calls: list[tuple[str, str]] = []
        self.waited = 0.0

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        self.calls.append(("reserve", endpoint))
        wait = self.inner.reserve(endpoint, params)
        if self.clock is None:
            return wait
        self.clock.advance(wait)
        self.waited += wait
        return 0.0

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        self.calls.append(("on_response", endpoint))
        self.inner.on_response(endpoint, params, result)

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        self.calls.append(("on_rate_limited", endpoint))
        self.inner.on_rate_limited(endpoint, params)


def _ioc_buy() -> dict[str, Any]:
    """An immediate-or-cancel buy far below the market: +1 on the BTC/USD counter, nothing left open."""
    return {
        "order_type": "limit",
        "side": "buy",
        "symbol": "BTC/USD",
        "order_qty": Decimal("0.001"),
        "limit_price": Decimal("1000"),
        "time_in_force": "ioc",
    }


async def _burst(ws: WebsocketClient, n: int) -> list[BaseException]:
    errors: list[BaseException] = []
    for _ in range(n):
        try:
            await ws.request(PRIV, "add_order", _ioc_buy(), timeout=5)
        except RateLimitError as exc:
            errors.append(exc)
    return errors


def _ws_sent(sb: Sandbox, method: str) -> list[dict[str, Any]]:
    return [r for r in sb.requests if r["transport"] == "ws" and r["method"] == method]


def test_the_trading_methods_are_the_ones_the_api_client_sends() -> None:
    assert {
        "add_order",
        "amend_order",
        "edit_order",
        "cancel_order",
        "cancel_all",
        "cancel_all_orders_after",
        "batch_add",
        "batch_cancel",
    } == TRADING_METHODS


async def test_low_level_burst_beyond_the_threshold_waits_instead_of_being_refused() -> None:
    clock = VirtualClock()
    n = STARTER_THRESHOLD + 10
    async with Sandbox(seed=31, rate_limits=True, market=False, clock=clock) as sb:
        key, secret = sb.create_key(tier="starter")
        limiter = Recording(spot_rate_limiter("starter", clock=clock), clock)
        async with WebsocketClient(key, secret, environment=sb.environment, rate_limiter=limiter) as ws:
            errors = await _burst(ws, n)
        assert errors == []
        assert len(_ws_sent(sb, "add_order")) == n
        assert [c for c in limiter.calls if c[0] == "on_rate_limited"] == []
        beyond = n - (STARTER_THRESHOLD - 1)
        assert beyond - 1 <= limiter.waited <= beyond + 1  # about one decay step per order beyond the threshold

        # control: the same low-level burst with limiting switched off is refused past the threshold
        key2, secret2 = sb.create_key(tier="starter")
        async with WebsocketClient(key2, secret2, environment=sb.environment, rate_limiter=NoRateLimit()) as ws2:
            refused = await _burst(ws2, n)
        assert len(refused) == n - STARTER_THRESHOLD
        assert all("EOrder:Rate limit exceeded" in str(e) for e in refused)


async def test_kraken_rate_limit_reply_resynchronises_the_low_level_limiter() -> None:
    clock = VirtualClock()
    async with Sandbox(seed=32, rate_limits=True, market=False, clock=clock) as sb:
        key, secret = sb.create_key(tier="starter")
        inner = spot_rate_limiter("starter", clock=clock)
        limiter = Recording(inner, clock)
        async with (
            WebsocketClient(key, secret, environment=sb.environment, rate_limiter=NoRateLimit()) as other,
            WebsocketClient(key, secret, environment=sb.environment, rate_limiter=limiter) as ws,
        ):
            assert await _burst(other, STARTER_THRESHOLD // 2) == []  # traffic this limiter never saw
            errors = await _burst(ws, STARTER_THRESHOLD // 2 + 1)
            assert len(errors) == 1
            assert limiter.calls.count(("on_rate_limited", "add_order")) == 1
            assert inner.trading_level("BTC/USD") >= inner.limits.trading_threshold - 1e-6  # assumed full
            waited = limiter.waited
            assert await _burst(ws, 3) == []  # now it waits for the counter instead of being refused
            assert limiter.waited > waited


async def test_default_shared_limiter_learns_from_low_level_replies(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    async with WebsocketClient(key, secret, environment=sb.environment) as ws:
        shared = shared_spot_rate_limiter(key, "intermediate")
        assert ws.rate_limiter is shared
        params = {
            "order_type": "limit",
            "side": "buy",
            "symbol": "BTC/USD",
            "order_qty": Decimal("0.001"),
            "limit_price": Decimal("1000"),
        }
        (reply,) = await ws.request(PRIV, "add_order", params, timeout=5)
        order_id = reply["result"]["order_id"]
        level = shared.trading_level("BTC/USD")
        assert 0.0 < level <= 1.0  # +1 for the add, booked before connecting (decaying in real time since)
        assert shared.order_age(order_id) is not None  # learned from the reply: a young order
        await ws.request(PRIV, "cancel_order", {"order_id": [order_id]}, timeout=5)
        assert shared.trading_level("BTC/USD") >= level + 7  # cancel under 5 s: +8
        assert shared.order_age(order_id) is None
    assert [r["params"]["params"]["order_id"] for r in _ws_sent(sb, "cancel_order")] == [[order_id]]


async def test_api_client_and_low_level_requests_share_one_counter_without_double_booking(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    frozen = [1000.0]
    limiter = Recording(spot_rate_limiter("intermediate", clock=lambda: frozen[0]))
    async with (
        WebsocketClient(key, secret, environment=sb.environment, rate_limiter=limiter) as ws,
        WebsocketAPIClient(ws_client=ws) as api,
    ):
        assert api.rate_limiter is limiter
        await api.submit_spot_order(
            order_type="limit", side="buy", symbol="BTC/USD", order_qty="0.001", limit_price="1000", time_in_force="ioc"
        )
        assert limiter.inner.trading_level("BTC/USD") == 1.0  # booked once, not by both layers
        await ws.request(PRIV, "add_order", _ioc_buy())
        assert limiter.inner.trading_level("BTC/USD") == 2.0
        assert limiter.calls == [("reserve", "add_order"), ("on_response", "add_order")] * 2
    assert len(_ws_sent(sb, "add_order")) == 2


async def test_non_trading_methods_are_not_booked(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    limiter = Recording(spot_rate_limiter("intermediate"))
    async with WebsocketClient(key, secret, environment=sb.environment, rate_limiter=limiter) as ws:
        with pytest.raises(KrakenAPIError, match="Method not found"):
            await ws.request(PRIV, "some_future_method", {"x": 1}, timeout=5)
    assert limiter.calls == []
    assert limiter.inner.rest_level() == 0.0  # not even the REST counter
    (sent,) = _ws_sent(sb, "some_future_method")
    assert sent["params"]["params"]["x"] == 1


async def test_raise_mode_refuses_before_anything_is_sent(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    limiter = spot_rate_limiter("intermediate", mode="raise", clock=lambda: 1000.0)
    limiter.observe_ratecounter("BTC/USD", limiter.limits.trading_threshold)  # Kraken says: full
    async with WebsocketClient(key, secret, environment=sb.environment, rate_limiter=limiter) as ws:
        with pytest.raises(RateLimitError) as info:
            await ws.request(PRIV, "add_order", _ioc_buy(), timeout=5)
        assert info.value.retry_after is not None and info.value.retry_after > 0
        # another pair has its own counter: goes out
        eth = {**_ioc_buy(), "symbol": "ETH/USD", "order_qty": Decimal("0.1"), "limit_price": Decimal("100")}
        await ws.request(PRIV, "add_order", eth, timeout=5)
    assert [r["params"]["params"]["symbol"] for r in _ws_sent(sb, "add_order")] == ["ETH/USD"]

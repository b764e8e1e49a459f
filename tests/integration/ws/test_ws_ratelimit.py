"""Rate limiting of WS trading against a sandbox that enforces Kraken's trading counters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import RateLimitError
from krakenkit._core.ratelimit import NoRateLimit, RateLimiter, SpotRateLimiter, spot_rate_limiter
from krakenkit.sandbox import Sandbox
from krakenkit.ws import WebsocketAPIClient, WebsocketClient
from krakenkit.ws.events import MessageEvent

PRIV = WS_KEY_MAP.spotPrivateV2
STARTER_THRESHOLD = 60  # Kraken's Spot trading counter threshold for the starter tier


class VirtualClock:
    """Unix-like seconds that move only when told: the sandbox and the limiter share it, so
    Kraken's counter decay happens in no real time at all."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class JumpingLimiter:
    """Wraps a real limiter on the virtual clock: instead of sleeping ``wait`` seconds it moves the
    shared clock by ``wait`` (the calls below are sequential, so each is sent at its booked time)."""

    def __init__(self, inner: SpotRateLimiter, clock: VirtualClock) -> None:
        self.inner = inner
        self.clock = clock
        self.waited = 0.0
        self.rate_limited = 0

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        wait = self.inner.reserve(endpoint, params)
        self.clock.advance(wait)
        self.waited += wait
        return 0.0

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        self.inner.on_response(endpoint, params, result)

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        self.rate_limited += 1
        self.inner.on_rate_limited(endpoint, params)


async def _burst(api: WebsocketAPIClient, n: int) -> list[BaseException]:
    """``n`` immediate-or-cancel buys far below the market: each costs +1 on the BTC/USD counter and
    leaves no open order behind (so the open-orders limit never interferes)."""
    errors: list[BaseException] = []
    for _ in range(n):
        try:
            await api.submit_spot_order(order_type="limit", side="buy", symbol="BTC/USD", order_qty="0.001",
                                        limit_price="1000", time_in_force="ioc", timeout=5)
        except RateLimitError as exc:
            errors.append(exc)
    return errors


async def test_burst_beyond_the_trading_threshold_gets_no_rate_limit_error() -> None:
    clock = VirtualClock()
    n = STARTER_THRESHOLD + 15
    async with Sandbox(seed=3, rate_limits=True, market=False, clock=clock) as sb:
        key, secret = sb.create_key(tier="starter")
        limiter: RateLimiter = JumpingLimiter(spot_rate_limiter("starter", clock=clock), clock)
        assert isinstance(limiter, JumpingLimiter)
        async with WebsocketAPIClient(key, secret, environment=sb.environment, rate_limiter=limiter) as api:
            errors = await _burst(api, n)
        assert errors == []
        assert limiter.rate_limited == 0
        sent = [r for r in sb.requests if r["transport"] == "ws" and r["method"] == "add_order"]
        assert len(sent) == n
        # the limiter made the burst wait (in virtual time) roughly one decay step per order beyond
        # the threshold, and no more than that
        beyond = n - (STARTER_THRESHOLD - 1)
        assert beyond - 1 <= limiter.waited <= beyond + 1

        # control: the same burst without a limiter is refused by the sandbox past the threshold
        key2, secret2 = sb.create_key(tier="starter")
        async with WebsocketAPIClient(key2, secret2, environment=sb.environment, rate_limiter=NoRateLimit()) as api2:
            refused = await _burst(api2, n)
        assert len(refused) == n - STARTER_THRESHOLD
        assert all("EOrder:Rate limit exceeded" in str(e) for e in refused)


async def test_default_limiter_is_shared_and_fed_by_executions() -> None:
    async with Sandbox(seed=3, rate_limits=True, market=False) as sb:
        key, secret = sb.create_key()
        ws = WebsocketClient(key, secret, environment=sb.environment)
        seen: list[MessageEvent] = []
        cond = asyncio.Condition()

        async def on_message(ev: MessageEvent) -> None:
            async with cond:
                seen.append(ev)
                cond.notify_all()

        ws.on("message", on_message)
        async with ws, WebsocketAPIClient(ws_client=ws) as api:
            limiter = api.rate_limiter
            assert isinstance(limiter, SpotRateLimiter) and limiter is ws.rate_limiter
            await asyncio.wait_for(ws.subscribe({"topic": "executions", "payload": {"ratecounter": True}}, PRIV), 5)
            # an order placed elsewhere (REST, limiter off) reaches the shared limiter via executions
            from krakenkit.rest import AsyncSpotClient

            async with AsyncSpotClient(key, secret, environment=sb.environment, rate_limiter=NoRateLimit()) as rest:
                placed = await rest.submit_order(ordertype="limit", type="buy", volume="0.001", pair="XBTUSD",
                                                 price="1000")
            txid = placed.txid[0]

            def has_row() -> bool:
                return any(r.get("order_id") == txid for e in seen for r in e.data.get("data", ()))

            async with cond:
                await asyncio.wait_for(cond.wait_for(has_row), 5)
            assert limiter.order_age(txid) is not None  # a young order: amending/cancelling it costs more
            before = limiter.trading_level("BTC/USD")
            await api.cancel_spot_order(order_id=txid)
            assert limiter.trading_level("BTC/USD") >= before + 7  # cancel under 5 s: +8
            assert limiter.order_age(txid) is None


async def test_rate_limited_reply_resynchronises_the_limiter() -> None:
    clock = VirtualClock()
    async with Sandbox(seed=3, rate_limits=True, market=False, clock=clock) as sb:
        key, secret = sb.create_key(tier="starter")
        inner = spot_rate_limiter("starter", clock=clock)
        limiter = JumpingLimiter(inner, clock)
        async with WebsocketAPIClient(key, secret, environment=sb.environment, rate_limiter=NoRateLimit()) as other, \
                WebsocketAPIClient(key, secret, environment=sb.environment, rate_limiter=limiter) as api:
            # traffic this limiter never saw (another process, say) has half-filled Kraken's counter
            assert await _burst(other, STARTER_THRESHOLD // 2) == []
            errors = await _burst(api, STARTER_THRESHOLD // 2 + 1)
            assert len(errors) == 1 and limiter.rate_limited == 1
            assert inner.trading_level("BTC/USD") >= inner.limits.trading_threshold - 1e-6  # assumed full
            # the next orders wait for the counter instead of being refused again
            waited = limiter.waited
            assert await _burst(api, 3) == []
            assert limiter.waited > waited

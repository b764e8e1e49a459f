"""Rate limiting of WS trading against a sandbox that enforces Kraken's trading counters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from ws_testkit import (
    STARTER_THRESHOLD,
    SendOne,
    check_burst_beyond_the_threshold_waits,
    check_rate_limited_reply_resynchronises,
)

from krakenkit import WS_KEY_MAP
from krakenkit._core.ratelimit import NoRateLimit, RateLimiter, SpotRateLimiter
from krakenkit.sandbox import Sandbox
from krakenkit.ws import WebsocketAPIClient, WebsocketClient
from krakenkit.ws.events import MessageEvent

PRIV = WS_KEY_MAP.spotPrivateV2


@contextlib.asynccontextmanager
async def _api_client(sb: Sandbox, key: str, secret: str, limiter: RateLimiter) -> AsyncIterator[SendOne]:
    """Orders through ``WebsocketAPIClient.submit_spot_order``. The sandbox's virtual clock jumps ahead by
    the limiter's waits (about 15 s over a burst) in no real time, while the sandbox stamps ``time_in`` on
    the real clock: the longest deadline Kraken allows keeps the orders inside it."""
    async with WebsocketAPIClient(
        key, secret, environment=sb.environment, rate_limiter=limiter, order_deadline=60
    ) as api:
        yield lambda: api.submit_spot_order(
            order_type="limit",
            side="buy",
            symbol="BTC/USD",
            order_qty="0.001",
            limit_price="1000",
            time_in_force="ioc",
            timeout=5,
        )


async def test_burst_beyond_the_trading_threshold_gets_no_rate_limit_error() -> None:
    await check_burst_beyond_the_threshold_waits(_api_client, seed=3, n=STARTER_THRESHOLD + 15)


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
                placed = await rest.submit_order(
                    ordertype="limit", type="buy", volume="0.001", pair="XBTUSD", price="1000"
                )
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
    await check_rate_limited_reply_resynchronises(_api_client, seed=3)

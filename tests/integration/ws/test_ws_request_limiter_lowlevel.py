"""``WebsocketClient.request`` (the low-level path) books trading methods on the same shared Spot trading
limiter as ``WebsocketAPIClient``, against a sandbox that enforces Kraken's trading counters."""

from __future__ import annotations

import ast
import contextlib
import inspect
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from ws_testkit import (
    STARTER_THRESHOLD,
    RecordingLimiter,
    SendOne,
    check_burst_beyond_the_threshold_waits,
    check_rate_limited_reply_resynchronises,
    ws_sent,
)

from krakenkit import WS_KEY_MAP
from krakenkit._core.errors import KrakenAPIError, RateLimitError
from krakenkit._core.ratelimit import RateLimiter, shared_spot_rate_limiter, spot_rate_limiter
from krakenkit.sandbox import Sandbox
from krakenkit.ws import WebsocketAPIClient, WebsocketClient, api_client
from krakenkit.ws.client import TRADING_METHODS

PRIV = WS_KEY_MAP.spotPrivateV2


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


@contextlib.asynccontextmanager
async def _low_level(sb: Sandbox, key: str, secret: str, limiter: RateLimiter) -> AsyncIterator[SendOne]:
    """Orders through ``WebsocketClient.request``."""
    async with WebsocketClient(key, secret, environment=sb.environment, rate_limiter=limiter) as ws:
        yield lambda: ws.request(PRIV, "add_order", _ioc_buy(), timeout=5)


def _methods_the_api_client_sends() -> set[str]:
    """Every Spot v2 method ``WebsocketAPIClient`` sends: each goes through ``self._call("<method>", ...)``."""
    tree = ast.parse(inspect.getsource(api_client))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "_call"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


async def test_the_trading_methods_are_the_ones_the_api_client_sends(sb: Sandbox) -> None:
    sent_by_api = _methods_the_api_client_sends()
    assert "add_order" in sent_by_api and "cancel_order" in sent_by_api  # the scan found the client's calls
    assert sent_by_api == TRADING_METHODS
    key, secret = sb.create_key()
    limiter = RecordingLimiter(spot_rate_limiter("intermediate"))
    async with WebsocketClient(key, secret, environment=sb.environment, rate_limiter=limiter) as ws:
        for method in sorted(sent_by_api):
            with contextlib.suppress(KrakenAPIError):  # empty params: the sandbox refuses most of them
                await ws.request(PRIV, method, {}, timeout=5)
    # each booked on the limiter before it went out
    assert [c for c in limiter.calls if c[0] == "reserve"] == [("reserve", m) for m in sorted(sent_by_api)]
    assert all(len(ws_sent(sb, m)) == 1 for m in sent_by_api)


async def test_low_level_burst_beyond_the_threshold_waits_instead_of_being_refused() -> None:
    await check_burst_beyond_the_threshold_waits(_low_level, seed=31, n=STARTER_THRESHOLD + 10)


async def test_kraken_rate_limit_reply_resynchronises_the_low_level_limiter() -> None:
    await check_rate_limited_reply_resynchronises(_low_level, seed=32)


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
    assert [r["params"]["params"]["order_id"] for r in ws_sent(sb, "cancel_order")] == [[order_id]]


async def test_api_client_and_low_level_requests_share_one_counter_without_double_booking(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    frozen = [1000.0]
    limiter = RecordingLimiter(spot_rate_limiter("intermediate", clock=lambda: frozen[0]))
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
    assert len(ws_sent(sb, "add_order")) == 2


async def test_non_trading_methods_are_not_booked(sb: Sandbox) -> None:
    key, secret = sb.create_key()
    limiter = RecordingLimiter(spot_rate_limiter("intermediate"))
    async with WebsocketClient(key, secret, environment=sb.environment, rate_limiter=limiter) as ws:
        with pytest.raises(KrakenAPIError, match="Method not found"):
            await ws.request(PRIV, "some_future_method", {"x": 1}, timeout=5)
    assert limiter.calls == []
    assert limiter.inner.rest_level() == 0.0  # not even the REST counter
    (sent,) = ws_sent(sb, "some_future_method")
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
    assert [r["params"]["params"]["symbol"] for r in ws_sent(sb, "add_order")] == ["ETH/USD"]

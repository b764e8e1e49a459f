"""Done-when: a burst of 1,000 calls through the real clients against the sandbox with its rate limits
on gets zero rate-limit errors, with throughput within 10 % of what the tier allows.

Fast variant: the sandbox and the limiter share one injected clock; the limiter's waits advance
that clock instead of sleeping, so the simulated minutes pass in the time the HTTP calls take.
Everything else is real: the SpotClient / DerivativesClient wire the limiter (reserve,
on_response, on_rate_limited), the requests cross loopback, the sandbox's own counters decide.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from krakenkit import RateLimitError
from krakenkit._core.ratelimit import (
    SPOT_TIERS,
    DerivativesRateLimiter,
    NoRateLimit,
    SpotRateLimiter,
    derivatives_rate_limiter,
    spot_rate_limiter,
)
from krakenkit.rest import SpotClient
from krakenkit.sandbox import Sandbox

N = 1000


class SharedClock:
    """A clock both sides read; starts at the wall clock, moves only when told."""

    def __init__(self) -> None:
        self._t = time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._t

    def advance(self, dt: float) -> None:
        with self._lock:
            self._t += dt


class SleepOnClock:
    """Wraps a limiter: the wait it asks for is spent on the shared clock, the client never sleeps."""

    def __init__(self, inner: SpotRateLimiter | DerivativesRateLimiter, clock: SharedClock) -> None:
        self.inner = inner
        self.clock = clock
        self.waited = 0.0
        self.rate_limited = 0
        self.responses = 0

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        wait = self.inner.reserve(endpoint, params)
        self.waited += wait
        self.clock.advance(wait)
        return 0.0

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        self.responses += 1
        self.inner.on_response(endpoint, params, result)

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        self.rate_limited += 1
        self.inner.on_rate_limited(endpoint, params)


@pytest.fixture()
def sandbox() -> Iterator[tuple[Sandbox, SharedClock]]:
    clock = SharedClock()
    with Sandbox(seed=3, rate_limits=True, market=False) as sb:
        sb.ctx.clock = clock  # the sandbox's counters and order timestamps follow the shared clock
        yield sb, clock


@pytest.mark.parametrize("tier", ["starter", "pro"])
def test_spot_rest_burst(sandbox: tuple[Sandbox, SharedClock], tier: str) -> None:
    sb, clock = sandbox
    key, secret = sb.create_key(tier=tier)
    limiter = SleepOnClock(spot_rate_limiter(tier, clock=clock), clock)
    with SpotClient(key, secret, environment=sb.environment, rate_limiter=limiter, max_retries=0) as client:
        start = clock()
        for i in range(N):
            if i % 10 == 0:
                client.get_trades_history()
            else:
                client.get_account_balance()
        elapsed = clock() - start
    limits = SPOT_TIERS[tier]
    ideal = (N + N // 10 - limits.rest_max) / limits.rest_decay
    assert limiter.rate_limited == 0
    assert not [r for r in sb.requests if r["errors"]]
    assert limiter.responses == N
    assert ideal <= elapsed <= ideal * 1.10, (elapsed, ideal)


def test_spot_trading_burst_place_and_cancel(sandbox: tuple[Sandbox, SharedClock]) -> None:
    """500 limit orders each cancelled straight away (+1, then +8): 1,000 trading calls."""
    sb, clock = sandbox
    tier = "intermediate"
    key, secret = sb.create_key(tier=tier, balances={"ZUSD": "10000000"})
    limiter = SleepOnClock(spot_rate_limiter(tier, clock=clock), clock)
    with SpotClient(key, secret, environment=sb.environment, rate_limiter=limiter, max_retries=0) as client:
        start = clock()
        for i in range(N // 2):
            cl = f"burst-{i}"
            client.submit_order(
                ordertype="limit", type="buy", volume="0.001", pair="XBTUSD", price="1000", cl_ord_id=cl
            )
            client.cancel_order(cl_ord_id=cl)
        elapsed = clock() - start
    limits = SPOT_TIERS[tier]
    ideal = ((N // 2) * 9 - limits.trading_threshold) / limits.trading_decay
    assert limiter.rate_limited == 0
    assert not [r for r in sb.requests if r["errors"]]
    assert ideal <= elapsed <= ideal * 1.10, (elapsed, ideal)
    assert sb.orders(key) == [] or all(o.get("status") != "open" for o in sb.orders(key))


def test_without_the_limiter_the_sandbox_refuses(sandbox: tuple[Sandbox, SharedClock]) -> None:
    """The REST burst test can fail: the same calls with no limiter are refused by the sandbox's counter.

    The shared clock stands still, so the sandbox's counter (intermediate: max 20) does not decay: the
    first 20 Balance calls go through and the 21st is refused with ``EAPI:Rate limit exceeded``.
    """
    sb, _clock = sandbox
    key, secret = sb.create_key(tier="intermediate")
    with SpotClient(key, secret, environment=sb.environment, rate_limiter=NoRateLimit(), max_retries=0) as client:
        assert isinstance(client.rate_limiter, NoRateLimit)  # nothing on the client side waits
        with pytest.raises(RateLimitError) as info:
            for _ in range(25):
                client.get_account_balance()
    assert info.value.errors == ["EAPI:Rate limit exceeded"]
    sent = [r for r in sb.requests if r["path"] == "/0/private/Balance"]
    assert [r["errors"] for r in sent] == [[]] * 20 + [["EAPI:Rate limit exceeded"]]


def test_without_the_limiter_the_sandbox_refuses_trading(sandbox: tuple[Sandbox, SharedClock]) -> None:
    """The trading burst test can fail: placing and cancelling at once is refused with ``EOrder:Rate limit exceeded``.

    Intermediate threshold 125; each round is +1 (AddOrder) and +8 (CancelOrder of an order under 5 s old)
    on a counter that does not decay here: 13 rounds reach 117, the 14th AddOrder 118, and its CancelOrder
    (126) is refused.
    """
    sb, _clock = sandbox
    key, secret = sb.create_key(tier="intermediate", balances={"ZUSD": "10000000"})
    with SpotClient(key, secret, environment=sb.environment, rate_limiter=NoRateLimit(), max_retries=0) as client:
        assert isinstance(client.rate_limiter, NoRateLimit)
        with pytest.raises(RateLimitError) as info:
            for i in range(20):
                cl = f"raw-{i}"
                client.submit_order(
                    ordertype="limit", type="buy", volume="0.001", pair="XBTUSD", price="1000", cl_ord_id=cl
                )
                client.cancel_order(cl_ord_id=cl)
    assert info.value.errors == ["EOrder:Rate limit exceeded"]
    trading = [(r["path"], r["errors"]) for r in sb.requests if r["path"].startswith("/0/private/")]
    assert trading == [("/0/private/AddOrder", []), ("/0/private/CancelOrder", [])] * 13 + [
        ("/0/private/AddOrder", []),
        ("/0/private/CancelOrder", ["EOrder:Rate limit exceeded"]),
    ]


@pytest.mark.filterwarnings("ignore::krakenkit.KrakenDeprecationWarning")  # the Derivatives REST retirement notice
def test_derivatives_burst(sandbox: tuple[Sandbox, SharedClock]) -> None:
    from krakenkit.rest.derivatives import DerivativesClient

    sb, clock = sandbox
    if sb.futures is None:
        pytest.skip("sandbox without the Futures plug-in")
    key, secret = sb.create_futures_key()
    limiter = SleepOnClock(derivatives_rate_limiter(clock=clock), clock)
    with DerivativesClient(key, secret, environment=sb.environment, rate_limiter=limiter, max_retries=0) as client:
        start = clock()
        for _ in range(N // 4):
            client.get_open_orders()  # 2
            client.get_accounts()  # 2
            client.get_open_positions()  # 2
            client.get_fills()  # 2
        elapsed = clock() - start
    ideal = (N * 2 - 500) / 50.0
    assert limiter.rate_limited == 0
    assert not [r for r in sb.requests if r["errors"]]
    assert ideal <= elapsed <= ideal * 1.10, (elapsed, ideal)

"""The limiters against the sandbox's own counter models, on one injected clock.

A burst of 1,000 calls: the sandbox refuses none, and the time they take is within 10 % of the
minimum the tier allows (burst capacity, then the decay rate). Runs hours of simulated traffic in
well under a second; the HTTP variant is tests/integration/core/test_ratelimit_sandbox_http.py.
"""

from __future__ import annotations

import random

import pytest

from krakenkit._core.ratelimit import SPOT_TIERS, derivatives_rate_limiter, spot_rate_limiter
from krakenkit_sandbox.futures.ratelimit import RateLimiter as SandboxFuturesLimiter
from krakenkit_sandbox.spot.ratelimit import RestLimiter, TradingLimiter, cancel_cost

N = 1000


class FakeClock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


@pytest.mark.parametrize("tier", ["starter", "intermediate", "pro"])
def test_spot_rest_burst_of_1000(tier: str) -> None:
    clock = FakeClock()
    server = RestLimiter(clock)
    lim = spot_rate_limiter(tier, clock=clock)
    start = clock.t
    refused = 0
    rng = random.Random(7)
    for i in range(N):
        endpoint = "TradesHistory" if i % 10 == 0 else "Balance"
        clock.advance(lim.reserve(f"/0/private/{endpoint}"))
        clock.advance(rng.random() * 0.01)  # network latency: the server sees the call a bit later
        if not server.try_spend("key", tier, endpoint):
            refused += 1
    elapsed = clock.t - start
    limits = SPOT_TIERS[tier]
    total_cost = N + N // 10  # every 10th call costs 2
    ideal = (total_cost - limits.rest_max) / limits.rest_decay
    assert refused == 0
    assert ideal <= elapsed <= ideal * 1.10, (elapsed, ideal)


@pytest.mark.parametrize("tier", ["starter", "intermediate", "pro"])
def test_spot_trading_add_cancel_burst_of_1000(tier: str) -> None:
    """500 orders placed and each cancelled at once (+8): the costliest pattern."""
    clock = FakeClock()
    server = TradingLimiter(clock)
    lim = spot_rate_limiter(tier, clock=clock)
    placed: dict[str, float] = {}
    refused = 0
    start = clock.t
    for i in range(N // 2):
        clock.advance(lim.reserve("AddOrder", {"pair": "XBTUSD"}))
        if server.try_spend("acct", "XXBTZUSD", tier, 1):
            placed[f"O{i}"] = clock.t
            lim.on_response("AddOrder", {"pair": "XBTUSD"}, {"txid": [f"O{i}"]})
        else:
            refused += 1
        clock.advance(lim.reserve("CancelOrder", {"txid": f"O{i}"}))
        if not server.try_spend("acct", "XXBTZUSD", tier, cancel_cost(clock.t - placed[f"O{i}"])):
            refused += 1
        lim.on_response("CancelOrder", {"txid": f"O{i}"}, {"count": 1})
    elapsed = clock.t - start
    limits = SPOT_TIERS[tier]
    total_cost = (N // 2) * (1 + 8)
    ideal = (total_cost - limits.trading_threshold) / limits.trading_decay
    assert refused == 0
    assert ideal <= elapsed <= ideal * 1.10, (elapsed, ideal)


def test_derivatives_burst_of_1000() -> None:
    clock = FakeClock()
    server = SandboxFuturesLimiter(clock)
    lim = derivatives_rate_limiter(clock=clock)
    refused = 0
    start = clock.t
    for i in range(N):
        endpoint = "sendorder" if i % 2 else "openorders"
        clock.advance(lim.reserve(f"/derivatives/api/v3/{endpoint}"))
        if not server.take("key", "derivatives", 10 if endpoint == "sendorder" else 2):
            refused += 1
    elapsed = clock.t - start
    total_cost = (N // 2) * 12
    ideal = (total_cost - 500) / 50.0  # the token-bucket reading: 500 burst, then 50 / s
    assert refused == 0
    assert ideal <= elapsed <= ideal * 1.10, (elapsed, ideal)


def test_a_limiter_that_does_not_wait_is_refused() -> None:
    """The check above can fail: without the limiter's waits the sandbox refuses calls."""
    clock = FakeClock()
    server = RestLimiter(clock)
    refused = sum(not server.try_spend("key", "intermediate", "Balance") for _ in range(30))
    assert refused == 10

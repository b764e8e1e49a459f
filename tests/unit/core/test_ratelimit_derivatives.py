"""Derivatives limiter: 500 units / 10 s sliding budget, history pool, costs, modes, resync."""

from __future__ import annotations

import pytest

from krakenkit import RateLimitError
from krakenkit._core.ratelimit import DerivativesRateLimiter, SlidingWindow, derivatives_rate_limiter


class FakeClock:
    def __init__(self, t: float = 50.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


@pytest.mark.parametrize(
    ("endpoint", "params", "expected"),
    [
        ("/derivatives/api/v3/sendorder", None, ("derivatives", 10.0)),
        ("/derivatives/api/v3/editorder", None, ("derivatives", 10.0)),
        ("cancelorder", None, ("derivatives", 10.0)),
        ("/derivatives/api/v3/batchorder", {"json": '{"batchOrder": [{}, {}, {}]}'}, ("derivatives", 12.0)),
        ("/derivatives/api/v3/batchorder", {"batchOrder": [{}] * 5}, ("derivatives", 14.0)),
        ("/derivatives/api/v3/accounts", None, ("derivatives", 2.0)),
        ("/derivatives/api/v3/openpositions", None, ("derivatives", 2.0)),
        ("/derivatives/api/v3/openorders", None, ("derivatives", 2.0)),
        ("/derivatives/api/v3/fills", None, ("derivatives", 2.0)),
        ("/derivatives/api/v3/fills", {"lastFillTime": "2024-01-01T00:00:00Z"}, ("derivatives", 25.0)),
        ("/derivatives/api/v3/cancelallorders", None, ("derivatives", 25.0)),
        ("/derivatives/api/v3/tickers", None, ("public", 0.0)),
        ("/derivatives/api/v3/tickers/PF_XBTUSD", None, ("public", 0.0)),
        ("/derivatives/api/v3/instruments", None, ("public", 0.0)),
        ("/api/history/v3/orders", None, ("history", 1.0)),
        ("/api/history/v3/accountlogcsv", None, ("history", 6.0)),
        ("/api/history/v3/market/PF_XBTUSD/executions", None, ("public", 0.0)),
        ("/api/charts/v1/trade/PF_XBTUSD/1m", None, ("public", 0.0)),
        ("http://127.0.0.1:9/derivatives/api/v3/sendorder?x=1", None, ("derivatives", 10.0)),
    ],
)
def test_costs(endpoint: str, params: dict | None, expected: tuple[str, float]) -> None:
    assert derivatives_rate_limiter().cost(endpoint, params) == expected


def test_sliding_window_burst_then_paced() -> None:
    clock = FakeClock()
    lim = derivatives_rate_limiter(clock=clock, slack_seconds=0.0)
    sends = []
    for _ in range(120):
        clock.advance(lim.reserve("/derivatives/api/v3/sendorder"))
        sends.append(clock.t)
    assert sends[49] == sends[0]  # 50 x 10 units = 500 at once
    assert sends[50] == pytest.approx(sends[0] + 10.0)
    # no 10 s window ever holds more than 500 units
    for i, t in enumerate(sends):
        in_window = [s for s in sends[: i + 1] if s > t - 10.0]
        assert len(in_window) * 10 <= 500


def test_history_pool_refills_100_per_10_minutes() -> None:
    clock = FakeClock()
    lim = derivatives_rate_limiter(clock=clock, slack_seconds=0.0)
    for _ in range(100):
        assert lim.reserve("/api/history/v3/orders") == 0.0
    assert lim.reserve("/api/history/v3/orders") == pytest.approx(6.0)
    # the /derivatives budget is separate
    assert lim.reserve("/derivatives/api/v3/accounts") == 0.0


def test_raise_mode() -> None:
    clock = FakeClock()
    lim = derivatives_rate_limiter("raise", clock=clock)
    for _ in range(20):
        lim.reserve("/derivatives/api/v3/cancelallorders")
    with pytest.raises(RateLimitError) as info:
        lim.reserve("/derivatives/api/v3/cancelallorders")
    assert info.value.retry_after == pytest.approx(10.0, abs=0.01)
    assert lim.budget_used() == 500


def test_on_rate_limited_assumes_budget_spent() -> None:
    clock = FakeClock()
    lim = derivatives_rate_limiter(clock=clock, slack_seconds=0.0)
    assert lim.reserve("/derivatives/api/v3/accounts") == 0.0
    lim.on_rate_limited("/derivatives/api/v3/sendorder", None)
    assert lim.budget_used() == 500
    assert lim.reserve("/derivatives/api/v3/accounts") == pytest.approx(10.0)
    lim.on_rate_limited("/api/history/v3/orders", None)
    assert lim.history_used() == pytest.approx(100.0)


def test_sliding_window_rejects_impossible_cost() -> None:
    w = SlidingWindow(10, 1, FakeClock())
    with pytest.raises(ValueError):
        w.earliest(11)
    with pytest.raises(ValueError, match="mode"):
        DerivativesRateLimiter("maybe")  # type: ignore[arg-type]

"""Spot rate limiter: REST counter, per-pair trading counter with order ages, modes, resync."""

from __future__ import annotations

import pytest

from krakenkit import RateLimitError
from krakenkit._core.ratelimit import (
    SPOT_TIERS,
    DecayingCounter,
    NoRateLimit,
    RateLimiter,
    SpotRateLimiter,
    amend_cost,
    cancel_cost,
    edit_cost,
    normalize_pair_key,
    spot_rate_limiter,
)


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


def drive(limiter: SpotRateLimiter, clock: FakeClock, endpoint: str, n: int, params: dict | None = None) -> list[float]:
    """Call reserve n times, sleeping (on the fake clock) as told; return the send times."""
    sends = []
    for _ in range(n):
        wait = limiter.reserve(endpoint, params)
        clock.advance(wait)
        sends.append(clock.t)
    return sends


def test_protocol_conformance() -> None:
    limiter: RateLimiter = spot_rate_limiter()
    assert limiter.reserve("/0/public/Time") == 0.0
    other: RateLimiter = NoRateLimit()
    assert other.reserve("x") == 0.0


@pytest.mark.parametrize("tier", ["starter", "intermediate", "pro"])
def test_rest_burst_then_decay_rate(tier: str) -> None:
    clock = FakeClock()
    lim = spot_rate_limiter(tier, clock=clock, headroom=0.0, slack_seconds=0.0)
    limits = SPOT_TIERS[tier]
    sends = drive(lim, clock, "/0/private/Balance", 200)
    burst = int(limits.rest_max)
    assert all(t == sends[0] for t in sends[:burst])
    assert sends[burst] > sends[0]
    # afterwards exactly one call per 1/decay seconds
    gaps = [b - a for a, b in zip(sends[burst:], sends[burst + 1 :], strict=False)]
    assert all(g == pytest.approx(1 / limits.rest_decay) for g in gaps)


def test_rest_costs_and_exclusions() -> None:
    lim = spot_rate_limiter(clock=FakeClock())
    assert lim.costs("/0/private/Balance") == [("rest", 1.0)]
    for name in ("Ledgers", "QueryLedgers", "TradesHistory", "QueryTrades"):
        assert lim.costs(f"/0/private/{name}") == [("rest", 2.0)]
    assert lim.costs("/0/public/Ticker", {"pair": "XBTUSD"}) == []
    assert lim.costs("CancelAll") == []
    assert lim.costs("AddOrder", {"pair": "XBTUSD"}) == [("pair:XBTUSD", 1.0)]
    assert lim.costs("AddOrder", {"pair": "XBTUSD", "validate": True}) == []
    assert lim.costs("add_order", {"symbol": "BTC/USD"}) == [("pair:XBTUSD", 1.0)]
    assert lim.costs("AddOrderBatch", {"pair": "XBTUSD", "orders": [{}] * 6}) == [("pair:XBTUSD", 3.0)]


def test_headroom_keeps_units_free() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter("intermediate", clock=clock)  # default headroom 1
    sends = drive(lim, clock, "Balance", 20)
    assert sends[18] == sends[0] and sends[19] > sends[0]


def test_age_cost_tables() -> None:
    assert [amend_cost(a) for a in (0, 4.9, 5, 9.9, 10, 14.9, 15, None)] == [4, 4, 3, 3, 2, 2, 1, 1]
    assert [edit_cost(a) for a in (0, 5, 10, 15, 45, 90, None)] == [7, 6, 5, 3, 2, 1, 1]
    assert [cancel_cost(a) for a in (0, 5, 10, 15, 45, 90, 300, None)] == [8, 6, 5, 4, 2, 1, 0, 0]


def test_cancel_cost_uses_tracked_age_by_txid_and_cl_ord_id() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter(clock=clock)
    params = {"pair": "XBTUSD", "cl_ord_id": "my-1"}
    assert lim.reserve("/0/private/AddOrder", params) == 0.0
    lim.on_response("/0/private/AddOrder", params, {"txid": ["OAAAAA-BBBBB-CCCCCC"], "descr": {}})
    assert lim.costs("CancelOrder", {"txid": "OAAAAA-BBBBB-CCCCCC"}) == [("pair:XBTUSD", 8.0)]
    assert lim.costs("CancelOrder", {"cl_ord_id": "my-1"}) == [("pair:XBTUSD", 8.0)]
    clock.advance(12)
    assert lim.costs("CancelOrder", {"cl_ord_id": "my-1"}) == [("pair:XBTUSD", 5.0)]
    assert lim.costs("AmendOrder", {"txid": "OAAAAA-BBBBB-CCCCCC"}) == [("pair:XBTUSD", 2.0)]
    assert lim.costs("EditOrder", {"txid": "OAAAAA-BBBBB-CCCCCC", "pair": "XBTUSD"}) == [("pair:XBTUSD", 5.0)]
    clock.advance(300)
    assert lim.costs("CancelOrder", {"txid": "OAAAAA-BBBBB-CCCCCC"}) == []
    # unknown orders are taken as old
    assert lim.costs("CancelOrder", {"txid": "OUNKNO-WNXXX-XXXXXX"}) == []
    assert lim.costs("AmendOrder", {"txid": "OUNKNO-WNXXX-XXXXXX"}) == []


def test_ws_order_ids_and_batch_tracking() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter(clock=clock)
    lim.on_response("add_order", {"symbol": "BTC/USD", "cl_ord_id": "c1"}, {"order_id": "O1", "cl_ord_id": "c1"})
    lim.on_response(
        "AddOrderBatch",
        {"pair": "ETHUSD", "orders": [{"cl_ord_id": "b1"}, {}]},
        {"orders": [{"txid": "O2"}, {"txid": "O3"}]},
    )
    costs = dict(lim.costs("batch_cancel", {"orders": ["O1", "O2"], "cl_ord_id": ["b1"]}))
    # O2 and b1 are the same order: counted once
    assert costs == {"pair:XBTUSD": 8.0, "pair:ETHUSD": 8.0}
    lim.on_response("cancel_order", {"order_id": ["O1"]}, {"order_id": "O1"})
    assert lim.order_age("O1") is None and lim.order_age("c1") is None


def test_edit_replaces_order_id() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter(clock=clock)
    lim.on_response("AddOrder", {"pair": "XBTUSD"}, {"txid": ["OLD"]})
    clock.advance(100)
    lim.on_response("EditOrder", {"txid": "OLD", "pair": "XBTUSD"}, {"txid": "NEW", "originaltxid": "OLD"})
    assert lim.order_age("OLD") is None
    assert lim.costs("CancelOrder", {"txid": "NEW"}) == [("pair:XBTUSD", 8.0)]


def test_trading_counter_waits_per_pair_and_pairs_are_independent() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter("starter", clock=clock, trading_headroom=0.0, slack_seconds=0.0)
    sends = drive(lim, clock, "AddOrder", 61, {"pair": "XBTUSD"})
    assert sends[59] == sends[0]
    assert sends[60] - sends[0] == pytest.approx(1.0)  # decay 1/s
    # another pair is not affected
    assert lim.reserve("AddOrder", {"pair": "ETHUSD"}) == 0.0
    # the same pair written three ways shares one counter
    assert normalize_pair_key("BTC/USD") == normalize_pair_key("XXBTZUSD") == "XBTUSD"
    assert lim.reserve("add_order", {"symbol": "BTC/USD"}) == pytest.approx(1.0)


def test_raise_mode_refuses_without_booking() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter("intermediate", "raise", clock=clock, headroom=0.0)
    for _ in range(20):
        assert lim.reserve("Balance") == 0.0
    with pytest.raises(RateLimitError) as info:
        lim.reserve("Balance")
    assert info.value.retry_after == pytest.approx(2.0, abs=0.01)
    assert info.value.retry_safe
    level = lim.rest_level()
    with pytest.raises(RateLimitError):
        lim.reserve("Balance")
    assert lim.rest_level() == level  # nothing booked
    clock.advance(info.value.retry_after)
    assert lim.reserve("Balance") == 0.0


def test_on_rate_limited_assumes_full() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter("pro", clock=clock, headroom=0.0, slack_seconds=0.0)
    assert lim.reserve("Balance") == 0.0
    lim.on_rate_limited("/0/private/Balance", {})
    assert lim.rest_level() == pytest.approx(20.0)
    assert lim.reserve("Balance") == pytest.approx(1.0)
    # trading resync for the order's pair
    lim.on_rate_limited("AddOrder", {"pair": "ETHUSD"})
    assert lim.trading_level("ETH/USD") == pytest.approx(180.0)
    assert lim.reserve("AddOrder", {"pair": "ETHUSD"}) == pytest.approx(2 / 3.75)


def test_observe_ratecounter_and_executions() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter("intermediate", clock=clock, trading_headroom=0.0, slack_seconds=0.0)
    lim.observe_ratecounter("BTC/USD", 124.0)
    assert lim.trading_level("XBTUSD") == pytest.approx(124.0)
    assert lim.reserve("AddOrder", {"pair": "XBTUSD"}) == 0.0
    assert lim.reserve("AddOrder", {"pair": "XBTUSD"}) == pytest.approx(1 / 2.34)
    lim.observe_execution({"exec_type": "new", "order_id": "OX", "symbol": "BTC/USD", "cl_ord_id": "cx"})
    assert lim.order_age("cx") == 0.0
    lim.observe_execution(
        {"exec_type": "canceled", "order_status": "canceled", "order_id": "OX", "symbol": "BTC/USD", "ratecounter": 3}
    )
    assert lim.order_age("OX") is None
    clock.advance(10)
    assert lim.trading_level("BTC/USD") == pytest.approx(0.0)


def test_bookings_queue_in_order_across_concurrent_reservations() -> None:
    """Reservations made at the same instant get increasing send times (no double use of capacity)."""
    clock = FakeClock()
    lim = spot_rate_limiter("intermediate", clock=clock, headroom=0.0, slack_seconds=0.0)
    waits = [lim.reserve("Balance") for _ in range(25)]
    assert waits[:20] == [0.0] * 20
    assert waits[20:] == pytest.approx([2.0, 4.0, 6.0, 8.0, 10.0])


def test_multi_pair_call_is_booked_at_the_latest_time() -> None:
    clock = FakeClock()
    lim = spot_rate_limiter("starter", clock=clock, trading_headroom=0.0, slack_seconds=0.0)
    lim.on_response("AddOrder", {"pair": "XBTUSD"}, {"txid": ["A"]})
    lim.on_response("AddOrder", {"pair": "ETHUSD"}, {"txid": ["B"]})
    lim.observe_ratecounter("XBTUSD", 60.0)  # full: a +8 cancel must wait 8 s
    wait = lim.reserve("CancelOrderBatch", {"orders": [{"txid": "A"}, {"txid": "B"}]})
    assert wait == pytest.approx(8.0)
    # the ETHUSD part was booked for the send time, not for now
    clock.advance(4.0)
    assert lim.trading_level("ETHUSD") == pytest.approx(0.0)
    clock.advance(4.0)
    assert lim.trading_level("ETHUSD") == pytest.approx(8.0)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="tier"):
        SpotRateLimiter("gold")
    with pytest.raises(ValueError, match="mode"):
        SpotRateLimiter("pro", "sometimes")  # type: ignore[arg-type]
    c = DecayingCounter(10, 1, FakeClock())
    with pytest.raises(ValueError):
        c.earliest(11)


def test_thread_safety_no_capacity_double_booked() -> None:
    import threading

    clock = FakeClock()
    lim = spot_rate_limiter("pro", clock=clock, headroom=0.0, slack_seconds=0.0)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            w = lim.reserve("Balance")
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    waits.sort()
    # 400 calls at the same instant: 20 now, then one per second
    assert waits[:20] == [0.0] * 20
    assert waits[-1] == pytest.approx(380.0)
    assert len(set(round(w, 6) for w in waits[20:])) == 380

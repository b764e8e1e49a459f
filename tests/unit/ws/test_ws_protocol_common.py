"""Pure bookkeeping: request normalization, liveness, backoff, connect budget, API parameters."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from krakenkit._core import jsonutil
from krakenkit._core.errors import ValidationError
from krakenkit.ws.api_client import _money
from krakenkit.ws.protocol_common import Backoff, ConnectBudget, Liveness, SubRequest, normalize_requests


def test_normalize_requests_accepts_the_reference_sdk_forms() -> None:
    assert normalize_requests("heartbeat") == [SubRequest("heartbeat", {})]
    assert normalize_requests({"topic": "ticker", "payload": {"symbol": ["BTC/USD"]}}) == [
        SubRequest("ticker", {"symbol": ["BTC/USD"]})
    ]
    assert [r.topic for r in normalize_requests(["a", {"topic": "b"}])] == ["a", "b"]
    bad: object
    for bad in ([], 3, {"payload": {}}, {"topic": "x", "symbol": ["BTC/USD"]}, {"topic": "x", "payload": 1}):
        with pytest.raises(ValidationError):
            normalize_requests(bad)


def test_liveness_pings_when_idle_and_goes_stale_after_the_window() -> None:
    live = Liveness(staleness_timeout=2.0, ping_interval=0.5, now=100.0)
    assert not live.ping_due(100.4)
    assert live.ping_due(100.5)
    live.on_ping(100.5)
    assert not live.ping_due(100.6)
    live.on_rx(101.0)
    assert not live.is_stale(103.0)
    assert live.is_stale(103.01)
    assert 0 < live.next_check_in(101.0) <= 0.51


def test_backoff_first_retry_is_immediate_then_capped_exponential_with_jitter() -> None:
    b = Backoff(first_jitter=0.05, base=0.25, factor=2, max_delay=4, jitter=0.5)
    rng = random.Random(1)
    assert all(0 <= b.delay(0, rng) <= 0.05 for _ in range(100))
    for attempt, cap in ((1, 0.25), (2, 0.5), (3, 1.0), (10, 4.0), (1000, 4.0)):
        for _ in range(50):
            d = b.delay(attempt, rng)
            assert cap * 0.5 <= d <= cap


def test_connect_budget_is_a_sliding_window() -> None:
    budget = ConnectBudget(3, 10.0)
    for t in (0.0, 1.0, 2.0):
        assert budget.wait_time(t) == 0
        budget.record(t)
    assert budget.wait_time(5.0) == pytest.approx(5.0)
    assert budget.wait_time(10.0) == 0


def test_money_params_become_exact_json_numbers() -> None:
    body = _money(
        {
            "order_qty": "1.20",
            "limit_price": Decimal("26500.4"),
            "display_qty": 3,
            "triggers": {"reference": "last", "price": "-2.0", "price_type": "pct"},
            "x": None,
        }
    )
    assert body == {
        "order_qty": Decimal("1.20"),
        "limit_price": Decimal("26500.4"),
        "display_qty": Decimal(3),
        "triggers": {"reference": "last", "price": Decimal("-2.0"), "price_type": "pct"},
    }
    assert jsonutil.dumps(body).startswith(b'{"order_qty":1.20,"limit_price":26500.4')
    with pytest.raises(ValidationError):
        _money({"order_qty": "abc"})
    with pytest.raises(ValidationError):
        _money({"limit_price": "-1"})

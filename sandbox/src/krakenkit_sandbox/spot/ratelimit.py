"""Kraken Spot rate limit counters (REST call counter per key, trading counter per account + pair)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TRADING_TIERS", "RestLimiter", "TradingLimiter", "amend_cost", "cancel_cost", "edit_cost", "max_rate_count"]

REST_TIERS: dict[str, tuple[float, float]] = {  # max, decay per second
    "starter": (15.0, 0.33),
    "intermediate": (20.0, 0.5),
    "pro": (20.0, 1.0),
}
TRADING_TIERS: dict[str, tuple[float, float]] = {  # threshold, decay per second
    "starter": (60.0, 1.0),
    "intermediate": (125.0, 2.34),
    "pro": (180.0, 3.75),
}
REST_COSTS = {"Ledgers": 2, "QueryLedgers": 2, "TradesHistory": 2}
# trading endpoints do not count against the REST counter, they use the per-pair trading counter
REST_FREE = frozenset(
    {
        "AddOrder",
        "AddOrderBatch",
        "AmendOrder",
        "EditOrder",
        "CancelOrder",
        "CancelOrderBatch",
        "CancelAll",
        "CancelAllOrdersAfter",
    }
)


def amend_cost(age: float) -> float:
    return 1 + (3 if age < 5 else 2 if age < 10 else 1 if age < 15 else 0)


def edit_cost(age: float) -> float:
    for limit, extra in ((5, 6), (10, 5), (15, 4), (45, 2), (90, 1)):
        if age < limit:
            return 1 + extra
    return 1


def cancel_cost(age: float) -> float:
    for limit, extra in ((5, 8), (10, 6), (15, 5), (45, 4), (90, 2), (300, 1)):
        if age < limit:
            return extra
    return 0


@dataclass
class _Counter:
    value: float = 0.0
    at: float = 0.0


class _Decaying:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._c: dict[object, _Counter] = {}

    def _current(self, key: object, decay: float) -> _Counter:
        now = self._clock()
        c = self._c.get(key)
        if c is None:
            c = _Counter(0.0, now)
            self._c[key] = c
        else:
            c.value = max(0.0, c.value - (now - c.at) * decay)
            c.at = now
        return c

    def value(self, key: object, decay: float) -> float:
        return self._current(key, decay).value

    def reset(self) -> None:
        self._c.clear()


class RestLimiter(_Decaying):
    def try_spend(self, api_key: str, tier: str, endpoint: str) -> bool:
        if endpoint in REST_FREE:
            return True
        cap, decay = REST_TIERS.get(tier, REST_TIERS["intermediate"])
        cost = REST_COSTS.get(endpoint, 1)
        c = self._current(api_key, decay)
        if c.value + cost > cap:
            return False
        c.value += cost
        return True


def max_rate_count(tier: str) -> int:
    """The tier's trading counter threshold: the ``maxratecount`` of the ``executions`` subscribe ack
    ("the max rate counter value for the user transaction rate. It is based on user tier.")."""
    return int(TRADING_TIERS.get(tier, TRADING_TIERS["intermediate"])[0])


class TradingLimiter(_Decaying):
    """Per account and pair trading counter (shared by REST and WebSocket, as on Kraken)."""

    def try_spend(self, account: str, pair: str, tier: str, cost: float) -> bool:
        cap, decay = TRADING_TIERS.get(tier, TRADING_TIERS["intermediate"])
        c = self._current((account, pair), decay)
        if c.value + cost > cap:
            return False
        c.value += cost
        return True

    def add(self, account: str, pair: str, tier: str, cost: float) -> None:
        """Count ``cost`` without enforcing the threshold (rate limits switched off: the counter is still
        kept, so ``ratecount`` reports stay meaningful)."""
        _cap, decay = TRADING_TIERS.get(tier, TRADING_TIERS["intermediate"])
        self._current((account, pair), decay).value += cost

    def current(self, account: str, pair: str, tier: str) -> float:
        """The counter now (after decay)."""
        _cap, decay = TRADING_TIERS.get(tier, TRADING_TIERS["intermediate"])
        return self.value((account, pair), decay)

    def refund(self, account: str, pair: str, tier: str, cost: float) -> None:
        _cap, decay = TRADING_TIERS.get(tier, TRADING_TIERS["intermediate"])
        c = self._current((account, pair), decay)
        c.value = max(0.0, c.value - cost)

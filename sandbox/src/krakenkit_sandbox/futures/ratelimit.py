"""Derivatives rate budgets: 500 cost units per 10 s on ``/derivatives``, a history pool of
100 tokens refilled 100 per 10 minutes on ``/api/history``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DERIVATIVES_COSTS", "RateLimiter", "TokenBucket", "derivatives_cost", "history_cost"]

DERIVATIVES_CAPACITY = 500.0
DERIVATIVES_WINDOW = 10.0
HISTORY_CAPACITY = 100.0
HISTORY_WINDOW = 600.0

DERIVATIVES_COSTS: dict[str, int] = {
    "sendorder": 10,
    "editorder": 10,
    "cancelorder": 10,
    "accounts": 2,
    "openpositions": 2,
    "openorders": 2,
    "cancelallorders": 25,
    "cancelallordersafter": 25,
    "withdrawal": 100,
    "transfer": 100,
    "transfer/subaccount": 100,
}


def derivatives_cost(endpoint: str, params: dict[str, list[str]], batch_size: int = 0) -> int:
    """Cost of a call to ``/derivatives/api/v3/<endpoint>``."""
    if endpoint == "batchorder":
        return 9 + batch_size
    if endpoint == "fills":
        return 25 if params.get("lastFillTime") else 2
    return DERIVATIVES_COSTS.get(endpoint, 1)


def history_cost(endpoint: str) -> int:
    return 6 if endpoint == "accountlogcsv" else 1


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float
    updated: float

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill_per_second)
        self.updated = max(self.updated, now)

    def try_take(self, cost: float, now: float) -> bool:
        self._refill(now)
        if cost <= self.tokens:
            self.tokens -= cost
            return True
        return False

    def seconds_until(self, cost: float, now: float) -> float:
        self._refill(now)
        missing = cost - self.tokens
        return 0.0 if missing <= 0 else missing / self.refill_per_second


class RateLimiter:
    """Per-key buckets for both pools."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def _bucket(self, key: str, pool: str) -> TokenBucket:
        b = self._buckets.get((key, pool))
        if b is None:
            if pool == "derivatives":
                b = TokenBucket(
                    DERIVATIVES_CAPACITY, DERIVATIVES_CAPACITY / DERIVATIVES_WINDOW, DERIVATIVES_CAPACITY, self._now()
                )
            else:
                b = TokenBucket(HISTORY_CAPACITY, HISTORY_CAPACITY / HISTORY_WINDOW, HISTORY_CAPACITY, self._now())
            self._buckets[(key, pool)] = b
        return b

    def take(self, key: str, pool: str, cost: float) -> bool:
        return self._bucket(key, pool).try_take(cost, self._now())

    def retry_after(self, key: str, pool: str, cost: float) -> float:
        return self._bucket(key, pool).seconds_until(cost, self._now())

"""Client-side models of Kraken's rate counters (pure: no sleeping, no I/O).

A limiter books the cost of a call and says how long to wait first; the sync client sleeps with
``time.sleep``, the async one with ``asyncio.sleep``. The contract is :class:`RateLimiter`::

    wait = limiter.reserve(endpoint, params)      # book the cost, 0.0 = send now
    sleep(wait); send ...
    limiter.on_response(endpoint, params, result) # success: learn order ids / placement times
    limiter.on_rate_limited(endpoint, params)     # Kraken said "rate limit": assume the counter full

Models (values from Kraken's documentation, see ``kraken-reference/README.md``):

=========================== ======================================================================
Spot REST counter, per key   +1 a call, +2 for Ledgers/QueryLedgers/TradesHistory/QueryTrades;
                             max 15/20/20, decay 0.33/0.5/1 per s (starter/intermediate/pro).
                             Trading calls (AddOrder, AmendOrder, EditOrder, CancelOrder, their
                             batches, CancelAll, CancelAllOrdersAfter) do not count here.
Spot trading counter, per    add +1, amend +1 (+3/+2/+1 under 5/10/15 s of order age),
pair (REST, WS and FIX)      edit +1 (+6/+5/+4/+2/+1 under 5/10/15/45/90 s),
                             cancel +8/+6/+5/+4/+2/+1 under 5/10/15/45/90/300 s, batch add +n/2;
                             decay 1/2.34/3.75 per s, threshold 60/125/180.
Derivatives ``/derivatives``  500 cost units per 10 s (sliding window, the strictest reading):
                             sendorder/editorder/cancelorder 10, batchorder 9+n, accounts/
                             openpositions/openorders 2, fills 2 (25 with lastFillTime),
                             cancelallorders 25 ...
Derivatives ``/api/history``  100 tokens, refilled 100 per 10 minutes.
=========================== ======================================================================

Order ages: the limiter remembers when each order was placed (``on_response`` of AddOrder /
add_order / batches / EditOrder, or :meth:`SpotRateLimiter.observe_order` from an executions feed)
by ``txid``/``order_id`` and ``cl_ord_id``. It measures age from the moment the acknowledgement was
seen, which is later than Kraken's own timestamp, so its cost estimate is never lower than Kraken's.
An order it has never seen is treated as old (amend/edit +1, cancel 0).

Scheduling: every counter keeps the bookings not yet sent, in order. A new call is booked at the
earliest moment not before the previous booking at which the counter (decayed, plus the new cost)
stays within the limit. A call that touches several counters (a batch cancel across pairs) is
booked on all of them at the latest of those moments. In ``mode="raise"`` a call that would have to
wait is refused with :class:`~krakenkit.RateLimitError` (``retry_after`` set) and nothing is booked.

The limiters are thread-safe. Their clock is injectable (``clock=``, default ``time.monotonic``),
which is how the tests run hours of traffic in milliseconds.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .errors import RateLimitError

__all__ = [
    "DERIVATIVES_COSTS",
    "DERIVATIVES_PUBLIC",
    "SPOT_REST_COSTS",
    "SPOT_TIERS",
    "SPOT_TRADING_ENDPOINTS",
    "DecayingCounter",
    "DerivativesRateLimiter",
    "NoRateLimit",
    "RateLimiter",
    "SlidingWindow",
    "SpotRateLimiter",
    "SpotTierLimits",
    "amend_cost",
    "cancel_cost",
    "derivatives_rate_limiter",
    "edit_cost",
    "normalize_pair_key",
    "shared_derivatives_rate_limiter",
    "shared_spot_rate_limiter",
    "spot_rate_limiter",
]

log = logging.getLogger("krakenkit.ratelimit")

Clock = Callable[[], float]
Mode = Literal["wait", "raise"]
Tier = Literal["starter", "intermediate", "pro"]

_EPS = 1e-9


class RateLimiter(Protocol):
    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        """Book the call's cost; return the seconds to wait before sending (0.0 = send now).

        Raises :class:`krakenkit.RateLimitError` instead when configured to raise.
        """
        ...

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        """Learn from a successful response (e.g. Spot trading counter hints)."""
        ...

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        """Kraken said we are over: resynchronise (assume the counter is full)."""
        ...


class NoRateLimit:
    """A limiter that never waits."""

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        return 0.0

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        return None

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        return None


# --- tiers and costs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpotTierLimits:
    """Kraken's published Spot limits for one verification tier."""

    name: str
    rest_max: float
    rest_decay: float  # per second
    trading_threshold: float
    trading_decay: float  # per second
    max_open_orders: int  # per pair

    @property
    def rest_calls_per_second(self) -> float:
        """Sustained rate of +1 calls the REST counter allows."""
        return self.rest_decay


SPOT_TIERS: Mapping[str, SpotTierLimits] = {
    "starter": SpotTierLimits("starter", 15.0, 0.33, 60.0, 1.0, 60),
    "intermediate": SpotTierLimits("intermediate", 20.0, 0.5, 125.0, 2.34, 80),
    "pro": SpotTierLimits("pro", 20.0, 1.0, 180.0, 3.75, 225),
}

#: REST counter costs that differ from +1 (Kraken's docs say +4 on some pages: pass your own table).
SPOT_REST_COSTS: Mapping[str, float] = {"Ledgers": 2.0, "QueryLedgers": 2.0, "TradesHistory": 2.0, "QueryTrades": 2.0}

#: Endpoints on the per-pair trading counter instead of the REST counter (REST and WS v2 names).
SPOT_TRADING_ENDPOINTS: frozenset[str] = frozenset(
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

_WS_TO_REST = {
    "add_order": "AddOrder",
    "amend_order": "AmendOrder",
    "edit_order": "EditOrder",
    "cancel_order": "CancelOrder",
    "cancel_all": "CancelAll",
    "cancel_all_orders_after": "CancelAllOrdersAfter",
    "batch_add": "AddOrderBatch",
    "batch_cancel": "CancelOrderBatch",
}

#: Derivatives ``/derivatives/api/v3`` costs; unknown private endpoints cost 1.
DERIVATIVES_COSTS: Mapping[str, float] = {
    "sendorder": 10.0,
    "editorder": 10.0,
    "cancelorder": 10.0,
    "accounts": 2.0,
    "openpositions": 2.0,
    "openorders": 2.0,
    "fills": 2.0,
    "cancelallorders": 25.0,
    "cancelallordersafter": 25.0,
    "withdrawal": 100.0,
    "transfer": 100.0,
    "transfer/subaccount": 100.0,
}
#: Public Derivatives endpoints: limited per IP by Kraken, not by the key budget.
DERIVATIVES_PUBLIC: frozenset[str] = frozenset(
    {
        "tickers",
        "orderbook",
        "instruments",
        "instruments/status",
        "history",
        "feeschedules",
        "historical-funding-rates",
        "rfqs",
    }
)
_HISTORY_COSTS: Mapping[str, float] = {"accountlogcsv": 6.0}


def amend_cost(age: float | None) -> float:
    """Trading-counter cost of amending an order ``age`` seconds old (None = unknown, taken as old)."""
    if age is None:
        return 1.0
    return 1.0 + (3.0 if age < 5 else 2.0 if age < 10 else 1.0 if age < 15 else 0.0)


def edit_cost(age: float | None) -> float:
    """Trading-counter cost of editing an order ``age`` seconds old."""
    if age is not None:
        for limit, extra in ((5, 6.0), (10, 5.0), (15, 4.0), (45, 2.0), (90, 1.0)):
            if age < limit:
                return 1.0 + extra
    return 1.0


def cancel_cost(age: float | None) -> float:
    """Trading-counter cost of cancelling an order ``age`` seconds old (0 from 300 s on)."""
    if age is not None:
        for limit, extra in ((5, 8.0), (10, 6.0), (15, 5.0), (45, 4.0), (90, 2.0), (300, 1.0)):
            if age < limit:
                return extra
    return 0.0


# --- counter models --------------------------------------------------------------------------------


class DecayingCounter:
    """Kraken's counter: rises by each call's cost, decays linearly to zero, refuses above ``capacity``.

    Also models a token bucket (the used part of the bucket decays at the refill rate).
    ``headroom`` units are kept free, covering a server that decays in whole steps (a counter that
    "drops by 1 every 2 s" lags the continuous model by at most one step).
    Not thread-safe on its own; the limiters lock around it.
    """

    def __init__(
        self, capacity: float, decay: float, clock: Clock, *, headroom: float = 0.0, initial: float = 0.0
    ) -> None:
        if capacity <= 0 or decay <= 0:
            raise ValueError("capacity and decay must be positive")
        if not 0 <= headroom < capacity:
            raise ValueError("headroom must be >= 0 and below capacity")
        self.capacity = float(capacity)
        self.decay = float(decay)
        self.headroom = float(headroom)
        self._clock = clock
        now = clock()
        self._value = float(initial)
        self._at = now
        self._pending: deque[tuple[float, float]] = deque()  # (send time, cost), send time > _at

    @property
    def limit(self) -> float:
        return self.capacity - self.headroom

    def _fold(self, now: float) -> None:
        while self._pending and self._pending[0][0] <= now:
            t, cost = self._pending.popleft()
            self._value = max(0.0, self._value - (t - self._at) * self.decay) + cost
            self._at = t
        if now > self._at:
            self._value = max(0.0, self._value - (now - self._at) * self.decay)
            self._at = now

    def _level_after_pending(self) -> tuple[float, float]:
        """(time of the last booking or now, level then)."""
        value, at = self._value, self._at
        for t, cost in self._pending:
            value = max(0.0, value - (t - at) * self.decay) + cost
            at = t
        return at, value

    def level(self) -> float:
        """The counter's level now (bookings due later are not included)."""
        self._fold(self._clock())
        return self._value

    def earliest(self, cost: float, now: float | None = None) -> float:
        """Earliest send time for ``cost`` (not before already booked sends); books nothing."""
        now = self._clock() if now is None else now
        self._fold(now)
        at, value = self._level_after_pending()
        start = max(now, at)
        value = max(0.0, value - (start - at) * self.decay)
        over = value + cost - self.limit
        if over <= _EPS:
            return start
        if cost > self.limit + _EPS:
            raise ValueError(f"a cost of {cost} can never fit a limit of {self.limit}")
        return start + over / self.decay

    def book(self, cost: float, at: float) -> None:
        """Book ``cost`` as sent at time ``at`` (from :meth:`earliest`)."""
        now = self._clock()
        self._fold(now)
        if at <= now:
            self._value += cost
            return
        if self._pending and at < self._pending[-1][0]:
            at = self._pending[-1][0]
        self._pending.append((at, cost))

    def set_level(self, value: float) -> None:
        """Resynchronise: the counter is ``value`` now (bookings due later stay booked)."""
        now = self._clock()
        self._fold(now)
        self._value = max(0.0, float(value))
        self._at = now

    def fill(self) -> None:
        """Kraken said the counter is over: assume it is at capacity now."""
        self.set_level(max(self.capacity, self.level()))


class SlidingWindow:
    """At most ``capacity`` cost units within any ``window`` seconds (sends booked in order)."""

    def __init__(self, capacity: float, window: float, clock: Clock) -> None:
        if capacity <= 0 or window <= 0:
            raise ValueError("capacity and window must be positive")
        self.capacity = float(capacity)
        self.window = float(window)
        self._clock = clock
        self._entries: deque[tuple[float, float]] = deque()

    def _prune(self, now: float) -> None:
        while self._entries and self._entries[0][0] + self.window <= now:
            self._entries.popleft()

    def used(self) -> float:
        now = self._clock()
        self._prune(now)
        return sum(c for t, c in self._entries if t <= now)

    def earliest(self, cost: float, now: float | None = None) -> float:
        now = self._clock() if now is None else now
        if cost > self.capacity + _EPS:
            raise ValueError(f"a cost of {cost} can never fit a budget of {self.capacity}")
        self._prune(now)
        t = max(now, self._entries[-1][0]) if self._entries else now
        while True:
            in_window = [(e, c) for e, c in self._entries if e + self.window > t]
            total = sum(c for _, c in in_window)
            if total + cost <= self.capacity + _EPS:
                return t
            # wait until enough of the oldest entries have left the window
            need = total + cost - self.capacity
            freed = 0.0
            for e, c in in_window:
                freed += c
                if freed >= need - _EPS:
                    t = e + self.window
                    break

    def book(self, cost: float, at: float) -> None:
        if self._entries and at < self._entries[-1][0]:
            at = self._entries[-1][0]
        self._entries.append((at, cost))

    def fill(self) -> None:
        """Assume the budget is spent as of now."""
        now = self._clock()
        self._prune(now)
        used = sum(c for t, c in self._entries if t <= now)
        if used < self.capacity:
            self._entries.append((now, self.capacity - used))
            # keep the deque ordered by time
            self._entries = deque(sorted(self._entries, key=lambda e: e[0]))


# --- helpers -----------------------------------------------------------------------------------------

_ASSET_ALIASES = {"BTC": "XBT", "DOGE": "XDG"}


def normalize_pair_key(symbol: str) -> str:
    """A stable key for a Spot pair written in any notation: ``BTC/USD``, ``XBTUSD``, ``XXBTZUSD`` -> ``XBTUSD``.

    Heuristic (no AssetPairs needed); pass ``pair_key=mapper.to_rest`` to a limiter for exactness.
    """
    s = symbol.strip().upper()
    if "/" in s:
        base, quote = s.split("/", 1)
        return _ASSET_ALIASES.get(base, base) + _ASSET_ALIASES.get(quote, quote)
    if len(s) == 8 and s[0] in "XZ" and s[4] in "XZ":
        return s[1:4] + s[5:8]
    for alias, code in _ASSET_ALIASES.items():
        if s.startswith(alias) and len(s) > len(alias) + 2:
            return code + s[len(alias) :]
    return s


def _endpoint_name(endpoint: str) -> str:
    """``/0/private/AddOrder`` / ``AddOrder`` / ``add_order`` -> ``AddOrder``."""
    name = endpoint.strip().rstrip("/")
    for prefix in ("/0/private/", "0/private/", "/0/public/", "0/public/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return _WS_TO_REST.get(name, name)


def _is_public_spot(endpoint: str) -> bool:
    return "/public/" in endpoint or endpoint.startswith("0/public")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str) and "," in value:
        return [v for v in value.split(",") if v]
    return [value]


def _plain(result: Any) -> Any:
    """A response as plain dict/list: accepts dicts, typed objects with ``raw``/``result``."""
    if isinstance(result, (dict, list)) or result is None:
        return result
    for attr in ("raw", "result"):
        inner = getattr(result, attr, None)
        if isinstance(inner, Mapping):
            inner = dict(inner)
        if isinstance(inner, (dict, list)):
            if attr == "raw" and isinstance(inner, dict) and "result" in inner and "error" in inner:
                return inner["result"]
            return inner
    return result


def _delay_until(at: float, now: float, slack: float) -> tuple[float, float]:
    """(seconds to wait, booking time) for a call the counters allow at ``at``; a real wait gets ``slack``."""
    wait = at - now
    if wait > _EPS:
        return wait + slack, at + slack
    return 0.0, now


@dataclass
class _OrderInfo:
    pair: str
    placed_at: float
    ids: set[str]


# --- Spot --------------------------------------------------------------------------------------------


class SpotRateLimiter:
    """Spot limits for one API key: the REST call counter and one trading counter per pair.

    ``endpoint`` may be a path (``/0/private/AddOrder``), a REST method name (``AddOrder``) or a
    WebSocket v2 method (``add_order``); ``params`` are the request parameters as sent.
    """

    def __init__(
        self,
        tier: Tier | str = "intermediate",
        mode: Mode = "wait",
        *,
        clock: Clock = time.monotonic,
        rest_costs: Mapping[str, float] | None = None,
        pair_key: Callable[[str], str] | None = None,
        headroom: float = 1.0,
        trading_headroom: float = 1.0,
        slack_seconds: float = 0.001,
        max_tracked_orders: int = 20_000,
    ) -> None:
        try:
            self.limits = SPOT_TIERS[tier]
        except KeyError:
            raise ValueError(f"unknown tier {tier!r}; use one of {sorted(SPOT_TIERS)}") from None
        if mode not in ("wait", "raise"):
            raise ValueError("mode must be 'wait' or 'raise'")
        self.tier = self.limits.name
        self.mode: Mode = mode
        self._clock = clock
        self._rest_costs = dict(SPOT_REST_COSTS if rest_costs is None else rest_costs)
        self._pair_key = pair_key or normalize_pair_key
        self._headroom = headroom
        self._trading_headroom = trading_headroom
        self._slack = slack_seconds
        self._lock = threading.RLock()
        self.rest = DecayingCounter(self.limits.rest_max, self.limits.rest_decay, clock, headroom=headroom)
        self._pairs: dict[str, DecayingCounter] = {}
        self._orders: OrderedDict[str, _OrderInfo] = OrderedDict()
        self._max_orders = max_tracked_orders

    # -- inspection --------------------------------------------------------------------------------

    def rest_level(self) -> float:
        with self._lock:
            return self.rest.level()

    def trading_level(self, pair: str) -> float:
        with self._lock:
            c = self._pairs.get(self._key(pair))
            return c.level() if c else 0.0

    def order_age(self, order_id: str) -> float | None:
        with self._lock:
            info = self._orders.get(order_id)
            return None if info is None else self._clock() - info.placed_at

    def costs(self, endpoint: str, params: Mapping[str, Any] | None = None) -> list[tuple[str, float]]:
        """The bookings a call would make: ``[("rest", 1.0)]`` or ``[("pair:XBTUSD", 9.0), ...]``."""
        with self._lock:
            return [(name, cost) for name, _, cost in self._bookings(endpoint, params or {})]

    # -- the protocol --------------------------------------------------------------------------------

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        with self._lock:
            bookings = self._bookings(endpoint, params or {})
            if not bookings:
                return 0.0
            now = self._clock()
            wait, at = _delay_until(max(counter.earliest(cost, now) for _, counter, cost in bookings), now, self._slack)
            if wait > 0 and self.mode == "raise":
                names = ", ".join(name for name, _, _ in bookings)
                raise RateLimitError(
                    f"rate limit ({names}) would be exceeded; retry in {wait:.3f}s",
                    endpoint=endpoint,
                    errors=["local:rate limit"],
                    retry_after=wait,
                )
            for _, counter, cost in bookings:
                counter.book(cost, at)
            return wait

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        name = _endpoint_name(endpoint)
        params = params or {}
        res = _plain(result)
        with self._lock:
            if name == "AddOrder":
                pair = params.get("pair") or params.get("symbol")
                ids = [str(i) for i in _as_list(params.get("cl_ord_id"))]
                if isinstance(res, dict):
                    ids += [str(t) for t in _as_list(res.get("txid") or res.get("order_id"))]
                    if res.get("cl_ord_id"):
                        ids.append(str(res["cl_ord_id"]))
                if pair and ids and not params.get("validate"):
                    self._remember(ids, str(pair))
            elif name == "AddOrderBatch":
                pair = params.get("pair") or params.get("symbol")
                if pair and not params.get("validate"):
                    orders = _as_list(params.get("orders"))
                    rows = res.get("orders") if isinstance(res, dict) else res
                    for i, row in enumerate(_as_list(rows)):
                        row_ids: list[str] = []
                        if isinstance(row, dict):
                            row_ids += [str(t) for t in _as_list(row.get("txid") or row.get("order_id"))]
                            if row.get("cl_ord_id"):
                                row_ids.append(str(row["cl_ord_id"]))
                        if i < len(orders) and isinstance(orders[i], dict) and orders[i].get("cl_ord_id"):
                            row_ids.append(str(orders[i]["cl_ord_id"]))
                        if row_ids:
                            self._remember(row_ids, str(pair))
            elif name == "EditOrder":
                old = params.get("txid") or params.get("order_id")
                if isinstance(res, dict):
                    new = res.get("txid") or res.get("order_id")
                    info = self._orders.get(str(old)) if old else None
                    pair = params.get("pair") or params.get("symbol") or (info.pair if info else None)
                    if new and pair:
                        self._remember([str(new)], str(pair))
                    if old:
                        self.forget_order(str(old))
            elif name in ("CancelOrder", "CancelOrderBatch"):
                for oid in self._target_ids(params):
                    self.forget_order(oid)
            elif name == "CancelAll":
                self._orders.clear()

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        name = _endpoint_name(endpoint)
        with self._lock:
            if name in SPOT_TRADING_ENDPOINTS:
                for pair in self._pairs_of(name, params or {}):
                    self._counter(pair).fill()
                    log.warning("trading counter for %s resynchronised: assumed full", pair)
            elif not _is_public_spot(endpoint):
                self.rest.fill()
                log.warning("REST counter resynchronised: assumed full")

    # -- server feedback ------------------------------------------------------------------------------

    def observe_ratecounter(self, pair: str, value: float) -> None:
        """Resynchronise a pair's trading counter from Kraken's own value (WS executions ``ratecounter``)."""
        with self._lock:
            self._counter(self._key(pair)).set_level(float(value))

    def observe_order(
        self, order_id: str, pair: str, *, cl_ord_id: str | None = None, placed_at: float | None = None
    ) -> None:
        """Track an order seen elsewhere (an executions feed, another session). ``placed_at`` uses this
        limiter's clock; default now."""
        with self._lock:
            ids = [order_id] + ([cl_ord_id] if cl_ord_id else [])
            self._remember(ids, pair, placed_at)

    def forget_order(self, order_id: str) -> None:
        """The order left the book (filled, cancelled): stop tracking it under every id."""
        with self._lock:
            info = self._orders.pop(order_id, None)
            if info is not None:
                for other in info.ids:
                    self._orders.pop(other, None)

    def observe_execution(self, execution: Mapping[str, Any]) -> None:
        """Feed one item of a WS v2 ``executions`` message: tracks new orders, forgets closed ones and
        resynchronises from ``ratecounter`` when present (subscribe with ``ratecounter: true``)."""
        order_id = execution.get("order_id")
        symbol = execution.get("symbol")
        exec_type = execution.get("exec_type")
        status = execution.get("order_status")
        if order_id and symbol and exec_type in ("pending_new", "new") and self.order_age(str(order_id)) is None:
            self.observe_order(str(order_id), str(symbol), cl_ord_id=execution.get("cl_ord_id"))
        if order_id and (status in ("filled", "canceled", "expired") or exec_type in ("filled", "canceled", "expired")):
            self.forget_order(str(order_id))
        counter = execution.get("ratecounter", execution.get("rate_count"))
        if symbol and _is_number(counter):
            self.observe_ratecounter(str(symbol), float(counter))

    # -- internals ------------------------------------------------------------------------------------

    def _key(self, pair: str) -> str:
        try:
            return self._pair_key(pair)
        except Exception:  # a mapper that does not know the pair: fall back to the heuristic
            return normalize_pair_key(pair)

    def _counter(self, key: str) -> DecayingCounter:
        c = self._pairs.get(key)
        if c is None:
            c = DecayingCounter(
                self.limits.trading_threshold, self.limits.trading_decay, self._clock, headroom=self._trading_headroom
            )
            self._pairs[key] = c
        return c

    def _remember(self, ids: Iterable[str], pair: str, placed_at: float | None = None) -> None:
        info = _OrderInfo(self._key(pair), self._clock() if placed_at is None else placed_at, set(ids))
        for oid in info.ids:
            self._orders[oid] = info
            self._orders.move_to_end(oid)
        while len(self._orders) > self._max_orders:
            self._orders.popitem(last=False)

    def _age(self, info: _OrderInfo | None) -> float | None:
        return None if info is None else max(0.0, self._clock() - info.placed_at)

    @staticmethod
    def _target_ids(params: Mapping[str, Any]) -> list[str]:
        ids: list[str] = []
        for field in ("txid", "order_id", "cl_ord_id", "cl_ord_ids", "orders"):
            for v in _as_list(params.get(field)):
                if isinstance(v, dict):
                    v = v.get("txid") or v.get("order_id") or v.get("cl_ord_id")
                if v is not None and str(v):
                    ids.append(str(v))
        return ids

    def _pairs_of(self, name: str, params: Mapping[str, Any]) -> list[str]:
        pair = params.get("pair") or params.get("symbol")
        if pair:
            return [self._key(str(pair))]
        pairs = []
        for oid in self._target_ids(params):
            info = self._orders.get(oid)
            if info is not None and info.pair not in pairs:
                pairs.append(info.pair)
        return pairs

    def _bookings(self, endpoint: str, params: Mapping[str, Any]) -> list[tuple[str, DecayingCounter, float]]:
        name = _endpoint_name(endpoint)
        if name not in SPOT_TRADING_ENDPOINTS:
            if _is_public_spot(endpoint):
                return []
            cost = self._rest_costs.get(name, 1.0)
            return [("rest", self.rest, cost)] if cost > 0 else []
        if params.get("validate") in (True, "true", "True", 1, "1"):
            return []  # validate-only orders are not counted
        per_pair: dict[str, float] = {}

        def add(pair: str | None, cost: float) -> None:
            if pair and cost > 0:
                key = self._key(pair)
                per_pair[key] = per_pair.get(key, 0.0) + cost

        if name == "AddOrder":
            add(params.get("pair") or params.get("symbol"), 1.0)
        elif name == "AddOrderBatch":
            n = len(_as_list(params.get("orders")))
            add(params.get("pair") or params.get("symbol"), n / 2.0)
        elif name in ("AmendOrder", "EditOrder"):
            fn = amend_cost if name == "AmendOrder" else edit_cost
            ids = self._target_ids(params)
            info = next((self._orders[i] for i in ids if i in self._orders), None)
            pair = info.pair if info else (params.get("pair") or params.get("symbol"))
            if pair is None:
                log.debug("%s of an untracked order without a pair: not counted", name)
            add(pair, fn(self._age(info)))
        elif name in ("CancelOrder", "CancelOrderBatch"):
            seen: set[int] = set()
            for oid in self._target_ids(params):
                info = self._orders.get(oid)
                if info is None or id(info) in seen:
                    continue
                seen.add(id(info))
                add(info.pair, cancel_cost(self._age(info)))
        # CancelAll / CancelAllOrdersAfter: not counted
        return [(f"pair:{k}", self._counter(k), c) for k, c in per_pair.items()]


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


# --- Derivatives -------------------------------------------------------------------------------------


def _derivatives_path(endpoint: str) -> tuple[str, str]:
    """-> (pool, name): ``("derivatives", "sendorder")``, ``("history", "orders")``, ``("public", ...)``."""
    e = endpoint.strip()
    if "://" in e:
        e = "/" + e.split("://", 1)[1].split("/", 1)[-1]
    e = e.split("?", 1)[0].rstrip("/")
    if "/api/history/" in e or e.startswith("api/history/"):
        name = e.split("/api/history/", 1)[-1] if "/api/history/" in e else e[len("api/history/") :]
        parts = name.split("/", 1)
        rest = parts[1] if len(parts) > 1 else ""
        if rest.startswith("market/"):
            return "public", rest
        return "history", rest
    if "/api/charts/" in e or "/api/stats/" in e or e.startswith(("api/charts", "api/stats")):
        return "public", e
    if "/api/v3/" in e:
        name = e.split("/api/v3/", 1)[1]
    else:
        name = e.lstrip("/")
    if (
        name in DERIVATIVES_PUBLIC
        or name.startswith("tickers/")
        or (name.startswith("instruments/") and name.endswith("/status"))
        or (name.startswith("rfqs/") and "offer" not in name)
    ):
        return "public", name
    return "derivatives", name


class DerivativesRateLimiter:
    """Derivatives budgets for one API key: 500 units / 10 s on ``/derivatives``, 100 history tokens.

    ``endpoint`` is a path (``/derivatives/api/v3/sendorder``, ``/api/history/v3/orders``) or the bare
    name (``sendorder``).
    """

    def __init__(
        self,
        mode: Mode = "wait",
        *,
        clock: Clock = time.monotonic,
        costs: Mapping[str, float] | None = None,
        capacity: float = 500.0,
        window: float = 10.0,
        history_capacity: float = 100.0,
        history_refill_per_second: float = 100.0 / 600.0,
        slack_seconds: float = 0.001,
    ) -> None:
        if mode not in ("wait", "raise"):
            raise ValueError("mode must be 'wait' or 'raise'")
        self.mode: Mode = mode
        self._clock = clock
        self._costs = dict(DERIVATIVES_COSTS if costs is None else costs)
        self._slack = slack_seconds
        self._lock = threading.RLock()
        self.budget = SlidingWindow(capacity, window, clock)
        self.history = DecayingCounter(history_capacity, history_refill_per_second, clock)

    def cost(self, endpoint: str, params: Mapping[str, Any] | None = None) -> tuple[str, float]:
        """(pool, cost) of a call; pool is ``derivatives``, ``history`` or ``public`` (cost 0)."""
        pool, name = _derivatives_path(endpoint)
        params = params or {}
        if pool == "public":
            return pool, 0.0
        if pool == "history":
            return pool, _HISTORY_COSTS.get(name, 1.0)
        if name == "batchorder":
            return pool, 9.0 + _batch_size(params)
        if name == "fills":
            return pool, 25.0 if params.get("lastFillTime") else self._costs.get("fills", 2.0)
        return pool, self._costs.get(name, 1.0)

    def reserve(self, endpoint: str, params: Mapping[str, Any] | None = None) -> float:
        pool, cost = self.cost(endpoint, params)
        if cost <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            counter: SlidingWindow | DecayingCounter = self.budget if pool == "derivatives" else self.history
            wait, at = _delay_until(counter.earliest(cost, now), now, self._slack)
            if wait > 0 and self.mode == "raise":
                raise RateLimitError(
                    f"Derivatives {pool} budget would be exceeded; retry in {wait:.3f}s",
                    endpoint=endpoint,
                    errors=["local:apiLimitExceeded"],
                    retry_after=wait,
                )
            counter.book(cost, at)
            return wait

    def on_response(self, endpoint: str, params: Mapping[str, Any] | None, result: Any) -> None:
        return None

    def on_rate_limited(self, endpoint: str, params: Mapping[str, Any] | None) -> None:
        pool, _ = self.cost(endpoint, params)
        with self._lock:
            if pool == "history":
                self.history.fill()
            else:
                self.budget.fill()
        log.warning("Derivatives %s budget resynchronised: assumed spent", pool)

    def budget_used(self) -> float:
        with self._lock:
            return self.budget.used()

    def history_used(self) -> float:
        with self._lock:
            return self.history.level()


def _batch_size(params: Mapping[str, Any]) -> int:
    batch = params.get("batchOrder") or params.get("batch_order")
    raw = params.get("json")
    if batch is None and raw is not None:
        if isinstance(raw, (bytes, str)):
            from .jsonutil import loads

            try:
                raw = loads(raw)
            except Exception:
                return 1
        if isinstance(raw, dict):
            batch = raw.get("batchOrder") or raw.get("batch_order")
    return max(1, len(batch)) if isinstance(batch, (list, tuple)) else 1


# --- factories ---------------------------------------------------------------------------------------


def spot_rate_limiter(
    tier: Tier | str = "intermediate", mode: Mode = "wait", *, clock: Clock = time.monotonic, **options: Any
) -> SpotRateLimiter:
    """The Spot limiter for one API key (REST counter + per-pair trading counters) of ``tier``."""
    return SpotRateLimiter(tier, mode, clock=clock, **options)


def derivatives_rate_limiter(
    mode: Mode = "wait", *, clock: Clock = time.monotonic, **options: Any
) -> DerivativesRateLimiter:
    """The Derivatives limiter for one API key (500 units / 10 s, history pool of 100)."""
    return DerivativesRateLimiter(mode, clock=clock, **options)


# --- one limiter per API key, shared by every client of that key in this process ---------------

_shared_limiters: dict[tuple[str, str, str], Any] = {}
_shared_lock = threading.Lock()


def _key_ident(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def shared_spot_rate_limiter(api_key: str, tier: Tier | str = "intermediate") -> SpotRateLimiter:
    """The process-wide Spot limiter of one key (Kraken counts per key, across REST and WS)."""
    ident = ("spot", _key_ident(api_key), str(tier))
    with _shared_lock:
        limiter = _shared_limiters.get(ident)
        if limiter is None:
            limiter = _shared_limiters[ident] = spot_rate_limiter(tier)
        assert isinstance(limiter, SpotRateLimiter)
        return limiter


def shared_derivatives_rate_limiter(api_key: str) -> DerivativesRateLimiter:
    """The process-wide Derivatives limiter of one key."""
    ident = ("derivatives", _key_ident(api_key), "")
    with _shared_lock:
        limiter = _shared_limiters.get(ident)
        if limiter is None:
            limiter = _shared_limiters[ident] = derivatives_rate_limiter()
        assert isinstance(limiter, DerivativesRateLimiter)
        return limiter

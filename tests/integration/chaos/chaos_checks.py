"""Shared bookkeeping of the chaos tests: what every order call ended in, which faults were injected, and the
checks against the sandbox's record of what it really placed.

Every order call is recorded with its client ids (one, or one per order of a batch) and must end in one of:

* ``placed`` / ``recovered``: a result carrying the exchange's order id (``recovered``: the answer was lost and
  the client found the order by its client id);
* ``rejected``: a :class:`KrakenAPIError` that is Kraken's own refusal (``is_outcome_unknown_error`` False), or,
  inside a batch result, an order the exchange refused;
* ``not_placed``: :class:`OrderNotPlacedError` (deadline passed, a look-up found nothing);
* ``unknown``: :class:`OrderOutcomeUnknownError` (``ConnectionLostError`` included) carrying the call's client
  id (``cl_ord_id``; a batch: every id in ``cl_ord_ids``);
* ``not_sent``: only where a test allows it, ``APIConnectionError`` with ``retry_safe=True`` (nothing sent; see
  ``NOT_SENT``).

Anything else (another :class:`KrakenError`, a raw exception, an unknown outcome without its ids, an invalid
nonce reaching the caller, a call that outlives its timeout) is recorded in ``bad`` and fails the test.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from krakenkit import (
    APIConnectionError,
    InvalidNonceError,
    KrakenAPIError,
    KrakenError,
    OrderNotPlacedError,
    OrderOutcomeUnknownError,
    is_outcome_unknown_error,
)
from krakenkit.sandbox import Sandbox
from krakenkit.ws import WebsocketAPIClient

# outcome per order id (a batch of 3 counts 3 orders)
PLACED, RECOVERED, REJECTED, NOT_PLACED, UNKNOWN = "placed", "recovered", "rejected", "not_placed", "unknown"
# APIConnectionError(retry_safe=True): "nothing was sent". Only where a test allows it (Tally.not_sent_allowed):
# the WebSocket client raises it for an order sent while it reconnects (a known defect, pinned by
# test_chaos_ws_reconnect.py); the test then checks the exchange never received the order.
NOT_SENT = "not_sent"
NOT_PLACED_CLAIMS = (REJECTED, NOT_PLACED, NOT_SENT)  # the caller was told the order is not on the exchange

# what an order call gave its caller: the order id per client id (None: refused inside a batch result), and
# whether the client recovered it by a look-up after the answer was lost
Placed = tuple[list[str | None], bool]


@dataclass
class Tally:
    """Outcomes of the order calls of one chaos run (thread-safe; asyncio tasks may use it as well)."""

    product: str
    not_sent_allowed: bool = False
    orders: Counter[str] = field(default_factory=Counter)  # orders per kind
    calls: Counter[str] = field(default_factory=Counter)  # calls per kind
    faults: Counter[str] = field(default_factory=Counter)  # faults injected per kind
    outcomes: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # kind -> outcome
    by_fault: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # fault -> outcome
    errors: Counter[str] = field(default_factory=Counter)  # exception class names the callers got
    outcome_of: dict[str, str] = field(default_factory=dict)  # client id -> outcome
    order_id_of: dict[str, str] = field(default_factory=dict)  # client id -> order id the caller got
    bad: list[str] = field(default_factory=list)
    slowest: dict[str, float] = field(default_factory=dict)  # kind -> longest call (seconds)
    last_call_end: float = 0.0  # time.time() when the last call returned
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- recording --------------------------------------------------------------------------------------

    def fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1

    def record(
        self, kind: str, ids: Sequence[str], call: Callable[[], Placed], budget: float, fault: str | None
    ) -> None:
        """Run a blocking order call of client ids ``ids``; ``call`` returns the order id per client id (None:
        refused inside a batch result) and whether the client recovered the result by a look-up. ``budget``:
        the call's timeout plus a small allowance; a call that takes longer is recorded as bad. ``fault``: the
        fault injected just before the call (under concurrency another call of the moment may meet it)."""
        started = time.monotonic()
        try:
            placed = call()
        except Exception as exc:  # classified below, never swallowed silently
            self._failed(kind, ids, exc)
        else:
            self._succeeded(kind, ids, placed)
        finally:
            self._timed(kind, ids, time.monotonic() - started, budget, fault)

    async def record_async(
        self, kind: str, ids: Sequence[str], call: Awaitable[Placed], budget: float, fault: str | None
    ) -> None:
        """:meth:`record` for a coroutine ``call`` (awaited here)."""
        started = time.monotonic()
        try:
            placed = await call
        except Exception as exc:  # classified below, never swallowed silently
            self._failed(kind, ids, exc)
        else:
            self._succeeded(kind, ids, placed)
        finally:
            self._timed(kind, ids, time.monotonic() - started, budget, fault)

    def _timed(self, kind: str, ids: Sequence[str], took: float, budget: float, fault: str | None) -> None:
        with self.lock:
            for cl in ids:
                self.by_fault[fault or "none"][self.outcome_of.get(cl, "?")] += 1
            self.orders[kind] += len(ids)
            self.calls[kind] += 1
            self.slowest[kind] = max(self.slowest.get(kind, 0.0), took)
            self.last_call_end = max(self.last_call_end, time.time())
            if took > budget:
                self.bad.append(f"{kind} {ids[0]}: the call took {took:.2f}s, beyond its {budget:.2f}s budget")

    def _set(self, kind: str, cl: str, outcome: str, order_id: str | None = None) -> None:
        # lock held
        if cl in self.outcome_of:
            self.bad.append(f"{cl}: recorded twice ({self.outcome_of[cl]}, then {outcome})")
        self.outcome_of[cl] = outcome
        self.outcomes[kind][outcome] += 1
        if order_id is not None:
            self.order_id_of[cl] = order_id

    def _succeeded(self, kind: str, ids: Sequence[str], placed: Placed) -> None:
        order_ids, recovered = placed
        with self.lock:
            if len(order_ids) != len(ids):
                self.bad.append(f"{kind} {ids[0]}: {len(order_ids)} order ids for {len(ids)} orders")
                return
            for cl, oid in zip(ids, order_ids, strict=True):
                if oid:
                    self._set(kind, cl, RECOVERED if recovered else PLACED, oid)
                else:
                    self._set(kind, cl, REJECTED)

    def _failed(self, kind: str, ids: Sequence[str], exc: BaseException) -> None:
        name = type(exc).__name__
        with self.lock:
            self.errors[name] += 1
            if isinstance(exc, OrderNotPlacedError):
                carried = set(getattr(exc, "cl_ord_ids", None) or [exc.cl_ord_id])
                if carried != set(ids):
                    self.bad.append(f"{kind}: OrderNotPlacedError names {sorted(carried)}, the call sent {list(ids)}")
                outcome = NOT_PLACED
            elif isinstance(exc, OrderOutcomeUnknownError):
                carried = set(getattr(exc, "cl_ord_ids", None) or [])
                if exc.cl_ord_id:
                    carried.add(exc.cl_ord_id)
                if carried != set(ids):
                    self.bad.append(f"{kind}: {name} carries {sorted(carried)}, the call sent {list(ids)}: {exc}")
                outcome = UNKNOWN
            elif self.not_sent_allowed and type(exc) is APIConnectionError and exc.retry_safe:
                outcome = NOT_SENT
            elif isinstance(exc, InvalidNonceError):
                self.bad.append(f"{kind} {ids[0]}: an invalid nonce reached the caller: {exc!r}")
                outcome = REJECTED
            elif isinstance(exc, KrakenAPIError):
                if is_outcome_unknown_error(exc):
                    self.bad.append(f"{kind} {ids[0]}: an unknown outcome raised as {name}, not as one: {exc!r}")
                outcome = REJECTED
            elif isinstance(exc, KrakenError):
                self.bad.append(f"{kind} {ids[0]}: neither result, rejection nor unknown outcome: {name}: {exc}")
                outcome = "other:" + name
            else:
                self.bad.append(f"{kind} {ids[0]}: raw {name}: {exc!r}")
                outcome = "raw:" + name
            for cl in ids:
                self._set(kind, cl, outcome)

    # --- figures ----------------------------------------------------------------------------------------

    def by_outcome(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.outcomes.values():
            total.update(counts)
        return total

    def ids_with(self, *outcomes: str) -> set[str]:
        return {cl for cl, o in self.outcome_of.items() if o in outcomes}

    def summary(self, wall: float, extra: dict[str, Any] | None = None) -> str:
        lines = [
            f"CHAOS {self.product}: {sum(self.orders.values())} orders in {sum(self.calls.values())} calls, "
            f"wall {wall:.1f}s",
            f"  orders per kind:   {dict(sorted(self.orders.items()))}",
            f"  faults injected:   {dict(sorted(self.faults.items()))} (total {sum(self.faults.values())})",
            f"  outcomes:          {dict(sorted(self.by_outcome().items()))}",
        ]
        for kind in sorted(self.outcomes):
            lines.append(f"    {kind:<18} {dict(sorted(self.outcomes[kind].items()))}")
        lines.append("  outcomes by the fault injected before the call:")
        for fault in sorted(self.by_fault):
            lines.append(f"    {fault:<24} {dict(sorted(self.by_fault[fault].items()))}")
        lines.append(f"  errors raised:     {dict(sorted(self.errors.items()))}")
        lines.append(f"  slowest call (s):  { {k: round(v, 2) for k, v in sorted(self.slowest.items())} }")
        for key, value in (extra or {}).items():
            lines.append(f"  {key}: {value}")
        return "\n".join(lines)


@dataclass
class Audit:
    """What the sandbox's record says about a run. ``problems`` lists every broken promise (empty: all held)."""

    placed_rows: int
    unknown_live: int  # unknown outcomes that turned out to be on the exchange
    unknown_absent: int  # ... and those that are not
    problems: list[str]

    def line(self) -> str:
        return (
            f"{self.placed_rows} orders on the exchange; unknown outcomes: {self.unknown_live} live, "
            f"{self.unknown_absent} absent; broken promises: {len(self.problems)}"
        )


def audit_exchange(sb: Sandbox, api_key: str, tally: Tally) -> Audit:
    """The order-safety checks, once nothing of the run can reach the engine any more:

    * every call ended in an allowed way, within its budget (``tally.bad`` empty), and every order has one
      outcome;
    * no client id was placed twice (and none executed twice);
    * no order the caller was told is not placed (rejected, OrderNotPlacedError) is on the exchange;
    * every order reported placed is on the exchange exactly once, under the order id the caller got;
    * nothing is on the exchange that the run did not send.
    """
    problems = list(tally.bad)
    sent = sum(tally.orders.values())
    if len(tally.outcome_of) != sent:
        problems.append(f"{sent} orders sent, {len(tally.outcome_of)} outcomes recorded")
    rows = sb.placed_orders(api_key=api_key)
    by_cl: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_cl[str(row["cl_ord_id"])].append(row)
    duplicates = sb.duplicate_client_ids(api_key=api_key)
    if duplicates:
        problems.append(f"client ids placed more than once: {duplicates}")
    executed_twice = sb.duplicate_client_ids(api_key=api_key, filled_only=True)
    if executed_twice:
        problems.append(f"client ids executed more than once: {executed_twice}")
    twice = {cl: len(r) for cl, r in by_cl.items() if len(r) > 1}
    if twice:
        problems.append(f"client ids with more than one order on the exchange: {twice}")
    stray = sorted(set(by_cl) - set(tally.outcome_of))
    if stray:
        problems.append(f"orders on the exchange the run never sent: {stray[:5]} ({len(stray)})")
    lost = sorted(cl for cl in tally.ids_with(*NOT_PLACED_CLAIMS) if cl in by_cl)
    if lost:
        shown = [(cl, tally.outcome_of[cl], [r["order_id"] for r in by_cl[cl]]) for cl in lost[:5]]
        problems.append(f"live on the exchange although the caller was told not placed: {shown} ({len(lost)})")
    for cl, oid in tally.order_id_of.items():
        there = [r["order_id"] for r in by_cl.get(cl, [])]
        if there != [oid]:
            problems.append(f"{cl} reported placed as {oid}, on the exchange as {there}")
    unknown = tally.ids_with(UNKNOWN)
    live = len([cl for cl in unknown if cl in by_cl])
    return Audit(len(rows), live, len(unknown) - live, problems)


async def connect_explained(api: WebsocketAPIClient, sb: Sandbox, timeout: float = 10.0) -> None:
    """``api.connect(timeout)``; a failure carries (as a note) the client's events meanwhile and the last
    requests the sandbox received, so that a CI log shows why."""
    seen: list[str] = []
    started = time.monotonic()
    for name in ("open", "authenticated", "exception", "close", "reconnecting"):
        api.on(name, lambda ev, name=name: seen.append(f"{time.monotonic() - started:.3f}s {name} {ev!r}"[:300]))
    try:
        await api.connect(timeout)
    except KrakenError as exc:
        tail = [(r["path"], r["errors"]) for r in sb.requests[-5:]]
        exc.add_note("client events: " + "; ".join(seen) + f"\nlast sandbox requests: {tail}")
        raise


def wait_until_time(wall: float) -> None:
    """Block until ``time.time()`` (the sandbox's clock, Kraken's time here) has passed ``wall``.

    Used only where time itself is the behaviour under test: the exchange places nothing of a request after
    its deadline, so once the last deadline has passed the exchange's state for the run is final."""
    while (left := wall - time.time()) > 0:
        time.sleep(min(left, 0.25))


def nonce_refused(req: dict[str, Any]) -> bool:
    """A logged request the exchange refused for its nonce, before processing it (Spot ``EAPI:Invalid nonce``,
    Derivatives ``nonceBelowThreshold`` / ``nonceDuplicate``): the client re-signs and sends it again."""
    return any("nonce" in str(e).lower() for e in req.get("errors") or [])


def logged_order_ids(sb: Sandbox, paths: Iterable[str]) -> Counter[str]:
    """Client ids of the order requests the sandbox has finished with (its request log holds a request once it
    was answered or processed: a late one only after it reached the engine), by how often; requests refused
    for their nonce (never processed, re-signed by the client) left out."""
    tails = tuple(paths)
    seen: Counter[str] = Counter()
    for req in sb.requests:
        if not str(req.get("path", "")).endswith(tails) or nonce_refused(req):
            continue
        params = req.get("params") or {}
        for key in ("cl_ord_id", "cliOrdId"):
            if isinstance(params.get(key), str):
                seen[params[key]] += 1
        batch = params.get("json")
        for container in (params.get("orders"), batch.get("batchOrder") if isinstance(batch, dict) else None):
            if isinstance(container, list):
                for order in container:
                    if isinstance(order, dict):
                        for key in ("cl_ord_id", "cliOrdId"):
                            if isinstance(order.get(key), str):
                                seen[order[key]] += 1
    return seen

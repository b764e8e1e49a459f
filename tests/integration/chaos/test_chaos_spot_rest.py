"""Chaos, Spot REST: 350 orders through plain ``SpotClient`` (AddOrder market and marketable limit,
AddOrderBatch) from 16 threads on one key whose nonce window is 0, while the sandbox injects every fault an
order can meet: late arrival before its deadline and after it, HTTP 200 answers garbled after the order was
placed (HTML, truncated, changed shape, nested too deep), trickled bodies, Kraken's 5xx-style errors
(``EService:Unavailable``, ``EGeneral:Internal error``, bare HTTP 5xx), answers held past the attempt timeout
and failing look-ups.

For every order: a result, a definitive rejection, ``OrderNotPlacedError`` or ``OrderOutcomeUnknownError``
with its client id(s), within the call's timeout; then, once every deadline has passed, the sandbox's record
must show no client id placed twice, nothing placed that the caller was told is not placed, and every order
reported placed there once under the id the caller got.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chaos_checks import Placed, Tally, audit_exchange, nonce_refused, wait_until_time

from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import SpotClient
from krakenkit.sandbox import Sandbox

pytestmark = pytest.mark.timeout(120)

SEED = 20261204
THREADS, CLIENTS = 16, 4
SINGLES, BATCHES, BATCH_SIZE = 260, 30, 3  # 260 + 90 = 350 orders
ORDER_DEADLINE = 3.0  # seconds: Kraken's 2 s minimum plus margin, so unknown outcomes resolve fast
ATTEMPT = 0.5  # one attempt; the rest of the budget is for look-ups, waiting out the deadline and a resend
TOTAL = 10.0  # a call's whole budget
LATE_EARLY = 1.0  # reaches the engine after the attempt timeout and the first look-up, before the deadline
LATE_PAST = 4.5  # reaches the engine after the deadline (3 s, +-0.5 s of clock estimate): refused there
HOLD = 1.0  # accept_then_timeout: the answer is held past the attempt timeout
SHORT = 2.0  # a call timeout shorter than the order's deadline
LOOKUP_FAILS = 4  # look-ups are reads, retried: this many failures in a row leave the outcome unknown
# Once the last call has returned, nothing of the run can still be placed after the latest deadline (at most
# ORDER_DEADLINE + the clock allowance after signing) and the last late request (LATE_PAST after receipt).
SETTLE = max(LATE_PAST, ORDER_DEADLINE + 2.0) + 0.5
BALANCES = {"ZUSD": "100000000", "XXBT": "10000"}

# fault name -> weight (of 100 calls)
FAULTS = {
    "late_early": 5,
    "late_past": 4,
    "garble_html": 2,
    "garble_truncated": 2,
    "garble_shape": 2,
    "garble_deep": 2,
    "trickle": 4,
    "EService:Unavailable": 4,
    "EGeneral:Internal error": 3,
    "http_5xx": 3,
    "hold": 5,
    "garble+lookup_fail": 4,
    "lookup_fail": 3,
}
NO_FAULT = 100 - sum(FAULTS.values())


@dataclass(frozen=True)
class Planned:
    index: int
    kind: str  # rest_market, rest_limit, rest_rejected, rest_batch
    side: str
    fault: str | None
    max_retries: int | None  # 0: proven absent -> OrderNotPlacedError instead of a resend
    own_deadline: bool  # the caller's own deadline= (never resent after it)
    short: bool  # a call timeout too short to wait out the deadline: OrderOutcomeUnknownError with it
    garble_or_5xx: str  # the variant of a garble / 5xx fault


def plan() -> list[Planned]:
    names = [*FAULTS, None]
    weights = [*FAULTS.values(), NO_FAULT]
    out = []
    for i in range(SINGLES + BATCHES):
        rng = random.Random(SEED * 1009 + i)
        if i < SINGLES:
            kind = rng.choices(["rest_market", "rest_limit", "rest_rejected"], [45, 45, 10])[0]
        else:
            kind = "rest_batch"
        out.append(
            Planned(
                index=i,
                kind=kind,
                side=rng.choice(["buy", "sell"]),
                fault=rng.choices(names, weights)[0],
                max_retries=0 if rng.random() < 0.25 else None,
                own_deadline=rng.random() < 0.1,
                short=rng.random() < 0.15,
                garble_or_5xx=rng.choice(["500", "502", "503"]),
            )
        )
    return out


def inject(sb: Sandbox, tally: Tally, p: Planned, path: str) -> None:
    f = sb.faults
    fault = p.fault
    if fault is None:
        return
    tally.fault(fault)
    if fault == "late_early":
        f.late_arrival(path, n=1, delay=LATE_EARLY)
    elif fault == "late_past":
        f.late_arrival(path, n=1, delay=LATE_PAST)
    elif fault.startswith("garble_"):
        f.garble_response(path, n=1, kind=fault.removeprefix("garble_"))
    elif fault == "trickle":
        f.trickle_response(path, n=1, chunk=4, interval=0.3)
    elif fault in ("EService:Unavailable", "EGeneral:Internal error"):
        f.fail_next(path, n=1, error=fault)
    elif fault == "http_5xx":
        f.fail_next(path, n=1, status=int(p.garble_or_5xx))
    elif fault == "hold":
        f.accept_then_timeout(path, n=1, delay=HOLD)
    elif fault == "garble+lookup_fail":
        f.garble_response(path, n=1, kind="shape")
        f.fail_next("OpenOrders", n=LOOKUP_FAILS, error="EService:Unavailable")  # more than its read retries
    elif fault == "lookup_fail":
        f.fail_next("ClosedOrders", n=1, error="EGeneral:Internal error")
    else:  # pragma: no cover - the table above is the list
        raise AssertionError(fault)


def single_params(p: Planned) -> dict[str, Any]:
    if p.kind == "rest_market":
        return {"ordertype": "market", "type": p.side, "volume": "0.0002"}
    if p.kind == "rest_limit":  # marketable: fills at once, so a copy would fill too
        return {
            "ordertype": "limit",
            "type": p.side,
            "volume": "0.0002",
            "price": "1000000" if p.side == "buy" else "10000",
        }
    # refused by the exchange: below Kraken's cost minimum
    return {"ordertype": "limit", "type": "sell", "volume": "0.0002", "price": "1"}


def batch_orders(p: Planned, ids: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for j, cl in enumerate(ids):
        side = "buy" if (p.index + j) % 2 else "sell"
        if j % 2:
            order = {"ordertype": "market", "type": side, "volume": "0.0002"}
        else:
            order = {
                "ordertype": "limit",
                "type": side,
                "volume": "0.0002",
                "price": "1000000" if side == "buy" else "10000",
            }
        out.append({**order, "cl_ord_id": cl})
    return out


def test_spot_rest_orders_under_chaos(sb: Sandbox, figures: list[str]) -> None:
    key, secret = sb.create_key(balances=BALANCES, tier="pro", nonce_window=0)
    tally = Tally("Spot REST (SpotClient, 16 threads, 4 clients, one key, nonce window 0)")
    clients = [
        SpotClient(
            key,
            secret,
            environment=sb.environment,
            timeout=TOTAL,
            attempt_timeout=ATTEMPT,
            order_deadline=ORDER_DEADLINE,
            rate_limiter=NoRateLimit(),
        )
        for _ in range(CLIENTS)
    ]
    clients[0].get_server_time()  # Kraken's clock measured (shared by the clients of the host)
    started = time.monotonic()

    def one(p: Planned) -> None:
        spot = clients[p.index % CLIENTS]
        extra: dict[str, Any] = {}
        if p.max_retries is not None:
            extra["max_retries"] = p.max_retries
        if p.own_deadline:
            extra["deadline"] = datetime.now(UTC) + timedelta(seconds=4)
        budget = SHORT if p.short else TOTAL
        if p.short:
            extra["timeout"] = SHORT
        if p.kind != "rest_batch":
            cl = spot.generate_new_order_id()
            inject(sb, tally, p, "AddOrder")

            def single() -> Placed:
                res = spot.submit_order(pair="XBTUSD", cl_ord_id=cl, **single_params(p), **extra)
                assert len(res.txid) == 1, res
                return [res.txid[0]], res.recovered

            tally.record(p.kind, [cl], single, budget + 0.5, p.fault)
        else:
            ids = [spot.generate_new_order_id() for _ in range(BATCH_SIZE)]
            inject(sb, tally, p, "AddOrderBatch")

            def batch() -> Placed:
                res = spot.submit_batch_orders(pair="XBTUSD", orders=batch_orders(p, ids), **extra)
                return [o.txid if o.txid and not o.error else None for o in res.orders], res.recovered

            tally.record(p.kind, ids, batch, budget + 0.5, p.fault)

    planned = plan()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, planned))
    run_time = time.monotonic() - started
    for c in clients:
        c.close()
    sb.faults.clear()
    # Kraken places nothing of a request after its deadline: wait that out (and the last late request)
    wait_until_time(tally.last_call_end + SETTLE)
    refused_late = [
        r
        for r in sb.requests
        if r["path"].endswith(("/AddOrder", "/AddOrderBatch")) and "EService:Deadline elapsed" in (r["errors"] or [])
    ]
    nonce_refusals = [r for r in sb.requests if nonce_refused(r)]
    no_deadline = [
        r
        for r in sb.requests
        if r["path"].endswith(("/AddOrder", "/AddOrderBatch")) and not r["params"].get("deadline")
    ]
    audit = audit_exchange(sb, key, tally)
    wall = time.monotonic() - started
    text = tally.summary(
        wall,
        {
            "order phase (s)": round(run_time, 1),
            "exchange": audit.line(),
            "late requests refused by their deadline at the engine": len(refused_late),
            "invalid-nonce answers (absorbed by re-signing)": len(nonce_refusals),
        },
    )
    print(text)
    figures.append(text)
    assert audit.problems == [], f"{len(audit.problems)} broken promises, e.g.:\n" + "\n".join(audit.problems[:10])

    # every order request went out with Kraken's deadline
    assert no_deadline == []
    # the mix really happened (the plan is seeded: these are fixed numbers, see the summary)
    assert sum(tally.orders.values()) == SINGLES + BATCHES * BATCH_SIZE >= 350
    assert set(tally.faults) == set(FAULTS), tally.faults
    assert sum(tally.faults.values()) >= 100
    outcomes = tally.by_outcome()
    assert outcomes["placed"] + outcomes["recovered"] >= 250, outcomes
    assert outcomes["recovered"] >= 20 and outcomes["rejected"] >= 10 and outcomes["not_placed"] >= 1, outcomes
    assert 1 <= len(refused_late) <= tally.faults["late_past"]

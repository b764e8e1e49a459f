"""Chaos, Derivatives REST: 235 orders through plain ``DerivativesClient`` (``sendorder`` market, marketable
limit, limit with ``processBefore``, a post-only order that must be refused; ``batchorder`` of three sends) from
16 threads on one key whose nonce window is 0, while the sandbox injects: late arrival (after the client's
look-up; after a ``processBefore``), HTTP 200 answers garbled after the order was placed (HTML, truncated,
changed shape, nested too deep), trickled bodies, Kraken's ``Server Error`` / ``unknownError`` and bare HTTP
5xx, answers held past the attempt timeout, and failing look-ups.

Derivatives orders are never resent after an unknown outcome (nothing Kraken documents makes that safe): the
client looks a ``sendorder`` up by its ``cliOrdId`` and otherwise raises ``OrderOutcomeUnknownError`` with it
(a batch: ``cl_ord_ids``). So for every order: a result, a definitive rejection, or that error, within the
call's timeout. Once the sandbox holds no more late request of the run, its record must show no ``cliOrdId``
placed twice, no refused order placed, and every order reported placed there once under the id the caller got.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from chaos_checks import UNKNOWN, Placed, Tally, audit_exchange, logged_order_ids, nonce_refused

from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest.derivatives import DerivativesClient
from krakenkit.sandbox import Sandbox

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("ignore::krakenkit.KrakenDeprecationWarning"),
]

SEED = 20261206
THREADS, CLIENTS = 16, 4
SINGLES, BATCHES, BATCH_SIZE = 160, 25, 3  # 160 + 75 = 235 orders
SYMBOL = "PF_XBTUSD"
ATTEMPT = 0.5
TOTAL = 6.0
LATE_EARLY = 0.9  # reaches the engine after the attempt timeout and the client's look-up
LATE_PAST = 3.0  # ... and after the processBefore (2.5 s) of the orders that carry one
PROCESS_BEFORE = 2.5
HOLD = 1.0
LOOKUP_FAILS = 4  # look-ups are reads, retried: this many failures in a row leave the outcome unknown
ORDER_PATHS = ("/sendorder", "/batchorder")

FAULTS = {
    "late_early": 5,
    "late_past": 4,
    "garble_html": 2,
    "garble_truncated": 2,
    "garble_shape": 2,
    "garble_deep": 2,
    "trickle": 4,
    "Server Error": 3,
    "unknownError": 3,
    "http_5xx": 3,
    "hold": 5,
    "hold+lookup_fail": 4,
}
NO_FAULT = 100 - sum(FAULTS.values())


@dataclass(frozen=True)
class Planned:
    index: int
    kind: str  # deriv_mkt, deriv_lmt, deriv_process_before, deriv_rejected, deriv_batch
    side: str
    fault: str | None
    status: int  # of an http_5xx fault


def plan() -> list[Planned]:
    names = [*FAULTS, None]
    weights = [*FAULTS.values(), NO_FAULT]
    kinds = ["deriv_mkt", "deriv_lmt", "deriv_process_before", "deriv_rejected"]
    out = []
    for i in range(SINGLES + BATCHES):
        rng = random.Random(SEED * 1009 + i)
        kind = rng.choices(kinds, [40, 35, 15, 10])[0] if i < SINGLES else "deriv_batch"
        out.append(
            Planned(i, kind, rng.choice(["buy", "sell"]), rng.choices(names, weights)[0], rng.choice([500, 502, 503]))
        )
    random.Random(SEED).shuffle(out)
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
    elif fault in ("Server Error", "unknownError"):
        f.fail_next(path, n=1, error=fault)
    elif fault == "http_5xx":
        f.fail_next(path, n=1, status=p.status)
    elif fault == "hold":
        f.accept_then_timeout(path, n=1, delay=HOLD)
    elif fault == "hold+lookup_fail":
        f.accept_then_timeout(path, n=1, delay=HOLD)
        f.fail_next("orders/status", n=LOOKUP_FAILS, error="Server Error")
    else:  # pragma: no cover
        raise AssertionError(fault)


def iso(seconds_ahead: float) -> str:
    t = datetime.now(UTC) + timedelta(seconds=seconds_ahead)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def test_derivatives_orders_under_chaos(sb: Sandbox, figures: list[str]) -> None:
    key, secret = sb.create_futures_key(balances={"USD": "100000000"}, nonce_window=0)
    tally = Tally("Derivatives REST (DerivativesClient, 16 threads, 4 clients, one key, nonce window 0)")
    clients = [
        DerivativesClient(
            key, secret, environment=sb.environment, timeout=TOTAL, attempt_timeout=ATTEMPT, rate_limiter=NoRateLimit()
        )
        for _ in range(CLIENTS)
    ]
    book = clients[0].get_orderbook(symbol=SYMBOL)
    ask, bid = book.asks[0][0], book.bids[0][0]

    def fields(kind: str, side: str) -> dict[str, Any]:
        if kind == "deriv_mkt":
            return {"orderType": "mkt", "side": side, "size": "0.001"}
        if kind in ("deriv_lmt", "deriv_process_before"):  # marketable: fills at once
            return {
                "orderType": "lmt",
                "side": side,
                "size": "0.001",
                "limitPrice": ask * 2 if side == "buy" else (bid / 2).quantize(Decimal(1)),
            }
        return {"orderType": "post", "side": "buy", "size": "0.001", "limitPrice": ask * 2}  # would execute: refused

    started = time.monotonic()

    def one(p: Planned) -> None:
        client = clients[p.index % CLIENTS]
        if p.kind != "deriv_batch":
            cl = client.generate_new_order_id()
            extra: dict[str, Any] = {"processBefore": iso(PROCESS_BEFORE)} if p.kind == "deriv_process_before" else {}
            inject(sb, tally, p, "sendorder")

            def single() -> Placed:
                res = client.submit_order(symbol=SYMBOL, cliOrdId=cl, **fields(p.kind, p.side), **extra)
                assert res.cli_ord_id in (None, cl), res
                return [res.order_id], res.recovered

            tally.record(p.kind, [cl], single, TOTAL + 0.5, p.fault)
        else:
            ids = [client.generate_new_order_id() for _ in range(BATCH_SIZE)]
            instructions = [
                {
                    "order": "send",
                    "order_tag": str(j),
                    "symbol": SYMBOL,
                    "cliOrdId": cl,
                    **fields("deriv_mkt" if j % 2 else "deriv_lmt", "buy" if (p.index + j) % 2 else "sell"),
                }
                for j, cl in enumerate(ids)
            ]
            inject(sb, tally, p, "batchorder")

            def batch() -> Placed:
                res = client.batch_order_management(batchOrder=instructions)
                by_tag = {r.order_tag: r for r in res}
                got = [by_tag.get(str(j)) for j in range(len(ids))]
                return [r.order_id if r is not None and r.ok else None for r in got], False

            tally.record(p.kind, ids, batch, TOTAL + 0.5, p.fault)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, plan()))
    run_time = time.monotonic() - started
    for c in clients:
        c.close()
    sb.faults.clear()

    # No deadline protects a Derivatives order: wait until the sandbox has finished with every request of an
    # unknown outcome (its log holds a request once processed, a late one after it reached the engine), at most
    # as long as the largest injected delay after the last call.
    unknown = tally.ids_with(UNKNOWN)
    until = tally.last_call_end + LATE_PAST + 0.5
    while time.time() < until and not unknown <= set(logged_order_ids(sb, ORDER_PATHS)):
        time.sleep(0.05)
    settled = time.monotonic() - started - run_time
    never_arrived = unknown - set(logged_order_ids(sb, ORDER_PATHS))
    nonce_refusals = [r for r in sb.requests if nonce_refused(r)]
    sent = logged_order_ids(sb, ORDER_PATHS)
    audit = audit_exchange(sb, key, tally)
    wall = time.monotonic() - started
    text = tally.summary(
        wall,
        {
            "order phase (s)": round(run_time, 1),
            "waited for late requests (s)": round(settled, 1),
            "exchange": audit.line(),
            "unknown outcomes whose request never reached the exchange": len(never_arrived),
            "cliOrdIds sent more than once": sum(1 for n in sent.values() if n > 1),
            "invalid-nonce answers (absorbed by re-signing)": len(nonce_refusals),
        },
    )
    print(text)
    figures.append(text)
    assert audit.problems == [], f"{len(audit.problems)} broken promises, e.g.:\n" + "\n".join(audit.problems[:10])

    assert never_arrived == set()  # every request of an unknown outcome reached the sandbox, late ones included
    assert all(n == 1 for n in sent.values())  # never resent (a re-signed invalid-nonce request aside)
    assert sum(tally.orders.values()) == SINGLES + BATCHES * BATCH_SIZE >= 200
    assert set(tally.faults) == set(FAULTS), tally.faults
    outcomes = tally.by_outcome()
    assert outcomes["placed"] >= 100 and outcomes["recovered"] >= 10, outcomes
    assert outcomes["rejected"] >= 5 and outcomes["unknown"] >= 10, outcomes

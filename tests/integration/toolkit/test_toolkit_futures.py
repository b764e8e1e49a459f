"""SafeOrderSubmitter.futures_rest / AsyncSafeOrderSubmitter.futures_rest against the sandbox's Derivatives
REST: a normal order, an answer lost after the exchange placed it, rejections, a crashed run reconciled on
start, and a small chaos run (mixed faults) that must end with zero duplicate orders on the exchange.

``sendorder`` carries no deadline here, so nothing proves an order of unknown outcome absent: such an order is
never re-sent, and an entry the look-ups cannot find stays ``unknown`` (never ``not_placed``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from toolkit_helpers import count_outcome

from krakenkit import KrakenError, OrderOutcomeUnknownError
from krakenkit._core.errors import InsufficientFundsError, PostWouldExecuteError
from krakenkit._core.ids import generate_futures_order_id
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import RetryPolicy
from krakenkit.rest.derivatives import AsyncDerivativesClient, DerivativesClient
from krakenkit.sandbox import Sandbox
from krakenkit.toolkit import (
    FINAL_STATUSES,
    AsyncSafeOrderSubmitter,
    JournalStatus,
    OrderJournal,
    OrderNotPlacedError,
    SafeOrderSubmitter,
)

S = JournalStatus
SEND = "/derivatives/api/v3/sendorder"
STATUS = "/derivatives/api/v3/orders/status"
SYMBOL = "PF_XBTUSD"
CLIENT_TIMEOUT = 0.25
HOLD = 0.4  # accept_then_timeout holds the answer longer than the client waits
# the client's own grace lookup is kept short: the submitter has its own (bounded) grace polling
FAST_POLICY = RetryPolicy(base_delay=0.01, max_delay=0.05, outcome_grace=0.05)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=11, rate_limits=False, market=False, fast_mode=True) as sb:
        yield sb


def _client(cls: Any, sb: Sandbox, key: str, secret: str, timeout: float) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(
            key,
            secret,
            environment=sb.environment,
            timeout=timeout,
            max_retries=0,
            rate_limiter=NoRateLimit(),
            retry_policy=FAST_POLICY,
        )


def sync_client(sb: Sandbox, key: str, secret: str, *, timeout: float = CLIENT_TIMEOUT) -> DerivativesClient:
    client: DerivativesClient = _client(DerivativesClient, sb, key, secret, timeout)
    return client


def async_client(sb: Sandbox, key: str, secret: str, *, timeout: float = CLIENT_TIMEOUT) -> AsyncDerivativesClient:
    client: AsyncDerivativesClient = _client(AsyncDerivativesClient, sb, key, secret, timeout)
    return client


def live_orders_by_cli(sb: Sandbox, key: str) -> collections.Counter[str | None]:
    """Orders that exist on the exchange (a REJECTED record is Kraken's log of a refusal, not an order)."""
    return collections.Counter(o["order"].get("cliOrdId") for o in sb.orders(key) if o.get("status") != "REJECTED")


def verify(sb: Sandbox, key: str, journal: OrderJournal) -> dict[str, int]:
    """Zero duplicates; every journal entry final (or ``unknown``: not found, nothing proves it absent) and
    matching the exchange: acknowledged entries are there with their order id, final non-acknowledged ones
    are not."""
    exch = [o for o in sb.orders(key) if o.get("status") != "REJECTED"]
    by_cli = collections.Counter(o["order"].get("cliOrdId") for o in exch)
    dups = {cl: n for cl, n in by_cli.items() if n > 1}
    assert not dups, f"duplicate orders on the exchange: {dups}"
    assert None not in by_cli, "an order without a client id reached the exchange"
    oid_of = {o["order"]["cliOrdId"]: o["order"]["orderId"] for o in exch}
    entries = journal.entries()
    assert entries
    not_final = [(e.cl_ord_id, e.status) for e in entries if e.status not in (*FINAL_STATUSES, S.UNKNOWN)]
    assert not not_final, f"entries not in a final state: {not_final[:5]}"
    for e in entries:
        if e.status is S.ACKNOWLEDGED:
            assert e.cl_ord_id in oid_of, f"{e.cl_ord_id} acknowledged but not on the exchange"
            assert e.order_id == oid_of[e.cl_ord_id], f"{e.cl_ord_id}: order id mismatch"
        elif e.status is not S.UNKNOWN:
            assert e.cl_ord_id not in oid_of, f"{e.cl_ord_id} is {e.status} but on the exchange"
    stray = set(oid_of) - {e.cl_ord_id for e in entries}
    assert not stray, f"exchange orders the journal does not know: {stray}"
    return {"duplicates": len(dups), "exchange_orders": len(exch), **journal.counts()}


def test_futures_submit_is_journaled_and_on_the_exchange(sandbox: Sandbox) -> None:
    sb = sandbox
    key, secret = sb.create_futures_key()
    with sync_client(sb, key, secret, timeout=5.0) as client, OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.futures_rest(client, journal, grace=0.2, poll_interval=0.02)
        assert sub.start().checked == 0
        r = sub.submit(SYMBOL, "buy", "lmt", "0.001", "20000", reduceOnly=False)
        assert r.status is S.ACKNOWLEDGED and not r.recovered and r.attempts == 1
        assert r.exchange_state == "open"
        entry = journal.get(r.cl_ord_id)
        assert entry.product == "futures" and entry.order_id == r.order_id and entry.price == Decimal("20000")
        m = sub.submit(SYMBOL, "buy", "mkt", "0.001")
        assert m.status is S.ACKNOWLEDGED
        assert m.exchange_state == "closed", "a market order that filled at once is not open"
        assert live_orders_by_cli(sb, key) == {r.cl_ord_id: 1, m.cl_ord_id: 1}
        verify(sb, key, journal)


def test_futures_answer_lost_after_placing_gives_exactly_one_order(sandbox: Sandbox) -> None:
    sb = sandbox
    key, secret = sb.create_futures_key()
    with sync_client(sb, key, secret) as client, OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.futures_rest(client, journal, grace=0.3, poll_interval=0.02)
        sub.start()
        sb.faults.accept_then_timeout(SEND, n=1, delay=HOLD)
        r = sub.submit(SYMBOL, "sell", "lmt", "0.002", "90000")
        assert r.recovered and r.status is S.ACKNOWLEDGED and r.order_id
        assert live_orders_by_cli(sb, key) == {r.cl_ord_id: 1}
        sends = [q for q in sb.requests if q["path"] == SEND]
        assert len(sends) == 1, "the lost answer must not lead to a second sendorder"
        entry = journal.get(r.cl_ord_id)
        assert entry.status is S.ACKNOWLEDGED and entry.exchange_state == "open" and entry.attempts == 1
        verify(sb, key, journal)


def test_futures_lost_answer_and_failing_lookups_resolve_to_one_order(sandbox: Sandbox) -> None:
    """The client's own lookup fails too (OrderOutcomeUnknownError): the submitter looks again and finds it."""
    sb = sandbox
    key, secret = sb.create_futures_key()
    with sync_client(sb, key, secret) as client, OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.futures_rest(client, journal, grace=0.3, poll_interval=0.02, max_lookup_errors=5)
        sub.start()
        sb.faults.accept_then_timeout(SEND, n=1, delay=HOLD)
        sb.faults.fail_next(STATUS, n=2, error="Server Error")
        r = sub.submit(SYMBOL, "sell", "lmt", "0.002", "90001")
        assert r.status is S.ACKNOWLEDGED and r.recovered
        assert live_orders_by_cli(sb, key) == {r.cl_ord_id: 1}
        assert [e.status for e in journal.events(r.cl_ord_id)][-2:] == [S.UNKNOWN, S.ACKNOWLEDGED]
        verify(sb, key, journal)


def test_futures_lost_order_is_never_resent_and_stays_unknown(sandbox: Sandbox) -> None:
    """The exchange never got it (a 502 from the edge), but nothing can prove that: the caller gets
    OrderOutcomeUnknownError with the cliOrdId, exactly one sendorder went out, the entry stays unknown."""
    sb = sandbox
    key, secret = sb.create_futures_key()
    with sync_client(sb, key, secret) as client, OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.futures_rest(client, journal, grace=0.2, poll_interval=0.02, max_attempts=3)
        sub.start()
        sb.faults.fail_next(SEND, status=502)
        with pytest.raises(OrderOutcomeUnknownError) as info:
            sub.submit(SYMBOL, "buy", "lmt", "0.001", "20500")
        cl = info.value.cl_ord_id
        assert cl is not None and journal.get(cl).status is S.UNKNOWN
        assert len([q for q in sb.requests if q["path"] == SEND]) == 1
        assert not live_orders_by_cli(sb, key)
        r = sub.submit(SYMBOL, "buy", "lmt", "0.001", "20501")  # trading goes on
        assert r.status is S.ACKNOWLEDGED and live_orders_by_cli(sb, key) == {r.cl_ord_id: 1}
        verify(sb, key, journal)


async def test_futures_late_arrival_is_found_by_a_later_reconcile_never_duplicated(sandbox: Sandbox) -> None:
    """The request reaches the engine 1 s after the submitter gave up on it: no re-send went out meanwhile,
    and the next reconcile finds the order."""
    sb = sandbox
    key, secret = sb.create_futures_key()
    client = async_client(sb, key, secret)
    journal = OrderJournal.open(":memory:")
    try:
        sub = AsyncSafeOrderSubmitter.futures_rest(client, journal, grace=0.2, poll_interval=0.05, max_attempts=3)
        await sub.start()
        sb.faults.late_arrival(SEND, delay=1.0)
        with pytest.raises(OrderOutcomeUnknownError) as info:
            await sub.submit(SYMBOL, "buy", "mkt", "0.001")
        cl = info.value.cl_ord_id
        assert cl is not None and journal.get(cl).status is S.UNKNOWN
        deadline = time.monotonic() + 10
        while not live_orders_by_cli(sb, key):  # the late request reaches the engine
            assert time.monotonic() < deadline, "the late order never reached the engine"
            await asyncio.sleep(0.02)
        report = await sub.reconcile()
        assert report.acknowledged == 1 and journal.get(cl).status is S.ACKNOWLEDGED
        assert live_orders_by_cli(sb, key) == {cl: 1}
        assert len([q for q in sb.requests if q["path"] == SEND]) == 1
        verify(sb, key, journal)
    finally:
        await client.aclose()
        journal.close()


def test_futures_rejections_are_journaled_as_rejected(sandbox: Sandbox) -> None:
    sb = sandbox
    key, secret = sb.create_futures_key(balances={"USD": "100"})
    with sync_client(sb, key, secret, timeout=5.0) as client, OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.futures_rest(client, journal, grace=0.2, poll_interval=0.02)
        sub.start()
        with pytest.raises(PostWouldExecuteError):
            sub.submit(SYMBOL, "sell", "post", "0.001", "20000")  # far below the bid: would take liquidity
        with pytest.raises(InsufficientFundsError):
            sub.submit(SYMBOL, "buy", "lmt", "10", "50000")
        entries = journal.entries()
        assert [e.status for e in entries] == [S.REJECTED, S.REJECTED]
        assert "postWouldExecute" in (entries[0].error or "")
        assert "insufficientAvailableFunds" in (entries[1].error or "")
        assert all(e.attempts == 1 for e in entries), "a refusal is final: nothing is re-sent"
        assert len([q for q in sb.requests if q["path"] == SEND]) == 2
        assert not live_orders_by_cli(sb, key)
        verify(sb, key, journal)


def test_futures_rejection_whose_answer_was_lost_is_rejected_not_resent(sandbox: Sandbox) -> None:
    """Kraken refused the order but the answer never came back: orders/status shows it REJECTED. That is a
    final answer; re-sending the same cliOrdId only collects clientOrderIdAlreadyExist refusals."""
    sb = sandbox
    key, secret = sb.create_futures_key()
    with sync_client(sb, key, secret) as client, OrderJournal.open(":memory:") as journal:
        sub = SafeOrderSubmitter.futures_rest(client, journal, grace=0.2, poll_interval=0.02, max_attempts=3)
        sub.start()
        sb.faults.accept_then_timeout(SEND, n=1, delay=HOLD)
        with pytest.raises(KrakenError) as info:
            sub.submit(SYMBOL, "sell", "post", "0.001", "20000")
        assert not isinstance(info.value, (OrderNotPlacedError, OrderOutcomeUnknownError))
        (entry,) = journal.entries()
        assert entry.status is S.REJECTED and "POST_WOULD_EXECUTE" in (entry.error or "")
        assert len([q for q in sb.requests if q["path"] == SEND]) == 1
        assert not live_orders_by_cli(sb, key)


def test_futures_crashed_run_is_reconciled_on_start(sandbox: Sandbox, tmp_path: Path) -> None:
    sb = sandbox
    key, secret = sb.create_futures_key()
    path = tmp_path / "futures.sqlite3"
    landed, lost, never_sent = (generate_futures_order_id() for _ in range(3))
    # the crashed run: three entries; one order reached Kraken (the process died before the ack was
    # journaled), one 'sent' never arrived (nothing can prove that: it stays unknown), one intent was never sent
    with OrderJournal.open(path) as journal, sync_client(sb, key, secret, timeout=5.0) as client:
        for cl, price in ((landed, "21000"), (lost, "21001"), (never_sent, "21002")):
            journal.record_intent(
                cl_ord_id=cl,
                symbol=SYMBOL,
                side="buy",
                order_type="lmt",
                quantity="0.001",
                price=price,
                product="futures",
                owner="fut-bot",
            )
        journal.mark_sent(landed, owner="fut-bot", lease=60)
        journal.mark_sent(lost, owner="fut-bot", lease=60)
        client.submit_order(
            orderType="lmt", symbol=SYMBOL, side="buy", size="0.001", limitPrice="21000", cliOrdId=landed
        )
    with OrderJournal.open(path) as journal, sync_client(sb, key, secret, timeout=5.0) as client:
        sub = SafeOrderSubmitter.futures_rest(client, journal, owner="fut-bot", grace=0.2, poll_interval=0.02)
        report = sub.start()
        counts = (report.checked, report.acknowledged, report.not_placed, report.abandoned, report.unresolved)
        assert counts == (3, 1, 0, 1, 1) and report.lookups_failed == 0
        assert journal.get(landed).status is S.ACKNOWLEDGED and journal.get(landed).order_id
        assert journal.get(lost).status is S.UNKNOWN and journal.get(lost).deadline is None
        assert journal.get(never_sent).status is S.ABANDONED
        sub.submit(SYMBOL, "buy", "lmt", "0.001", "21003")  # the unprovable entry does not hold back trading
        assert live_orders_by_cli(sb, key)[landed] == 1
        verify(sb, key, journal)


async def test_futures_async_cancelled_mid_order_is_reconciled(sandbox: Sandbox, tmp_path: Path) -> None:
    """A task killed while its sendorder is held by the exchange leaves the entry 'sent'; the next run's
    start() finds the order by cliOrdId."""
    sb = sandbox
    key, secret = sb.create_futures_key()
    path = tmp_path / "futures-async.sqlite3"
    journal = OrderJournal.open(path)
    client = async_client(sb, key, secret, timeout=10.0)
    sub = AsyncSafeOrderSubmitter.futures_rest(client, journal, owner="fut-async")
    await sub.start()
    sb.faults.accept_then_timeout(SEND, n=1, delay=5.0)
    task = asyncio.create_task(sub.submit(SYMBOL, "buy", "lmt", "0.001", "22000"))
    deadline = time.monotonic() + 5
    while not [q for q in sb.requests if q["path"] == SEND]:
        assert time.monotonic() < deadline, "sendorder never reached the sandbox"
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    (left,) = journal.unresolved()
    assert left.status is S.SENT
    journal.close()
    sb.faults.clear()

    journal = OrderJournal.open(path)
    client = async_client(sb, key, secret, timeout=5.0)
    sub = AsyncSafeOrderSubmitter.futures_rest(client, journal, owner="fut-async", grace=0.2, poll_interval=0.02)
    report = await sub.start()
    assert report.acknowledged == 1 and report.unresolved == 0
    assert journal.get(left.cl_ord_id).status is S.ACKNOWLEDGED
    verify(sb, key, journal)
    await client.aclose()
    journal.close()


async def test_futures_chaos_100_orders_zero_duplicates(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    sb = sandbox
    key, secret = sb.create_futures_key(balances={"USD": "100000000"})
    rng = random.Random(424242)
    n_orders, concurrency = 100, 8
    faults: collections.Counter[str] = collections.Counter()
    outcomes: collections.Counter[str] = collections.Counter()
    journal = OrderJournal.open(tmp_path / "futures-chaos.sqlite3")
    client = async_client(sb, key, secret)
    sub = AsyncSafeOrderSubmitter.futures_rest(
        client, journal, owner="fut-chaos", grace=0.15, poll_interval=0.03, max_attempts=4, max_lookup_errors=4
    )
    t0 = time.monotonic()

    def inject() -> None:
        r = rng.random()
        if r < 0.15:
            sb.faults.accept_then_timeout(SEND, delay=HOLD)
            faults["accept_then_timeout"] += 1
        elif r < 0.25:
            sb.faults.fail_next(SEND, error="Server Error")
            faults["Server Error"] += 1
        elif r < 0.35:
            sb.faults.fail_next(SEND, status=rng.choice([500, 502, 503]))
            faults["http_5xx"] += 1
        elif r < 0.40:
            sb.faults.fail_next(STATUS, error="Server Error")
            faults["lookup_failed"] += 1

    def order_args(i: int) -> dict[str, Any]:
        if i % 10 == 0:  # market order: fills at once, found via orders/status (FULLY_EXECUTED) or fills
            return {"symbol": SYMBOL, "side": "buy" if i % 20 else "sell", "order_type": "mkt", "quantity": "0.001"}
        if i % 10 == 7:  # refused by the exchange
            return {"symbol": SYMBOL, "side": "sell", "order_type": "post", "quantity": "0.001", "price": "20000"}
        return {
            "symbol": SYMBOL,
            "side": "buy",
            "order_type": "lmt",
            "quantity": "0.001",
            "price": Decimal("30000") + i,
        }

    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n_orders):
        queue.put_nowait(i)

    async def worker() -> None:
        while True:
            i = await queue.get()
            try:
                inject()
                await count_outcome(outcomes, sub.submit(**order_args(i)))
            finally:
                queue.task_done()

    await sub.start()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.wait_for(queue.join(), 30)
    for t in workers:
        t.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    sb.faults.clear()
    final = await sub.reconcile()
    assert final.lookups_failed == 0
    elapsed = time.monotonic() - t0

    result = verify(sb, key, journal)
    assert sum(journal.counts().values()) == n_orders
    assert result["duplicates"] == 0
    assert sum(faults.values()) >= 30, faults
    posts = [e for e in journal.entries() if e.order_type == "post"]  # refused by the exchange, or lost on the way
    assert len(posts) == n_orders // 10 and all(e.status in (S.REJECTED, S.UNKNOWN) for e in posts)
    assert result.get("rejected", 0) == sum(e.status is S.REJECTED for e in posts) > 0
    # an order lost before the exchange (Server Error / 5xx, not processed) stays unknown: never re-sent,
    # never called not placed; everything else the exchange took is acknowledged
    lost = faults["Server Error"] + faults["http_5xx"]
    assert result.get("unknown", 0) == final.unresolved <= lost
    assert result["acknowledged"] + result.get("unknown", 0) + result["rejected"] == n_orders
    assert result.get("not_placed", 0) == 0 and outcomes.get("not_placed", 0) == 0
    assert sub.stats["proven_absent"] == 0  # nothing proves a Derivatives order absent: re-sent only when
    # Kraken certainly did not act (an invalid nonce, a connection never made), never after an unknown outcome
    refused_copies = sum(1 for o in sb.orders(key) if o.get("error") == "CLIENT_ORDER_ID_IN_USE")
    assert refused_copies == 0
    print(
        f"\nFUTURES CHAOS: orders={n_orders} faults={dict(faults)} total_faults={sum(faults.values())} "
        f"outcomes={dict(outcomes)} journal={result} resends_refused_as_duplicate={refused_copies} "
        f"stats={dict(sub.stats)} elapsed={elapsed:.1f}s"
    )
    await client.aclose()
    journal.close()
    assert elapsed < 10

"""SafeOrderSubmitter / AsyncSafeOrderSubmitter flows against a Kraken-like fake exchange on virtual time (no
sockets, no real waiting): deadlines on every order, unknown outcomes resolved by client id, re-sends only
after proof of absence. Most scenarios run on both drivers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from toolkit_fakes import FakeExchange, FakeVenue, VirtualTime

from krakenkit import (
    DeadlineElapsedError,
    InsufficientFundsError,
    OrderOutcomeUnknownError,
    TradingPausedError,
    ValidationError,
)
from krakenkit._core.deadline import DEFAULT_ORDER_DEADLINE, format_deadline, parse_deadline
from krakenkit.toolkit import (
    AsyncSafeOrderSubmitter,
    JournalStatus,
    OrderJournal,
    OrderNotPlacedError,
    OrderRequest,
    ReconnectGate,
    SafeOrderSubmitter,
)

S = JournalStatus
MARGIN = 0.5
GRACE = 0.5


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[OrderJournal]:
    j = OrderJournal.open(tmp_path / "sub.sqlite3")
    yield j
    j.close()


class Driver:
    """Runs a submitter call to its end: as it is (blocking submitter) or on one event loop (async one)."""

    def __init__(self, kind: str) -> None:
        self.is_async = kind == "async"
        self.loop = asyncio.new_event_loop() if self.is_async else None

    def __call__(self, value: Any) -> Any:
        return self.loop.run_until_complete(value) if self.loop is not None else value

    def close(self) -> None:
        if self.loop is not None:
            self.loop.close()


@pytest.fixture(params=["sync", "async"])
def d(request: pytest.FixtureRequest) -> Iterator[Driver]:
    driver = Driver(request.param)
    yield driver
    driver.close()


def make(
    ex: FakeExchange,
    journal: OrderJournal,
    d: Driver | None = None,
    *,
    takes_deadline: bool = True,
    uncertainty: float = 0.0,
    **kw: Any,
) -> Any:
    """A submitter on the exchange's virtual time (Kraken's clock known to +- ``uncertainty`` s)."""
    is_async = d is not None and d.is_async
    kw.setdefault("grace", GRACE)
    kw.setdefault("poll_interval", 0.1)
    kw.setdefault("deadline_margin", MARGIN)
    t = ex.time
    cls = AsyncSafeOrderSubmitter if is_async else SafeOrderSubmitter
    return cls(
        FakeVenue(ex, is_async=is_async, takes_deadline=takes_deadline),
        journal,
        owner="test",
        server_clock=t.server_clock(uncertainty),
        clock=t,
        sleep=t.asleep if is_async else t.sleep,
        **kw,
    )


def statuses(journal: OrderJournal, cl: str) -> list[JournalStatus]:
    return [ev.status for ev in journal.events(cl)]


def dl(text: str | None) -> float:
    assert text is not None
    return parse_deadline(text)


# --- deadlines -------------------------------------------------------------------------------------------


def test_every_order_carries_a_deadline_and_the_journal_records_it(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["ok"])
    sub = make(ex, journal, d)
    t0 = ex.time.now
    r = d(sub.submit("XBTUSD", "buy", "limit", "0.5", "100"))
    (send,) = ex.sends
    assert dl(send.deadline) == pytest.approx(t0 + DEFAULT_ORDER_DEADLINE, abs=0.01)
    e = journal.get(r.cl_ord_id)
    assert e.status is S.ACKNOWLEDGED and e.order_id == "O1" and e.quantity == Decimal("0.5") and not r.recovered
    assert e.deadline == send.deadline == r.deadline and e.deadline_ts == dl(send.deadline)
    assert statuses(journal, r.cl_ord_id) == [S.INTENT, S.SENT, S.ACKNOWLEDGED]
    assert journal.events(r.cl_ord_id)[1].detail["deadline"] == send.deadline


def test_order_deadline_option_and_its_range(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime(), ["ok"])
    t0 = ex.time.now
    make(ex, journal, order_deadline=30).submit("XBTUSD", "buy", "limit", "1", "100")
    assert dl(ex.sends[0].deadline) == pytest.approx(t0 + 30, abs=0.01)
    for bad in (1, 61, "10"):
        with pytest.raises(ValidationError, match="order_deadline"):
            make(ex, journal, order_deadline=bad)


def test_callers_deadline_wins_and_is_never_exceeded(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["ok", "lost"])
    sub = make(ex, journal, d, max_attempts=3)
    mine = format_deadline(ex.time.now + 20)
    r = d(sub.submit("XBTUSD", "buy", "limit", "1", "100", deadline=mine))
    assert ex.sends[0].deadline == mine == journal.get(r.cl_ord_id).deadline
    # lost: proven absent once the caller's deadline passed, but not re-sent past it
    mine = format_deadline(ex.time.now + 20)
    with pytest.raises(OrderNotPlacedError) as info:
        d(sub.submit("XBTUSD", "buy", "limit", "1", "100", deadline=mine))
    assert len(ex.sends) == 2 and ex.sends[1].deadline == mine
    assert ex.time.now >= dl(mine) + MARGIN
    e = journal.get(info.value.cl_ord_id)
    assert e.status is S.NOT_PLACED and e.deadline == mine and "its own deadline" in (e.error or "")


def test_own_deadline_keeps_clear_of_krakens_bounds(journal: OrderJournal) -> None:
    """The client checks the deadline again on its way out (after a journal write, maybe after a new clock
    measurement): a deadline at the edge of Kraken's 2..60 s would be refused there."""
    ex = FakeExchange(VirtualTime(), ["ok", "ok"])
    t0 = ex.time.now + 1.0  # make() measures the clock (+- 0.5 s), which takes 1 s of virtual time
    make(ex, journal, order_deadline=2.25, uncertainty=0.5).submit("XBTUSD", "buy", "limit", "1", "100")
    assert dl(ex.sends[0].deadline) >= t0 + 2 + 2 * 0.5 + 0.5
    t1 = ex.time.now + 1.0
    make(ex, journal, order_deadline=60, uncertainty=0.5).submit("XBTUSD", "buy", "limit", "1", "100", cl_ord_id="b")
    assert dl(ex.sends[1].deadline) <= t1 + 60 - 2 * 0.5 - 0.5


@pytest.mark.parametrize("ahead", [1.0, 90.0])
def test_callers_deadline_outside_krakens_range_is_refused_before_anything(journal: OrderJournal, ahead: float) -> None:
    ex = FakeExchange(VirtualTime())
    sub = make(ex, journal)
    with pytest.raises(ValidationError) as info:
        sub.submit("XBTUSD", "buy", "limit", "1", "100", deadline=format_deadline(ex.time.now + ahead))
    assert info.value.field == "deadline"
    assert journal.entries() == [] and ex.sends == []


def test_deadline_on_a_venue_without_one_is_refused(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime())
    sub = make(ex, journal, takes_deadline=False)
    with pytest.raises(ValidationError, match="take no deadline"):
        sub.submit("PF_XBTUSD", "buy", "lmt", "1", "100", deadline=format_deadline(ex.time.now + 20))
    assert journal.entries() == [] and ex.sends == []


# --- definitive answers ----------------------------------------------------------------------------------


def test_rejection_is_journaled_and_raised(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["reject"])
    with pytest.raises(InsufficientFundsError):
        d(make(ex, journal, d).submit("XBTUSD", "buy", "limit", "1", "100"))
    (e,) = journal.entries()
    assert e.status is S.REJECTED and "Insufficient funds" in (e.error or "")
    assert ex.lookups == 0  # a refusal is certain: nothing to look up


def test_deadline_elapsed_refusal_is_rejected_not_resent(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["deadline_elapsed", "ok"])
    with pytest.raises(DeadlineElapsedError):
        d(make(ex, journal, d, max_attempts=3).submit("XBTUSD", "buy", "market", "1"))
    (e,) = journal.entries()
    assert e.status is S.REJECTED and "Deadline elapsed" in (e.error or "")
    assert len(ex.sends) == 1 and ex.lookups == 0 and not ex.placements


def test_local_validation_error_of_the_client_is_not_sent(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime(), ["invalid"])
    with pytest.raises(ValidationError):
        make(ex, journal).submit("XBTUSD", "buy", "limit", "1", "100")
    (e,) = journal.entries()
    assert e.status is S.NOT_PLACED and e.attempts == 0 and e.sent_at is None and e.deadline is None
    assert journal.events(e.cl_ord_id)[-1].detail["sent"] is False and ex.lookups == 0


# --- unknown outcomes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["accept_timeout", "garbled", "conn_lost", "unknown_error", "boom"])
def test_unknown_outcome_of_a_placed_order_is_found_without_resending(
    journal: OrderJournal, d: Driver, fault: str
) -> None:
    ex = FakeExchange(VirtualTime(), [fault])
    r = d(make(ex, journal, d).submit("XBTUSD", "buy", "limit", "1", "100"))
    assert r.recovered and r.order_id == "O1" and len(ex.sends) == 1 and r.deadline == ex.sends[0].deadline
    assert statuses(journal, r.cl_ord_id) == [S.INTENT, S.SENT, S.UNKNOWN, S.ACKNOWLEDGED]


def test_unreadable_ack_is_an_unknown_outcome(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime(), ["ok"])
    sub = make(ex, journal)
    sub.venue.unreadable_acks = 1
    r = sub.submit("XBTUSD", "buy", "limit", "1", "100")
    assert r.recovered and r.status is S.ACKNOWLEDGED and len(ex.sends) == 1


def test_sixty_garbled_200s_after_placing_are_all_acknowledged(journal: OrderJournal, d: Driver) -> None:
    """Issue 12, item 2: 60 of 60 live orders whose 200 could not be parsed were journaled not_placed."""
    ex = FakeExchange(VirtualTime(), ["garbled"] * 60)
    sub = make(ex, journal, d)
    results = [d(sub.submit("XBTUSD", "buy", "limit", "0.01", str(100 + i))) for i in range(60)]
    assert all(r.recovered and r.status is S.ACKNOWLEDGED for r in results)
    assert journal.counts() == {"acknowledged": 60}
    assert len(ex.sends) == 60 and sum(ex.placements.values()) == 60 and not ex.duplicates


def test_fifteen_late_market_orders_are_found_never_executed_twice(journal: OrderJournal, d: Driver) -> None:
    """Issue 12, item 1: the request reaches the engine 2.5 s after sending (after the client gave up and
    the fast look-ups found nothing) but before its deadline. The submitter waits for the deadline and
    finds it; a re-send would have filled the market order a second time."""
    ex = FakeExchange(VirtualTime(), [("late", 2.5)] * 15)
    sub = make(ex, journal, d)
    results = [d(sub.submit("XBTUSD", "buy", "market", "0.01")) for _ in range(15)]
    assert not ex.duplicates and sum(ex.placements.values()) == 15 and len(ex.sends) == 15
    assert all(r.recovered and r.attempts == 1 and r.exchange_state == "closed" for r in results)
    assert journal.counts() == {"acknowledged": 15}


def test_request_that_reaches_the_engine_after_its_deadline_is_resent_once(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), [("late", 30.0), "ok"])
    r = d(make(ex, journal, d).submit("XBTUSD", "buy", "market", "0.01"))
    first, second = ex.sends
    assert second.at >= dl(first.deadline) + MARGIN  # re-sent only once the first deadline had certainly passed
    assert dl(second.deadline) > dl(first.deadline) and r.attempts == 2 and r.deadline == second.deadline
    ex.time.now += 60
    assert ex.lookup(r.cl_ord_id) is not None  # the original arrives at last: the engine refuses it
    assert ex.refused_late == 1 and ex.placements == {r.cl_ord_id: 1}
    e = journal.get(r.cl_ord_id)
    assert e.deadline == second.deadline and e.attempts == 2
    assert statuses(journal, r.cl_ord_id) == [S.INTENT, S.SENT, S.UNKNOWN, S.UNKNOWN, S.SENT, S.ACKNOWLEDGED]
    assert [ev.detail.get("deadline") for ev in journal.events(r.cl_ord_id) if ev.status is S.SENT] == [
        first.deadline,
        second.deadline,
    ]


def test_arrival_just_before_the_deadline_is_seen_thanks_to_the_margin(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime(), [("late", DEFAULT_ORDER_DEADLINE - 0.05)], visibility_lag=MARGIN - 0.1)
    r = make(ex, journal).submit("XBTUSD", "buy", "market", "0.01")
    assert r.recovered and len(ex.sends) == 1 and not ex.duplicates


def test_resend_refused_as_a_duplicate_is_looked_up_not_rejected(journal: OrderJournal, d: Driver) -> None:
    """Defence in depth: the order reached the book but look-ups saw it too late (lag beyond the margin);
    Kraken refuses the re-send (open order, same cl_ord_id): that refusal means 'it exists', not 'rejected'."""
    ex = FakeExchange(VirtualTime(), [("late", DEFAULT_ORDER_DEADLINE - 0.05), "ok"], visibility_lag=MARGIN + 0.2)
    r = d(make(ex, journal, d).submit("XBTUSD", "buy", "limit", "1", "100"))
    assert r.status is S.ACKNOWLEDGED and r.recovered and len(ex.sends) == 2
    assert ex.placements == {r.cl_ord_id: 1}


def test_duplicate_refusal_is_never_taken_for_absence(journal: OrderJournal) -> None:
    """The engine says the client id is taken, the look-ups never show the order: it stays unknown, no third
    request goes out."""
    ex = FakeExchange(VirtualTime(), [("late", DEFAULT_ORDER_DEADLINE - 0.05), "ok", "ok"], visibility_lag=1e6)
    with pytest.raises(OrderOutcomeUnknownError, match="an order with this client id exists") as info:
        make(ex, journal, max_attempts=3).submit("XBTUSD", "buy", "limit", "1", "100")
    assert len(ex.sends) == 2 and journal.get(str(info.value.cl_ord_id)).status is S.UNKNOWN


def test_clock_uncertainty_lengthens_the_wait(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime(), ["lost", "ok"])
    make(ex, journal, uncertainty=0.75).submit("XBTUSD", "buy", "limit", "1", "100")
    first, second = ex.sends
    assert second.at >= dl(first.deadline) + MARGIN + 0.75


def test_lost_order_is_resent_with_the_same_id_only_after_each_deadline(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["lost", "lost", "ok"])
    sub = make(ex, journal, d, max_attempts=3)
    r = d(sub.submit("XBTUSD", "sell", "market", "2"))
    assert r.attempts == 3 and [s.cl_ord_id for s in ex.sends] == [r.cl_ord_id] * 3 and len(ex.placements) == 1
    for before, after in zip(ex.sends, ex.sends[1:], strict=False):
        assert after.at >= dl(before.deadline) + MARGIN and dl(after.deadline) > dl(before.deadline)
    assert sub.stats["resent"] == 2 and sub.stats["proven_absent"] == 2


def test_absent_after_all_attempts_is_not_placed_with_its_proof(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["lost", "lost"])
    with pytest.raises(OrderNotPlacedError) as info:
        d(make(ex, journal, d, max_attempts=2).submit("XBTUSD", "sell", "market", "2"))
    e = journal.get(info.value.cl_ord_id)
    assert e.status is S.NOT_PLACED and "passed on Kraken's clock" in (e.error or "")
    assert info.value.deadline == ex.sends[-1].deadline == e.deadline  # type: ignore[attr-defined]
    assert ex.time.now >= dl(e.deadline) + MARGIN and not ex.placements


def test_clients_proof_of_absence_resends_at_once_with_a_new_deadline(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["proven_absent", "ok"])
    r = d(make(ex, journal, d).submit("XBTUSD", "buy", "limit", "1", "100"))
    first, second = ex.sends
    assert ex.lookups == 0 and r.attempts == 2 and second.deadline != first.deadline
    unknown = [ev for ev in journal.events(r.cl_ord_id) if ev.status is S.UNKNOWN]
    assert len(unknown) == 1 and "client proved it absent" in unknown[0].detail["error"]


def test_clients_early_proof_is_checked_after_the_deadline_on_our_clock(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime(), ["proven_absent_early", "ok"])
    r = make(ex, journal).submit("XBTUSD", "buy", "limit", "1", "100")
    first, second = ex.sends
    assert ex.lookups >= 1 and second.at >= dl(first.deadline) + MARGIN and r.attempts == 2


def test_live_order_whose_lookups_fail_stays_unknown_and_blocks(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["garbled"])
    ex.lookup_fail = 3
    sub = make(ex, journal, d, max_lookup_errors=3)
    with pytest.raises(OrderOutcomeUnknownError) as info:
        d(sub.submit("XBTUSD", "buy", "limit", "1", "100"))
    cl = info.value.cl_ord_id
    assert cl is not None and journal.get(cl).status is S.UNKNOWN
    assert info.value.deadline == ex.sends[0].deadline  # type: ignore[attr-defined]
    assert info.value.request["deadline"] == ex.sends[0].deadline
    ex.lookup_fail = 3  # the exchange still fails look-ups: no new order may go out (nothing of it is sent)
    with pytest.raises(TradingPausedError, match="refusing new orders") as paused:
        d(sub.submit("XBTUSD", "buy", "limit", "1", "100"))
    assert paused.value.unresolved == [cl]  # type: ignore[attr-defined]
    assert len(ex.sends) == 1 and len(journal.entries()) == 1
    r = d(sub.submit("XBTUSD", "buy", "limit", "1", "100"))  # look-ups work again: reconciled first
    assert journal.get(cl).status is S.ACKNOWLEDGED and journal.get(cl).order_id == "O1"
    assert r.order_id == "O2"


def test_late_order_whose_proving_lookup_fails_is_never_called_not_placed(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), [("late", 3.0)])
    ex.fail_lookups_after = ex.time.now + 5  # the fast look-ups work (and find nothing), the later ones fail
    with pytest.raises(OrderOutcomeUnknownError) as info:
        d(make(ex, journal, d, max_lookup_errors=3).submit("XBTUSD", "buy", "market", "1"))
    cl = info.value.cl_ord_id
    assert cl is not None and ex.placements == {cl: 1}  # live on the exchange ...
    assert journal.get(cl).status is S.UNKNOWN  # ... and never journaled as not placed
    assert len(ex.sends) == 1


def test_claim_is_held_for_the_wait_on_the_deadline(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime(), [("late", 2.5)])
    held: list[float] = []
    ex.on_lookup = lambda cl: held.append((journal.get(cl).claimed_until or 0.0) - time.time())
    make(ex, journal, lease=5.0).submit("XBTUSD", "buy", "market", "1")
    assert held and min(held) > 5.0 + DEFAULT_ORDER_DEADLINE - 1  # lease + the wait, not just the lease


# --- Derivatives-like venue: no deadline ---------------------------------------------------------------------


def test_venue_without_deadline_never_resends_an_unknown_outcome(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), ["lost", "ok"])
    sub = make(ex, journal, d, takes_deadline=False, max_attempts=3)
    with pytest.raises(OrderOutcomeUnknownError, match="nothing proves it absent") as info:
        d(sub.submit("PF_XBTUSD", "buy", "lmt", "1", "100"))
    cl = info.value.cl_ord_id
    assert cl is not None and journal.get(cl).status is S.UNKNOWN
    assert len(ex.sends) == 1 and ex.sends[0].deadline is None
    r = d(sub.submit("PF_XBTUSD", "buy", "lmt", "1", "101"))  # not found is no reason to stop trading
    assert r.status is S.ACKNOWLEDGED and len(ex.sends) == 2
    report = d(sub.reconcile())
    assert (report.checked, report.unresolved, report.lookups_failed) == (1, 1, 0)
    assert journal.get(cl).status is S.UNKNOWN


def test_venue_without_deadline_late_order_is_reconciled_when_it_shows(journal: OrderJournal, d: Driver) -> None:
    ex = FakeExchange(VirtualTime(), [("late", 5.0)])
    sub = make(ex, journal, d, takes_deadline=False)
    with pytest.raises(OrderOutcomeUnknownError) as info:
        d(sub.submit("PF_XBTUSD", "buy", "mkt", "1"))
    ex.time.now += 10
    report = d(sub.reconcile())
    assert report.acknowledged == 1 and journal.get(str(info.value.cl_ord_id)).status is S.ACKNOWLEDGED
    assert len(ex.sends) == 1 and not ex.duplicates


# --- reconciliation -------------------------------------------------------------------------------------------


def test_start_reconciles_a_crashed_run_by_its_deadlines(tmp_path: Path, d: Driver) -> None:
    path = tmp_path / "crash.sqlite3"
    ex = FakeExchange(VirtualTime())
    now = ex.time.now
    future, past = format_deadline(now + 10), format_deadline(now - 5)
    j1 = OrderJournal.open(path)
    # the crashed run: never sent; placed; sent and gone (deadline passed); sent, still on its way (reaches
    # the engine in 3 s, before its deadline); sent by an older version without a deadline
    for cl in ("never", "placed", "gone", "pending", "old"):
        j1.record_intent(
            cl_ord_id=cl, symbol="XBTUSD", side="buy", order_type="market", quantity="1", owner="test", lease=60
        )
    for cl, deadline in (("placed", future), ("gone", past), ("pending", future), ("old", None)):
        j1.mark_sent(cl, deadline=deadline)
    ex.arrives_at(now - 1, "placed", future, "market")
    ex.arrives_at(now + 3, "pending", future, "market")
    j1.close()
    j2 = OrderJournal.open(path)
    sub = make(ex, j2, d)
    report = d(sub.start())
    assert (report.abandoned, report.acknowledged, report.not_placed, report.unresolved, report.lookups_failed) == (
        1,
        2,
        1,
        1,
        0,
    )
    assert {e.cl_ord_id: e.status for e in j2.entries()} == {
        "never": S.ABANDONED,
        "placed": S.ACKNOWLEDGED,
        "gone": S.NOT_PLACED,
        "pending": S.ACKNOWLEDGED,
        "old": S.UNKNOWN,
    }
    assert ex.time.now >= dl(future) + MARGIN  # 'pending' was judged only after its deadline
    assert ex.sends == []  # reconciliation never re-sends
    d(sub.submit("XBTUSD", "buy", "market", "1"))  # 'old' (not provable) does not hold back new orders
    j2.close()


def test_entries_leased_by_another_live_bot_are_left_alone(journal: OrderJournal) -> None:
    journal.record_intent(
        cl_ord_id="theirs", symbol="XBTUSD", side="buy", order_type="market", quantity="1", owner="other-bot", lease=60
    )
    journal.mark_sent("theirs")
    ex = FakeExchange(VirtualTime(), ["ok"])
    sub = make(ex, journal)
    assert sub.start().checked == 0
    sub.submit("XBTUSD", "buy", "market", "1")
    assert journal.get("theirs").status is S.SENT


# --- gate, concurrency, cancellation --------------------------------------------------------------------------


def test_gate_raise_mode_refuses_and_journals_not_placed(journal: OrderJournal) -> None:
    gate = ReconnectGate(on_closed="raise")
    gate.close("manual")
    ex = FakeExchange(VirtualTime())
    with pytest.raises(TradingPausedError):
        make(ex, journal, gate=gate).submit("XBTUSD", "buy", "market", "1")
    (e,) = journal.entries()
    assert e.status is S.NOT_PLACED and "TradingPausedError" in (e.error or "") and ex.sends == []
    assert gate.core.inflight == 0


async def test_async_driver_concurrent_submits_zero_duplicates(journal: OrderJournal) -> None:
    script: list[Any] = ["ok", "accept_timeout", "lost", "ok", "reject", ("late", 2.0), "garbled", "conn_lost"]
    ex = FakeExchange(VirtualTime(), script + ["ok"] * 16)
    sub = make(ex, journal, Driver("async"))
    await sub.start()
    results = await asyncio.gather(
        *(sub.submit("XBTUSD", "buy", "market", "1") for _ in range(24)), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], InsufficientFundsError)
    assert journal.counts() == {"acknowledged": 23, "rejected": 1}
    assert sum(ex.placements.values()) == 23 and not ex.duplicates


async def test_async_gate_waits_then_sends(journal: OrderJournal) -> None:
    gate = ReconnectGate(wait_timeout=5.0)
    gate.close("reconnecting:spotPrivateV2")
    ex = FakeExchange(VirtualTime())
    sub = make(ex, journal, Driver("async"), gate=gate)
    task = asyncio.create_task(sub.submit("XBTUSD", "buy", "market", "1"))
    await asyncio.sleep(0.05)
    assert not task.done() and ex.sends == []
    gate.open("reconnecting:spotPrivateV2")
    r = await asyncio.wait_for(task, 5)
    assert r.status is S.ACKNOWLEDGED and gate.core.inflight == 0 and ex.sends[0].deadline is not None


async def test_cancelled_submit_is_reconciled_before_the_next(journal: OrderJournal) -> None:
    ex = FakeExchange(VirtualTime())
    started = asyncio.Event()
    release = asyncio.Event()

    class SlowVenue(FakeVenue):
        def send(self, req: OrderRequest, cl_ord_id: str) -> tuple[Callable[..., Any], dict[str, Any]]:
            async def run(cl: str, deadline: str | None = None) -> Any:
                ex.arrives_at(ex.time.now, cl, deadline)  # Kraken got it ...
                started.set()
                await release.wait()  # ... and the answer never comes
                return {"order_id": "never"}

            return run, {"cl": cl_ord_id}

    t = ex.time
    sub = AsyncSafeOrderSubmitter(
        SlowVenue(ex, is_async=True), journal, owner="t", server_clock=t.server_clock(), clock=t, sleep=t.asleep
    )
    task = asyncio.create_task(sub.submit("XBTUSD", "buy", "market", "1"))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (e,) = journal.entries()
    assert e.status is S.SENT and e.deadline is not None
    sub.venue = FakeVenue(ex, is_async=True)
    sub.venue._ids = iter(["cl-next"])  # type: ignore[attr-defined]
    await sub.submit("XBTUSD", "buy", "market", "1")
    assert journal.get(e.cl_ord_id).status is S.ACKNOWLEDGED and journal.get(e.cl_ord_id).order_id == "O1"

"""SafeOrderSubmitter flows against a scripted fake venue (no sockets): sync and async drivers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from krakenkit import (
    APITimeoutError,
    InsufficientFundsError,
    OrderOutcomeUnknownError,
    ServiceUnavailableError,
    TradingPausedError,
)
from krakenkit.toolkit import (
    AsyncSafeOrderSubmitter,
    Found,
    JournalStatus,
    OrderJournal,
    OrderNotPlacedError,
    OrderRequest,
    ReconnectGate,
    SafeOrderSubmitter,
)

S = JournalStatus


class FakeExchange:
    """Orders by client id. ``script`` says what each send does:
    ok | reject | accept_timeout (placed, answer lost) | lost (not placed, 503) | late (placed after lookups)."""

    def __init__(self, script: list[str] | None = None) -> None:
        self.script = list(script or [])
        self.orders: dict[str, str] = {}
        self.sends: list[str] = []
        self.lookups = 0
        self.lookup_fail = 0
        self.late: dict[str, int] = {}
        self._ids = itertools.count(1)

    def _place(self, cl: str) -> str:
        if cl in self.orders:
            raise AssertionError("duplicate order placed")
        oid = f"O{next(self._ids)}"
        self.orders[cl] = oid
        return oid

    def send(self, cl_ord_id: str) -> dict[str, str]:
        self.sends.append(cl_ord_id)
        action = self.script.pop(0) if self.script else "ok"
        if action == "ok":
            return {"order_id": self._place(cl_ord_id)}
        if action == "reject":
            raise InsufficientFundsError("EOrder:Insufficient funds", errors=["EOrder:Insufficient funds"])
        if action == "accept_timeout":
            self._place(cl_ord_id)
            raise APITimeoutError("timed out", retry_safe=False)
        if action == "lost":
            raise ServiceUnavailableError("EService:Unavailable", errors=["EService:Unavailable"])
        if action.startswith("late"):
            self.late[cl_ord_id] = int(action[4:] or "2")
            raise APITimeoutError("timed out", retry_safe=False)
        raise AssertionError(action)

    def lookup(self, cl_ord_id: str) -> dict[str, str] | None:
        self.lookups += 1
        if self.lookup_fail > 0:
            self.lookup_fail -= 1
            raise ServiceUnavailableError("EService:Unavailable", errors=["EService:Unavailable"])
        if cl_ord_id in self.late:
            self.late[cl_ord_id] -= 1
            if self.late[cl_ord_id] <= 0:
                del self.late[cl_ord_id]
                self._place(cl_ord_id)
        oid = self.orders.get(cl_ord_id)
        return {"order_id": oid} if oid else None


class FakeVenue:
    product = "spot"
    via = "rest"

    def __init__(self, ex: FakeExchange, *, is_async: bool = False) -> None:
        self.ex = ex
        self._ids = itertools.count(1)
        self.is_async = is_async

    def new_client_id(self) -> str:
        return f"cl-{next(self._ids)}"

    def validate_client_id(self, value: str) -> str:
        return value

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if not self.is_async:
            return fn

        async def run(**kw: Any) -> Any:
            await asyncio.sleep(0)
            return fn(**kw)

        return run

    def send(self, req: OrderRequest, cl_ord_id: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        return self._wrap(lambda cl: self.ex.send(cl)), {"cl": cl_ord_id}

    def parse_ack(self, response: Any, cl_ord_id: str) -> Found:
        return Found(order_id=response["order_id"], exchange_state="open")

    def lookups(self, cl_ord_id: str) -> list[Any]:
        def parse(r: Any, c: str) -> Found | None:
            return Found(order_id=r["order_id"], exchange_state="open", recovered=True) if r else None

        return [(self._wrap(lambda cl: self.ex.lookup(cl)), {"cl": cl_ord_id}, parse)]


@pytest.fixture
def journal(tmp_path: Path) -> OrderJournal:
    j = OrderJournal.open(tmp_path / "sub.sqlite3")
    yield j  # type: ignore[misc]
    j.close()


def make(ex: FakeExchange, journal: OrderJournal, **kw: Any) -> SafeOrderSubmitter:
    kw.setdefault("grace", 0.05)
    kw.setdefault("poll_interval", 0.01)
    return SafeOrderSubmitter(FakeVenue(ex), journal, owner="test", **kw)


def test_ack_is_journaled_with_order_id(journal: OrderJournal) -> None:
    ex = FakeExchange(["ok"])
    r = make(ex, journal).submit("XBTUSD", "buy", "limit", "0.5", "100")
    assert r.order_id == "O1" and r.status is S.ACKNOWLEDGED and not r.recovered and r.attempts == 1
    e = journal.get(r.cl_ord_id)
    assert e.status is S.ACKNOWLEDGED and e.order_id == "O1" and e.quantity == Decimal("0.5")
    assert [ev.status for ev in journal.events(r.cl_ord_id)] == [S.INTENT, S.SENT, S.ACKNOWLEDGED]


def test_rejection_is_journaled_and_raised(journal: OrderJournal) -> None:
    ex = FakeExchange(["reject"])
    with pytest.raises(InsufficientFundsError):
        make(ex, journal).submit("XBTUSD", "buy", "limit", "1", "100")
    (e,) = journal.entries()
    assert e.status is S.REJECTED and "Insufficient funds" in (e.error or "")
    assert ex.lookups == 0  # a refusal is certain: nothing to look up


def test_lost_answer_is_found_by_client_id_without_resending(journal: OrderJournal) -> None:
    ex = FakeExchange(["accept_timeout"])
    r = make(ex, journal).submit("XBTUSD", "buy", "limit", "1", "100")
    assert r.recovered and r.order_id == "O1" and ex.sends == [r.cl_ord_id]
    assert [ev.status for ev in journal.events(r.cl_ord_id)] == [S.INTENT, S.SENT, S.UNKNOWN, S.ACKNOWLEDGED]


def test_order_still_reaching_the_book_is_found_within_grace(journal: OrderJournal) -> None:
    ex = FakeExchange(["late3"])  # visible on the third lookup
    r = make(ex, journal, grace=1.0).submit("XBTUSD", "buy", "limit", "1", "100")
    assert r.recovered and len(ex.sends) == 1 and ex.lookups == 3


def test_absent_after_grace_is_resent_with_the_same_id(journal: OrderJournal) -> None:
    ex = FakeExchange(["lost", "lost", "ok"])
    sub = make(ex, journal, max_attempts=3)
    r = sub.submit("XBTUSD", "sell", "market", "2")
    assert r.attempts == 3 and ex.sends == [r.cl_ord_id] * 3 and len(ex.orders) == 1
    assert sub.stats["resent"] == 2


def test_absent_after_all_attempts_is_not_placed(journal: OrderJournal) -> None:
    ex = FakeExchange(["lost", "lost"])
    with pytest.raises(OrderNotPlacedError) as info:
        make(ex, journal, max_attempts=2).submit("XBTUSD", "sell", "market", "2")
    assert journal.get(info.value.cl_ord_id).status is S.NOT_PLACED
    assert ex.orders == {}


def test_unresolvable_outcome_raises_and_blocks_until_reconciled(journal: OrderJournal) -> None:
    ex = FakeExchange(["accept_timeout"])
    ex.lookup_fail = 3
    sub = make(ex, journal, max_lookup_errors=3)
    with pytest.raises(OrderOutcomeUnknownError) as info:
        sub.submit("XBTUSD", "buy", "limit", "1", "100")
    cl = info.value.cl_ord_id
    assert cl is not None and journal.get(cl).status is S.UNKNOWN
    # the exchange is still failing lookups: no new order may go out
    ex.lookup_fail = 3
    with pytest.raises(OrderOutcomeUnknownError, match="refusing new orders"):
        sub.submit("XBTUSD", "buy", "limit", "1", "100")
    assert len(ex.sends) == 1
    # lookups work again: the unknown one is reconciled first, then the new order goes out
    r = sub.submit("XBTUSD", "buy", "limit", "1", "100")
    assert journal.get(cl).status is S.ACKNOWLEDGED and journal.get(cl).order_id == "O1"
    assert r.order_id == "O2"


def test_start_reconciles_a_crashed_run(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    ex = FakeExchange()
    j1 = OrderJournal.open(path)
    # crashed run: one intent never sent, one sent and placed, one sent and lost
    for cl in ("never", "placed", "lost"):
        j1.record_intent(
            cl_ord_id=cl, symbol="XBTUSD", side="buy", order_type="market", quantity="1", owner="test", lease=60
        )
    for cl in ("placed", "lost"):
        j1.mark_sent(cl)
    ex.orders["placed"] = "OP"
    j1.close()
    j2 = OrderJournal.open(path)
    sub = make(ex, j2)
    report = sub.start()
    assert (report.abandoned, report.acknowledged, report.not_placed, report.unresolved) == (1, 1, 1, 0)
    assert {e.cl_ord_id: e.status for e in j2.entries()} == {
        "never": S.ABANDONED,
        "placed": S.ACKNOWLEDGED,
        "lost": S.NOT_PLACED,
    }
    assert j2.get("placed").order_id == "OP"
    assert ex.sends == []  # reconciliation never re-sends
    j2.close()


def test_entries_leased_by_another_live_bot_are_left_alone(journal: OrderJournal) -> None:
    journal.record_intent(
        cl_ord_id="theirs", symbol="XBTUSD", side="buy", order_type="market", quantity="1", owner="other-bot", lease=60
    )
    journal.mark_sent("theirs")
    ex = FakeExchange(["ok"])
    sub = make(ex, journal)
    assert sub.start().checked == 0
    sub.submit("XBTUSD", "buy", "market", "1")
    assert journal.get("theirs").status is S.SENT


def test_gate_raise_mode_refuses_and_journals_not_placed(journal: OrderJournal) -> None:
    gate = ReconnectGate(on_closed="raise")
    gate.close("manual")
    ex = FakeExchange()
    with pytest.raises(TradingPausedError):
        make(ex, journal, gate=gate).submit("XBTUSD", "buy", "market", "1")
    (e,) = journal.entries()
    assert e.status is S.NOT_PLACED and "TradingPausedError" in (e.error or "") and ex.sends == []
    assert gate.core.inflight == 0


async def test_async_driver_concurrent_submits(journal: OrderJournal) -> None:
    ex = FakeExchange(["ok", "accept_timeout", "lost", "ok", "reject", "late2"] + ["ok"] * 20)
    sub = AsyncSafeOrderSubmitter(FakeVenue(ex, is_async=True), journal, owner="test", grace=0.05, poll_interval=0.01)
    await sub.start()
    results = await asyncio.gather(
        *(sub.submit("XBTUSD", "buy", "market", "1") for _ in range(24)), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], InsufficientFundsError)
    counts = journal.counts()
    assert counts == {"acknowledged": 23, "rejected": 1}
    assert len(ex.orders) == 23  # FakeExchange raises on any duplicate placement


async def test_async_gate_waits_then_sends(journal: OrderJournal) -> None:
    gate = ReconnectGate(wait_timeout=5.0)
    gate.close("reconnecting:spotPrivateV2")
    ex = FakeExchange()
    sub = AsyncSafeOrderSubmitter(FakeVenue(ex, is_async=True), journal, owner="t", gate=gate)
    task = asyncio.create_task(sub.submit("XBTUSD", "buy", "market", "1"))
    await asyncio.sleep(0.05)
    assert not task.done() and ex.sends == []
    gate.open("reconnecting:spotPrivateV2")
    r = await asyncio.wait_for(task, 5)
    assert r.status is S.ACKNOWLEDGED and gate.core.inflight == 0


async def test_cancelled_submit_is_reconciled_before_the_next(journal: OrderJournal) -> None:
    ex = FakeExchange()
    started = asyncio.Event()
    release = asyncio.Event()

    class SlowVenue(FakeVenue):
        def send(self, req: OrderRequest, cl_ord_id: str) -> tuple[Callable[..., Any], dict[str, Any]]:
            async def run(cl: str) -> Any:
                ex.orders[cl] = "OSLOW"  # Kraken got it ...
                started.set()
                await release.wait()  # ... and the answer never comes
                return {"order_id": "OSLOW"}

            return run, {"cl": cl_ord_id}

    sub = AsyncSafeOrderSubmitter(SlowVenue(ex, is_async=True), journal, owner="t", grace=0.05, poll_interval=0.01)
    task = asyncio.create_task(sub.submit("XBTUSD", "buy", "market", "1"))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (e,) = journal.entries()
    assert e.status is S.SENT
    fresh = FakeVenue(ex, is_async=True)
    fresh._ids = itertools.count(100)
    sub.venue = fresh
    await sub.submit("XBTUSD", "buy", "market", "1")
    assert journal.get(e.cl_ord_id).status is S.ACKNOWLEDGED
    assert journal.get(e.cl_ord_id).order_id == "OSLOW"

"""The submitters' ``revalidate`` hook: an order that waited at a closed ReconnectGate is put to the bot again
before it is sent; declined -> OrderWithdrawnError and journaled as not sent, with the time it waited."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from toolkit_fakes import VirtualTime

from krakenkit import ServiceUnavailableError, TradingPausedError
from krakenkit.toolkit import (
    AsyncSafeOrderSubmitter,
    Found,
    JournalStatus,
    OrderJournal,
    OrderRequest,
    OrderWithdrawnError,
    ReconnectGate,
    SafeOrderSubmitter,
)

S = JournalStatus


class Venue:
    """Records every send (with its deadline); ``lost`` sends fail with a 503 and leave nothing (looked up:
    absent)."""

    product = "spot"
    via = "rest"
    takes_deadline = True

    def __init__(
        self, script: list[str] | None = None, *, is_async: bool = False, on_lookup: Callable[[], None] | None = None
    ) -> None:
        self.script = list(script or [])
        self.sends: list[dict[str, Any]] = []
        self.placed: set[str] = set()
        self.is_async = is_async
        self.on_lookup = on_lookup
        self._ids = itertools.count(1)

    def new_client_id(self) -> str:
        return f"cl-{next(self._ids)}"

    def validate_client_id(self, value: str) -> str:
        return value

    def _send(self, **kw: Any) -> dict[str, str]:
        self.sends.append(kw)
        if (self.script.pop(0) if self.script else "ok") == "lost":
            raise ServiceUnavailableError("EService:Unavailable", errors=["EService:Unavailable"])
        self.placed.add(kw["cl"])
        return {"order_id": "O-" + kw["cl"]}

    def _lookup(self, cl: str) -> dict[str, str] | None:
        if self.on_lookup is not None:
            self.on_lookup()
        return {"order_id": "O-" + cl} if cl in self.placed else None

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        if not self.is_async:
            return fn

        async def run(**kw: Any) -> Any:
            return fn(**kw)

        return run

    def send(self, req: OrderRequest, cl_ord_id: str) -> tuple[Callable[..., Any], dict[str, Any]]:
        return self._wrap(self._send), {"cl": cl_ord_id, "symbol": req.symbol, "qty": req.quantity}

    def parse_ack(self, response: Any, cl_ord_id: str) -> Found:
        return Found(order_id=response["order_id"], exchange_state="open")

    def lookups(self, cl_ord_id: str) -> list[Any]:
        def parse(r: Any, c: str) -> Found | None:
            return Found(order_id=r["order_id"], recovered=True) if r else None

        return [(self._wrap(lambda cl: self._lookup(cl)), {"cl": cl_ord_id}, parse)]


class Clock:
    """The submitter's clock: moved by the test, so the journaled wait is exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[OrderJournal]:
    j = OrderJournal.open(tmp_path / "reval.sqlite3")
    yield j
    j.close()


class Waits:
    """Counts the times an action started waiting at the closed gate (blocking path)."""

    def __init__(self, gate: ReconnectGate) -> None:
        self.count = 0
        self.cond = threading.Condition()
        real = gate.core.admit_sync

        def admit_sync(action: str, timeout: float | None) -> bool:
            with self.cond:
                self.count += 1
                self.cond.notify_all()
            return real(action, timeout)

        gate.core.admit_sync = admit_sync  # type: ignore[method-assign]

    def wait(self, n: int = 1, timeout: float = 5.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.count >= n, timeout)


def run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["result"] = fn()
        except BaseException as exc:
            out["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    return t, out


class Pause:
    """A ReconnectGate closed for ``reason`` (``"status:<s>"``: by the system status ``<s>``; ``None``: left
    open), a signal for the orders that wait at it, and the submitters' clock."""

    def __init__(self, reason: str | None = "manual") -> None:
        self.reason = reason
        self.gate = ReconnectGate(wait_timeout=10)
        if reason is not None and reason.startswith("status:"):
            self.gate.set_system_status(reason.removeprefix("status:"))
        elif reason is not None:
            self.gate.close(reason)
        self.waiting = Waits(self.gate)
        self.clock = Clock()

    def submitter(self, venue: Venue, journal: OrderJournal, **kw: Any) -> SafeOrderSubmitter:
        kraken = VirtualTime()  # Kraken's clock, moved by the submitter's waits for a deadline
        return SafeOrderSubmitter(
            venue,
            journal,
            owner="t",
            gate=self.gate,
            grace=0.0,
            poll_interval=0.001,
            clock=self.clock,
            server_clock=kraken.server_clock(),
            sleep=kraken.sleep,
            **kw,
        )

    def submit(self, sub: SafeOrderSubmitter, cl_ord_id: str | None = None) -> tuple[threading.Thread, dict[str, Any]]:
        """Submit a buy of 0.5 XBTUSD at 30000 in a thread; return once it waits at the gate."""
        t, out = run_in_thread(lambda: sub.submit("XBTUSD", "buy", "limit", "0.5", "30000", cl_ord_id=cl_ord_id))
        assert self.waiting.wait()
        return t, out

    def resume(self, after: float = 0.0, reason: str | None = None) -> None:
        """``after`` seconds later the gate opens (``reason``: the pause's own by default)."""
        self.clock.now += after
        reason = reason or self.reason or ""
        if reason.startswith("status:"):
            self.gate.set_system_status("online")
        else:
            self.gate.open(reason)

    def across(self, sub: SafeOrderSubmitter, after: float, cl_ord_id: str | None = None) -> dict[str, Any]:
        """Submit during the pause, resume ``after`` seconds later; the submit's result or error."""
        t, out = self.submit(sub, cl_ord_id)
        self.resume(after)
        t.join(5)
        return out


def test_declined_after_the_wait_is_not_sent_and_journaled_as_not_sent(journal: OrderJournal) -> None:
    pause = Pause("reconnecting:spotPrivateV2")
    gate = pause.gate
    asked: list[OrderRequest] = []

    def revalidate(req: OrderRequest) -> bool:
        asked.append(req)
        return False

    venue = Venue()
    sub = pause.submitter(venue, journal, revalidate=revalidate)
    out = pause.across(sub, 7.25, cl_ord_id="mine-1")  # the pause lasted 7.25 s
    err = out["error"]
    assert isinstance(err, OrderWithdrawnError) and err.cl_ord_id == "mine-1" and err.waited == 7.25
    assert venue.sends == []  # nothing went out
    (req,) = asked
    assert (req.symbol, req.side, req.quantity, req.price) == ("XBTUSD", "buy", Decimal("0.5"), Decimal("30000"))
    assert req.cl_ord_id == "mine-1" and req.waited == 7.25
    e = journal.get("mine-1")
    assert e.status is S.NOT_PLACED and e.attempts == 0 and e.sent_at is None and e.gate_wait == 7.25
    assert "withdrawn" in (e.error or "")
    last = journal.events("mine-1")[-1]
    assert last.status is S.NOT_PLACED and last.detail["sent"] is False and last.detail["revalidate"] is False
    assert last.detail["gate_wait"] == 7.25
    assert gate.core.inflight == 0 and sub.stats["withdrawn"] == 1


def test_approved_after_the_wait_is_sent_and_the_wait_journaled(journal: OrderJournal) -> None:
    pause = Pause("status:maintenance")
    asked: list[str | None] = []
    venue = Venue()
    sub = pause.submitter(venue, journal, revalidate=lambda req: asked.append(req.cl_ord_id) is None)
    r = pause.across(sub, 3.0)["result"]
    assert pause.gate.system_status == "online"
    assert asked == [r.cl_ord_id] and [s["cl"] for s in venue.sends] == [r.cl_ord_id]
    e = journal.get(r.cl_ord_id)
    assert e.status is S.ACKNOWLEDGED and e.gate_wait == 3.0 and e.attempts == 1
    assert pause.gate.core.inflight == 0


def test_open_gate_does_not_ask_and_records_no_wait(journal: OrderJournal) -> None:
    asked: list[OrderRequest] = []
    venue = Venue()
    sub = Pause(None).submitter(venue, journal, revalidate=lambda req: asked.append(req) is not None)
    r = sub.submit("XBTUSD", "buy", "limit", "0.5", "30000")
    assert asked == [] and len(venue.sends) == 1
    assert journal.get(r.cl_ord_id).gate_wait == 0.0


def test_default_without_hook_still_sends_after_the_pause(journal: OrderJournal) -> None:
    pause = Pause("manual")
    venue = Venue()
    r = pause.across(pause.submitter(venue, journal), 1.5)["result"]
    assert len(venue.sends) == 1 and journal.get(r.cl_ord_id).gate_wait == 1.5


def test_gate_closing_again_while_deciding_waits_and_asks_again(journal: OrderJournal) -> None:
    pause = Pause("reconnecting:spotPrivateV2")
    calls: list[float] = []

    def revalidate(req: OrderRequest) -> bool:
        calls.append(req.waited)
        if len(calls) == 1:
            pause.gate.close("manual")  # while the bot decides, the bot's operator pauses trading
        return True

    venue = Venue()
    t, out = pause.submit(pause.submitter(venue, journal, revalidate=revalidate))
    pause.resume(2.0)
    assert pause.waiting.wait(2)  # waiting again: the decision was taken while the gate had closed once more
    assert venue.sends == []
    pause.resume(1.0, "manual")
    t.join(5)
    r = out["result"]
    assert calls == [2.0, 3.0] and len(venue.sends) == 1
    assert journal.get(r.cl_ord_id).gate_wait == 3.0


def test_hook_that_raises_leaves_the_order_unsent(journal: OrderJournal) -> None:
    pause = Pause("manual")

    def revalidate(req: OrderRequest) -> bool:
        raise RuntimeError("price feed is down")

    venue = Venue()
    out = pause.across(pause.submitter(venue, journal, revalidate=revalidate), 0.0, cl_ord_id="boom")
    assert isinstance(out["error"], RuntimeError) and venue.sends == []
    e = journal.get("boom")
    assert e.status is S.NOT_PLACED and e.attempts == 0 and "revalidate raised RuntimeError" in (e.error or "")
    assert pause.gate.core.inflight == 0


def test_gate_timeout_is_journaled_as_not_sent_with_its_wait(journal: OrderJournal) -> None:
    gate = ReconnectGate(wait_timeout=0.05)
    gate.close("manual")
    venue = Venue()
    sub = SafeOrderSubmitter(venue, journal, owner="t", gate=gate, revalidate=lambda req: True)
    with pytest.raises(TradingPausedError):
        sub.submit("XBTUSD", "buy", "limit", "0.5", "30000", cl_ord_id="late")
    e = journal.get("late")
    assert e.status is S.NOT_PLACED and e.attempts == 0 and e.sent_at is None
    assert e.gate_wait is not None and e.gate_wait >= 0.04
    assert journal.events("late")[-1].detail["sent"] is False and venue.sends == []


def test_withdrawn_resend_keeps_the_attempt_that_did_leave(journal: OrderJournal) -> None:
    pause = Pause(None)  # open until the first attempt is looked up

    def close_once() -> None:
        if pause.gate.is_open:
            pause.gate.close("reconnecting:spotPrivateV2")  # the socket drops while the first attempt is looked up

    venue = Venue(["lost"], on_lookup=close_once)
    sub = pause.submitter(venue, journal, revalidate=lambda req: False, max_attempts=3)
    t, out = pause.submit(sub, "twice")
    pause.resume(reason="reconnecting:spotPrivateV2")
    t.join(5)
    assert isinstance(out["error"], OrderWithdrawnError)
    assert len(venue.sends) == 1  # the first attempt left (and was lost); the re-send was withdrawn
    assert venue.sends[0]["deadline"] is not None
    e = journal.get("twice")
    first_sent = next(ev.at for ev in journal.events("twice") if ev.status is S.SENT)
    assert e.status is S.NOT_PLACED and e.attempts == 1 and e.sent_at == first_sent
    assert e.deadline == venue.sends[0]["deadline"]  # the deadline of the attempt that left


def test_blocking_submitter_refuses_a_coroutine_hook(journal: OrderJournal) -> None:
    async def revalidate(req: OrderRequest) -> bool:
        return True

    with pytest.raises(TypeError, match="AsyncSafeOrderSubmitter"):
        SafeOrderSubmitter(Venue(), journal, revalidate=revalidate)


@pytest.mark.parametrize("kind", ["coroutine", "plain"])
async def test_async_submitter_asks_a_sync_or_async_hook(journal: OrderJournal, kind: str) -> None:
    gate = ReconnectGate(wait_timeout=10)
    gate.close("backfill:spotPrivateV2")
    both_waiting = asyncio.Event()
    waiters: list[str] = []
    real = gate.core.admit

    async def admit(action: str, timeout: float | None) -> bool:
        waiters.append(action)
        if len(waiters) == 2:
            both_waiting.set()
        return await real(action, timeout)

    gate.core.admit = admit  # type: ignore[method-assign]
    seen: list[str] = []

    async def coro_hook(req: OrderRequest) -> bool:
        await asyncio.sleep(0)
        seen.append(req.symbol)
        return req.symbol == "ETHUSD"

    def plain_hook(req: OrderRequest) -> bool:
        seen.append(req.symbol)
        return req.symbol == "ETHUSD"

    venue = Venue(is_async=True)
    sub = AsyncSafeOrderSubmitter(
        venue, journal, owner="t", gate=gate, revalidate=coro_hook if kind == "coroutine" else plain_hook
    )
    xbt = asyncio.create_task(sub.submit("XBTUSD", "buy", "limit", "0.5", "30000", cl_ord_id="x1"))
    eth = asyncio.create_task(sub.submit("ETHUSD", "buy", "limit", "1", "3000", cl_ord_id="e1"))
    await asyncio.wait_for(both_waiting.wait(), 5)  # both orders wait at the closed gate
    gate.open("backfill:spotPrivateV2")
    results = await asyncio.gather(xbt, eth, return_exceptions=True)
    assert isinstance(results[0], OrderWithdrawnError) and not isinstance(results[1], BaseException)
    assert sorted(seen) == ["ETHUSD", "XBTUSD"]
    assert [s["cl"] for s in venue.sends] == ["e1"]
    assert journal.get("x1").status is S.NOT_PLACED and journal.get("e1").status is S.ACKNOWLEDGED
    assert journal.get("x1").gate_wait is not None and journal.get("x1").gate_wait > 0
    assert gate.core.inflight == 0

"""ReconnectGate state machine and backfill orchestration with a fake WebSocket client (no sockets)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from krakenkit import TradingPausedError
from krakenkit.toolkit import AccountState, GateCore, GateEvent, ReconnectGate


@dataclass(frozen=True)
class Ev:
    ws_key: str
    data: Any = None


class FakeWs:
    def __init__(self) -> None:
        self.handlers: dict[str, list[Callable[[Any], Any]]] = {}

    def on(self, name: str, fn: Callable[[Any], Any]) -> None:
        self.handlers.setdefault(name, []).append(fn)

    def emit(self, name: str, ev: Any) -> None:
        for fn in self.handlers.get(name, []):
            fn(ev)


class FakeBackfill:
    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.runs = 0
        self.started = asyncio.Event()
        self.proceed = asyncio.Event()
        self.proceed.set()

    async def run(self, state: AccountState) -> dict[str, int]:
        self.runs += 1
        self.started.set()
        await self.proceed.wait()
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("REST down")
        n = state.apply_spot_trades({"trades": {"TX1": {"ordertxid": "O1", "vol": "1", "price": "2", "time": 5.0}}})
        return {"fills": n, "open_orders": 0}


def test_core_reasons_and_cancel_only() -> None:
    core = GateCore()
    assert core.is_open("place")
    assert core.close("status:cancel_only")
    assert not core.is_open("place") and not core.is_open("amend") and core.is_open("cancel")
    core.close("reconnecting:spotPrivateV2")
    assert not core.is_open("cancel")
    assert not core.open("status:cancel_only")  # still closed by the reconnect
    assert core.open("reconnecting:spotPrivateV2")
    assert core.is_open()


def test_sync_admission_waits_for_reopen() -> None:
    gate = ReconnectGate(wait_timeout=5.0)
    gate.close("manual")
    admitted = threading.Event()

    def worker() -> None:
        with gate.action_sync("place"):
            admitted.set()

    t = threading.Thread(target=worker)
    t.start()
    assert not admitted.wait(0.05)
    gate.open("manual")
    assert admitted.wait(5)
    t.join(5)
    assert gate.core.inflight == 0 and gate.core.admitted == 1


def test_bounded_wait_then_trading_paused() -> None:
    gate = ReconnectGate(wait_timeout=0.05)
    gate.close("status:maintenance")
    with pytest.raises(TradingPausedError, match=r"status:maintenance"):
        gate.acquire_sync("cancel")


async def test_reconnect_closes_backfills_and_reopens() -> None:
    ws = FakeWs()
    bf = FakeBackfill()
    bf.proceed.clear()
    gate = ReconnectGate(ws, backfill=bf, keys=("spotPrivateV2",))
    events: list[GateEvent] = []
    gate.on("*", events.append)
    ws.emit("reconnecting", Ev("spotPublicV2"))  # not watched
    assert gate.is_open
    ws.emit("reconnecting", Ev("spotPrivateV2"))
    assert not gate.is_open
    with pytest.raises(TradingPausedError):
        await gate.acquire("place", timeout=0.01)
    ws.emit("reconnected", Ev("spotPrivateV2"))
    await asyncio.wait_for(bf.started.wait(), 5)
    assert gate.reasons == frozenset({"backfill:spotPrivateV2"})  # still closed while backfilling
    waiter = asyncio.create_task(gate.acquire("place", timeout=5))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    bf.proceed.set()
    await asyncio.wait_for(waiter, 5)
    gate.release()
    assert gate.is_open
    names = [e.name for e in events]
    assert names == ["gate_closed", "backfill_started", "backfill_done", "gate_opened"]
    done = next(e for e in events if e.name == "backfill_done")
    assert done.counts == {"fills": 1, "open_orders": 0}
    assert "TX1" in gate.state.fills


async def test_backfill_retries_until_it_succeeds() -> None:
    ws = FakeWs()
    bf = FakeBackfill(fail=2)
    gate = ReconnectGate(ws, backfill=bf, keys=("spotPrivateV2",), retry_delays=(0.01,))
    ws.emit("reconnecting", Ev("spotPrivateV2"))
    ws.emit("reconnected", Ev("spotPrivateV2"))
    assert await gate.wait_open(5)
    assert bf.runs == 3
    assert [e.name for e in gate.history].count("backfill_failed") == 2


async def test_backfill_waits_for_inflight_actions() -> None:
    ws = FakeWs()
    bf = FakeBackfill()
    gate = ReconnectGate(ws, backfill=bf, keys=("spotPrivateV2",), drain_timeout=5.0)
    await gate.acquire("place")  # an order in flight
    ws.emit("reconnecting", Ev("spotPrivateV2"))
    ws.emit("reconnected", Ev("spotPrivateV2"))
    await asyncio.sleep(0.05)
    assert bf.runs == 0  # waits for the in-flight action
    gate.release()
    assert await gate.wait_open(5)
    assert bf.runs == 1


async def test_status_channel_and_private_frames() -> None:
    ws = FakeWs()
    gate = ReconnectGate(ws, keys=("spotPrivateV2",))
    ws.emit("message", Ev("spotPublicV2", {"channel": "status", "type": "update", "data": [{"system": "maintenance"}]}))
    assert gate.reasons == frozenset({"status:maintenance"})
    ws.emit("message", Ev("spotPublicV2", {"channel": "status", "data": [{"system": "cancel_only"}]}))
    assert gate.reasons == frozenset({"status:cancel_only"}) and gate.core.is_open("cancel")
    ws.emit("message", Ev("spotPublicV2", {"channel": "status", "data": [{"system": "online"}]}))
    assert gate.is_open
    ws.emit(
        "message",
        Ev(
            "spotPrivateV2",
            {
                "channel": "executions",
                "type": "update",
                "sequence": 3,
                "data": [
                    {
                        "order_id": "O9",
                        "exec_id": "T9",
                        "exec_type": "trade",
                        "last_qty": 1,
                        "last_price": 2,
                        "order_status": "filled",
                        "cum_qty": 1,
                    }
                ],
            },
        ),
    )
    assert "T9" in gate.state.fills and gate.state.orders["O9"].status == "closed"
    ws.emit(
        "message",
        Ev(
            "spotPublicV2",
            {"channel": "executions", "data": [{"order_id": "O8", "exec_id": "T8", "exec_type": "trade"}]},
        ),
    )
    assert "T8" not in gate.state.fills  # only the watched private keys feed the state
    assert [e.name for e in gate.history] == ["gate_closed", "gate_closed", "gate_opened"]


async def test_second_drop_during_backfill_restarts_it() -> None:
    ws = FakeWs()
    bf = FakeBackfill()
    bf.proceed.clear()
    gate = ReconnectGate(ws, backfill=bf, keys=("spotPrivateV2",))
    ws.emit("reconnecting", Ev("spotPrivateV2"))
    ws.emit("reconnected", Ev("spotPrivateV2"))
    await asyncio.wait_for(bf.started.wait(), 5)
    ws.emit("reconnecting", Ev("spotPrivateV2"))
    await asyncio.sleep(0)
    assert gate.reasons == frozenset({"reconnecting:spotPrivateV2"})
    bf.proceed.set()
    await asyncio.sleep(0.02)
    assert not gate.is_open  # the cancelled backfill did not open it
    ws.emit("reconnected", Ev("spotPrivateV2"))
    assert await gate.wait_open(5)
    await gate.aclose()


async def test_drop_during_backfill_never_opens_the_gate_in_between(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backfill reason is swapped for the reconnect reason without the gate being open for a moment
    (a thread blocked in admit_sync would be let through at that moment)."""
    ws = FakeWs()
    bf = FakeBackfill()
    bf.proceed.clear()
    gate = ReconnectGate(ws, backfill=bf, keys=("spotPrivateV2",))
    ws.emit("reconnecting", Ev("spotPrivateV2"))
    ws.emit("reconnected", Ev("spotPrivateV2"))
    await asyncio.wait_for(bf.started.wait(), 5)
    seen: list[frozenset[str]] = []
    notify = gate.core._notify

    def spy() -> None:
        seen.append(frozenset(gate.core._reasons))
        notify()

    monkeypatch.setattr(gate.core, "_notify", spy)
    ws.emit("reconnecting", Ev("spotPrivateV2"))
    assert seen, "the reasons changed"
    assert all(seen), f"the gate was open for a moment: {seen}"
    assert gate.reasons == frozenset({"reconnecting:spotPrivateV2"})
    await gate.aclose()


class FakeFuturesClient:
    """Derivatives REST for FuturesBackfill; ``during_positions`` runs while openpositions is in flight."""

    def __init__(self, during_positions: Callable[[], None] = lambda: None) -> None:
        self.during_positions = during_positions

    async def get_open_orders(self) -> dict[str, Any]:
        return {"openOrders": []}

    async def get_open_positions(self) -> dict[str, Any]:
        snapshot = {"openPositions": [{"symbol": "PF_XBTUSD", "side": "long", "size": "1", "price": "30000"}]}
        self.during_positions()  # the snapshot above was taken; the stream moves on meanwhile
        return snapshot

    async def get_fills(self, **kwargs: Any) -> dict[str, Any]:
        return {"fills": []}


async def test_futures_backfill_does_not_roll_positions_back_over_the_stream() -> None:
    """A fill lands while openpositions is in flight: the stream's open_positions (a full set, newer) says 2;
    the REST answer (older) says 1. The gate must open with 2, or the bot re-buys what it already holds."""
    from decimal import Decimal

    ws = FakeWs()
    key = "derivativesPrivateV1"

    def fill_arrives() -> None:
        ws.emit(
            "message",
            Ev(
                key,
                {
                    "feed": "open_positions",
                    "account": "x",
                    "positions": [{"instrument": "PF_XBTUSD", "balance": 2, "entry_price": 30000}],
                },
            ),
        )

    from krakenkit.toolkit import FuturesBackfill

    gate = ReconnectGate(
        ws,
        backfill=FuturesBackfill(FakeFuturesClient(fill_arrives)),
        keys=(key,),
        state=AccountState(product="futures"),
    )
    ws.emit("reconnecting", Ev(key))
    ws.emit("reconnected", Ev(key))
    assert await gate.wait_open(5)
    assert gate.state.positions["PF_XBTUSD"].size == Decimal(2)
    assert gate.state.stale_snapshots_skipped == 1
    # with no stream update in between, the REST snapshot is the truth
    gate2 = ReconnectGate(
        FakeWs(), backfill=FuturesBackfill(FakeFuturesClient()), keys=(key,), state=AccountState(product="futures")
    )
    await gate2.backfill_now()
    assert gate2.state.positions["PF_XBTUSD"].size == Decimal(1)


async def test_async_admit_cannot_miss_an_open_from_another_thread() -> None:
    """The gate is opened by another thread right after the async waiter's check: the waiter must be
    admitted at once, not sleep until its timeout (a lost wake-up)."""
    core = GateCore()
    core.close("reconnecting:spotPrivateV2")
    original = core._allows
    opened_from_thread = threading.Event()

    def allows_then_open_elsewhere(action: str) -> bool:
        result = original(action)
        if not result and not opened_from_thread.is_set():
            opened_from_thread.set()
            # another thread tries to open while this check still holds the lock: it must wait for it
            threading.Thread(target=core.open, args=("reconnecting:spotPrivateV2",)).start()
        return result

    core._allows = allows_then_open_elsewhere  # type: ignore[method-assign]
    admitted = await asyncio.wait_for(core.admit("place", timeout=30), 5)
    assert admitted and core.inflight == 1

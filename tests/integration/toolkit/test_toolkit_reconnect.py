"""Reconnect gate against the sandbox: executions that happen while the private socket is down reach the
AccountState through the backfill, each exactly once, and no order is sent while the gate is closed."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from toolkit_helpers import GatedSpotAccount, wait_until

from krakenkit.rest import AsyncSpotClient
from krakenkit.sandbox import Sandbox
from krakenkit.toolkit import DeadMansSwitch, GateEvent, ReconnectGate
from krakenkit.ws import WebsocketClient


@pytest.fixture
def sandbox_seed() -> int:
    return 11


async def test_fills_missed_while_down_are_backfilled_once_and_gate_blocks_orders(
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    sb = sandbox
    async with GatedSpotAccount(sb, tmp_path / "gate.sqlite3") as acct:
        ws, state, gate, rest_a, key_a = acct.ws, acct.state, acct.gate, acct.rest_a, acct.key_a
        events: list[GateEvent] = []
        gate.on("*", events.append)
        backfilled = asyncio.Event()
        gate.on("backfill_done", lambda ev: backfilled.set())
        sub = await acct.submitter("gate-bot")
        await ws.subscribe("executions", "spotPrivateV2")
        # five resting sells of A at the best ask; B's buys at that price hit only A's orders
        for _ in range(5):
            await sub.submit("XBTUSD", "sell", "limit", "0.01", "65000.0")
        await wait_until(lambda: len(state.open_orders) == 5)

        acct.take()  # fill 1, while connected: arrives on the stream
        await wait_until(lambda: len(state.fills) == 1)

        down_trades: list[bool] = []

        def on_reconnecting(ev: Any) -> None:
            # runs right after the gate closed, before the client can reconnect: three executions
            # happen on the exchange while A's private socket is down
            if ev.ws_key == "spotPrivateV2" and not down_trades:
                for _ in range(3):
                    acct.take()
                    down_trades.append(gate.is_open)

        ws.on("reconnecting", on_reconnecting)

        # the bot keeps trying to place orders the whole time
        attempts: list[tuple[float, float]] = []
        stop = asyncio.Event()

        async def bot() -> None:
            while not stop.is_set():
                t = time.time()
                await sub.submit("XBTUSD", "buy", "limit", "0.001", "50000")
                attempts.append((t, time.time()))
                await asyncio.sleep(0.005)

        bot_task = asyncio.create_task(bot())
        await wait_until(lambda: len(attempts) >= 3)
        sb.faults.drop_ws_connections("spotPrivateV2")
        await asyncio.wait_for(backfilled.wait(), 15)
        assert await gate.wait_open(10)
        assert down_trades == [False, False, False]

        acct.take()  # fill 5, after the gate reopened: on the stream again
        await wait_until(lambda: len(state.fills) == 5)
        await wait_until(lambda: len(attempts) >= 10)
        stop.set()
        await asyncio.wait_for(bot_task, 10)

        # a second backfill finds nothing new: nothing counts twice
        await gate.backfill_now("check")
        done = [e for e in events if e.name == "backfill_done"]
        assert done[0].counts["fills"] == 3 and done[-1].counts["fills"] == 0

        # every execution on the exchange is in the state exactly once, with the right quantities
        trades = (await rest_a.get_trades_history()).raw["trades"]
        assert set(trades) == set(state.fills) and len(trades) == 5
        sources = sorted(f.source for f in state.fills.values())
        assert sources == ["rest", "rest", "rest", "ws", "ws"]
        for o in sb.orders(key_a):
            if o["descr"]["type"] == "sell":
                got = sum((f.qty for f in state.fills_for(o["txid"])), Decimal(0))
                assert got == Decimal(o["vol_exec"]), o["txid"]
                assert state.orders[o["txid"]].filled == Decimal(o["vol_exec"])
        assert len(state.open_orders) == sum(1 for o in sb.orders(key_a) if o["status"] == "open")

        # no order was sent while the gate was closed
        closed = next(e for e in events if e.name == "gate_closed")
        opened_at = next(e.at for e in events if e.name == "gate_opened")
        assert opened_at > closed.at
        admitted = [t for t, _ in gate.core.admissions]
        assert len(admitted) >= 15
        assert not [t for t in admitted if closed.at <= t < opened_at]
        # ... while the bot did try during the pause (a submit started before and ended after the reopen)
        assert any(closed.at - 1 < start < opened_at < end for start, end in attempts)
        # the exchange saw no more AddOrders in the window than were already in flight when it closed
        adds = acct.sent_by_a("AddOrder")
        assert len([r for r in adds if closed.at <= r["time"] < opened_at]) <= closed.inflight


async def test_system_status_closes_gate_and_cancel_only_still_allows_cancels(sandbox: Sandbox) -> None:
    sb = sandbox
    ws = WebsocketClient(environment=sb.environment)
    gate = ReconnectGate(ws, on_closed="raise")
    try:
        await ws.subscribe("status", "spotPublicV2")
        await wait_until(lambda: gate.system_status == "online", 5) if gate.system_status != "online" else None
        await asyncio.to_thread(sb.faults.set_system_status, "maintenance")
        await wait_until(lambda: not gate.is_open)
        assert gate.reasons == frozenset({"status:maintenance"})
        await asyncio.to_thread(sb.faults.set_system_status, "cancel_only")
        await wait_until(lambda: gate.reasons == frozenset({"status:cancel_only"}))
        async with gate.action("cancel"):
            pass
        from krakenkit import TradingPausedError

        with pytest.raises(TradingPausedError):
            await gate.acquire("place")
        await asyncio.to_thread(sb.faults.set_system_status, "online")
        await wait_until(lambda: gate.is_open)
    finally:
        await ws.close()


async def test_dead_mans_switch_against_sandbox(sandbox: Sandbox) -> None:
    sb = sandbox
    key, sec = sb.create_key(balances={"ZUSD": "100000"})
    async with AsyncSpotClient(key, sec, environment=sb.environment) as client:
        await client.submit_order(pair="XBTUSD", type="buy", ordertype="limit", volume="0.001", price="30000")
        # alive: re-armed on the interval; clean exit disarms, the order stays
        async with DeadMansSwitch(client, timeout=60, interval=0.05) as dms:
            await wait_until(lambda: dms.arms >= 3)
        calls = [r for r in sb.requests if r["path"].endswith("CancelAllOrdersAfter")]
        assert len(calls) >= 4 and dms.armed_until is None
        assert [o["status"] for o in sb.orders(key)] == ["open"]
        # the bot "dies" (stops re-arming without disarming): Kraken cancels everything after the timeout
        dead = DeadMansSwitch(client, timeout=1, interval=0.5)
        await dead.start()
        await dead.stop(disarm=False)
        await wait_until(lambda: [o["status"] for o in sb.orders(key)] == ["canceled"], 10)

"""Pause, backfill, resume: the reconnect gate in action against the local sandbox.

Run:  python examples/reconnect_gate_backfill.py

What happens:
1. A bot keeps its account state (open orders, fills) from the private ``executions`` stream and places
   orders through a SafeOrderSubmitter that passes a ReconnectGate.
2. The sandbox drops the private WebSocket (and refuses the next token so the reconnect takes a moment);
   meanwhile another trader fills two of the bot's orders. The gate closes: order placement waits.
3. The WebSocket client reconnects; the gate backfills open orders and fills over REST, then reopens.
4. Every fill is in the account state exactly once, whether it came from the stream or the backfill,
   and the journal (``journal.attach(state)``) holds each of them once, durably.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from krakenkit.rest import AsyncSpotClient, SpotClient
from krakenkit.sandbox import Sandbox
from krakenkit.toolkit import (
    AccountState,
    AsyncSafeOrderSubmitter,
    GateEvent,
    OrderJournal,
    ReconnectGate,
    SpotBackfill,
)
from krakenkit.ws import WebsocketClient


def say(text: str) -> None:
    print(f"  {text}", flush=True)


async def run(sb: Sandbox, journal_path: Path) -> bool:
    bot_key, bot_secret = sb.create_key(balances={"XXBT": "1", "ZUSD": "100000"})
    other_key, other_secret = sb.create_key(balances={"ZUSD": "1000000"})
    other = SpotClient(other_key, other_secret, environment=sb.environment)

    rest = AsyncSpotClient(bot_key, bot_secret, environment=sb.environment)
    ws = WebsocketClient(bot_key, bot_secret, environment=sb.environment)
    journal = OrderJournal.open(journal_path)

    # the three toolkit pieces
    state = AccountState()
    recorder = journal.attach(state)  # every fill the state accepts is written to the journal once
    gate = ReconnectGate(ws, backfill=SpotBackfill(rest), state=state, keys=("spotPrivateV2",))
    submitter = AsyncSafeOrderSubmitter.spot_rest(rest, journal, gate=gate)

    reopened = asyncio.Event()

    def on_gate(ev: GateEvent) -> None:
        if ev.name == "gate_closed":
            say(f"[gate] CLOSED ({ev.reason}): order actions wait")
        elif ev.name == "backfill_done":
            say(f"[gate] backfill done in {ev.duration * 1000:.0f} ms: {dict(ev.counts)}")
        elif ev.name == "gate_opened":
            say("[gate] OPEN again: trading resumes")
            reopened.set()

    gate.on("*", on_gate)
    state.on_fill(lambda f: say(f"[fill] {f.fill_id} {f.side} {f.qty} @ {f.price} (from {f.source})"))

    try:
        print("1. start: reconcile the journal, subscribe to executions, place three sells")
        await submitter.start()
        await ws.subscribe("executions", "spotPrivateV2")
        for _ in range(3):
            r = await submitter.submit("XBTUSD", "sell", "limit", "0.01", "65000.0")
            say(f"placed {r.order_id} (client id {r.cl_ord_id[:8]}...)")

        def take() -> None:  # another trader buys 0.01 at our price
            other.submit_order(
                pair="XBTUSD", type="buy", ordertype="limit", volume="0.01", price="65000.0", timeinforce="IOC"
            )

        await asyncio.to_thread(take)
        while len(state.fills) < 1:
            await asyncio.sleep(0.01)

        print("2. the private socket drops; two more of our orders fill while we are away")
        sb.faults.fail_next("GetWebSocketsToken", n=2)  # the reconnect needs a few tries
        sb.faults.drop_ws_connections("spotPrivateV2")
        await asyncio.to_thread(take)
        await asyncio.to_thread(take)
        pending = asyncio.create_task(submitter.submit("XBTUSD", "buy", "limit", "0.001", "50000"))
        say(f"an order placed now waits for the gate (gate open: {gate.is_open})")

        print("3. reconnected: backfill over REST, then resume")
        await asyncio.wait_for(reopened.wait(), 15)
        r = await asyncio.wait_for(pending, 15)
        say(f"the waiting order went out after the gate opened: {r.order_id}")

        print("4. check: every execution on the exchange is in the account state exactly once")
        trades = (await rest.get_trades_history()).raw["trades"]
        await recorder.aflush(10)
        journaled = {f.fill_id for f in journal.fills()}
        ok = set(trades) == set(state.fills) == journaled and len(state.fills) == 3
        say(
            f"exchange trades: {len(trades)}, fills in AccountState: {len(state.fills)}, "
            f"in the journal: {len(journaled)} -> {'OK' if ok else 'MISMATCH'}"
        )
        say(f"open orders: {sorted(state.open_orders)}")
        return ok
    finally:
        await gate.aclose()
        await ws.close()
        await rest.aclose()
        other.close()
        journal.close()


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(seed=5, rate_limits=False, market=False, fast_mode=True) as sb:
        ok = asyncio.run(run(sb, Path(tmp) / "journal.sqlite3"))
    print("done" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Chaos: 500 orders through the SafeOrderSubmitter while the sandbox injects accept-then-timeout, late
arrival (the request reaches the engine after the client gave up: before its deadline, and after it), garbled
HTTP 200 answers after placing, 5xx, EService:Unavailable, EGeneral:Internal error, failing lookups, dropped
WebSockets (WS API orders) and a process restart mid-run (submitter discarded, a new one built on the same
journal file). Plus a real subprocess SIGKILL variant. The exchange must end with zero duplicate orders (no
market order filled twice) and every journal entry in a final state that matches the exchange.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from toolkit_helpers import count_outcome

from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.rest import AsyncSpotClient
from krakenkit.sandbox import Sandbox
from krakenkit.toolkit import (
    FINAL_STATUSES,
    AsyncSafeOrderSubmitter,
    JournalStatus,
    OrderJournal,
)
from krakenkit.ws import WebsocketAPIClient

S = JournalStatus
CLIENT_TIMEOUT = 0.2
HOLD = 0.35  # accept_then_timeout holds the answer a little longer than the client waits
ORDER_DEADLINE = 2.5  # seconds: short, so that proving a lost order absent is quick
LATE = 1.0  # a late request reaches the engine after the client gave up, before its deadline
TOO_LATE = 5.5  # ... or after its deadline (about 4 s ahead with the clock allowance): the engine refuses it
SAFETY = {"order_deadline": ORDER_DEADLINE, "deadline_margin": 0.25}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, rate_limits=False, market=False, fast_mode=True) as sb:
        yield sb


def verify(sb: Sandbox, key: str, journal: OrderJournal) -> dict[str, int]:
    """Zero duplicates on the exchange; every journal entry final and matching the exchange."""
    exch = sb.orders(key)
    by_cl = collections.Counter(o.get("cl_ord_id") for o in exch)
    dups = {cl: n for cl, n in by_cl.items() if n > 1}
    assert not dups, f"duplicate orders on the exchange: {dups}"
    assert None not in by_cl, "an order without a client id reached the exchange"
    txid_of = {o["cl_ord_id"]: o["txid"] for o in exch}
    entries = journal.entries()
    assert entries
    not_final = [(e.cl_ord_id, e.status) for e in entries if e.status not in FINAL_STATUSES]
    assert not not_final, f"entries not in a final state: {not_final[:5]}"
    for e in entries:
        if e.status is S.ACKNOWLEDGED:
            assert e.cl_ord_id in txid_of, f"{e.cl_ord_id} acknowledged but not on the exchange"
            assert e.order_id == txid_of[e.cl_ord_id], f"{e.cl_ord_id}: order id mismatch"
        else:
            assert e.cl_ord_id not in txid_of, f"{e.cl_ord_id} is {e.status} but on the exchange"
    journal_ids = {e.cl_ord_id for e in entries}
    stray = set(txid_of) - journal_ids
    assert not stray, f"exchange orders the journal does not know: {stray}"
    return {"duplicates": len(dups), "exchange_orders": len(exch), **journal.counts()}


async def test_chaos_500_orders_with_faults_and_restart(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)  # thousands of expected warnings; keep the run fast
    sb = sandbox
    key, secret = sb.create_key(
        balances={"ZUSD": "100000000", "ZEUR": "100000000", "XXBT": "1000", "XETH": "10000"}, tier="pro"
    )
    path = tmp_path / "chaos.sqlite3"
    rng = random.Random(20240601)
    n_orders, concurrency, restart_at = 500, 16, 250
    faults: collections.Counter[str] = collections.Counter()
    t0 = time.monotonic()

    def build(journal: OrderJournal) -> tuple[AsyncSpotClient, AsyncSafeOrderSubmitter]:
        # max_retries=0: the client does one lookup by cl_ord_id and then raises, so the submitter's own
        # grace / lookup / re-send path is what gets exercised
        client = AsyncSpotClient(
            key, secret, environment=sb.environment, timeout=CLIENT_TIMEOUT, max_retries=0, rate_limiter=NoRateLimit()
        )
        sub = AsyncSafeOrderSubmitter.spot_rest(
            client,
            journal,
            owner="chaos-bot",
            grace=0.15,
            poll_interval=0.03,
            max_attempts=4,
            max_lookup_errors=4,
            **SAFETY,
        )
        return client, sub

    def build_ws(journal: OrderJournal, rest: AsyncSpotClient) -> tuple[WebsocketAPIClient, AsyncSafeOrderSubmitter]:
        api = WebsocketAPIClient(key, secret, environment=sb.environment, request_timeout=CLIENT_TIMEOUT)
        sub = AsyncSafeOrderSubmitter.spot_ws(
            api,
            journal,
            rest=rest,
            owner="chaos-bot-ws",
            grace=0.15,
            poll_interval=0.03,
            max_attempts=4,
            max_lookup_errors=4,
            **SAFETY,
        )
        return api, sub

    last_late = [0.0]

    def inject() -> None:
        r = rng.random()
        if r < 0.05:
            sb.faults.late_arrival("AddOrder", delay=LATE)
            faults["late_arrival"] += 1
            last_late[0] = time.monotonic()
        elif r < 0.07:
            sb.faults.late_arrival("AddOrder", delay=TOO_LATE)
            faults["late_arrival_after_deadline"] += 1
            last_late[0] = time.monotonic()
        elif r < 0.11:
            kind = rng.choice(["html", "truncated", "shape"])
            sb.faults.garble_response("AddOrder", kind=kind)
            faults[f"garbled_200_{kind}"] += 1
        elif r < 0.18:
            sb.faults.accept_then_timeout("AddOrder", delay=HOLD)
            faults["accept_then_timeout"] += 1
        elif r < 0.21:
            sb.faults.fail_next("AddOrder", error="EService:Unavailable")
            faults["EService:Unavailable"] += 1
        elif r < 0.24:
            sb.faults.fail_next("AddOrder", status=rng.choice([500, 502, 503]))
            faults["http_5xx"] += 1
        elif r < 0.26:
            sb.faults.fail_next("AddOrder", error="EGeneral:Internal error")
            faults["EGeneral:Internal error"] += 1
        elif r < 0.28:
            sb.faults.fail_next(rng.choice(["OpenOrders", "ClosedOrders"]), error="EService:Unavailable")
            faults["lookup_unavailable"] += 1

    def is_ws(i: int) -> bool:
        return i % 10 == 5

    def order_args(i: int) -> dict[str, Any]:
        kind = i % 10
        if kind == 0:  # market order: fills at once, closed -> found via ClosedOrders
            return {
                "symbol": "XBTUSD",
                "side": "buy" if i % 20 else "sell",
                "order_type": "market",
                "quantity": "0.0001",
            }
        if is_ws(i):  # over the WebSocket API (WS symbol form)
            return {
                "symbol": "BTC/EUR",
                "side": "buy",
                "order_type": "limit",
                "quantity": "0.0002",
                "price": Decimal("20000") + i,
            }
        pair, price = (
            ("XBTUSD", Decimal("20000") + i),
            ("ETHUSD", Decimal("1000") + i),
            ("XBTEUR", Decimal("20000") + i),
        )[i % 3]
        return {
            "symbol": pair,
            "side": "buy",
            "order_type": "limit",
            "quantity": "0.01" if pair == "ETHUSD" else "0.0002",
            "price": price,
        }

    outcomes: collections.Counter[str] = collections.Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def worker(sub: AsyncSafeOrderSubmitter, ws_sub: AsyncSafeOrderSubmitter) -> None:
        while True:
            i = await queue.get()
            try:
                if is_ws(i):
                    if rng.random() < 0.4:  # the private socket drops while the order is on its way
                        asyncio.get_running_loop().call_soon(sb.faults.drop_ws_connections, "spotPrivateV2")
                        faults["ws_dropped"] += 1
                    submit = ws_sub.submit(**order_args(i))
                else:
                    inject()
                    submit = sub.submit(**order_args(i))
                await count_outcome(outcomes, submit, "unknown_then_reconciled")
            finally:
                queue.task_done()

    # --- first run, up to the "crash" ---------------------------------------------------------------
    journal = OrderJournal.open(path)
    client, sub = build(journal)
    api, ws_sub = build_ws(journal, client)
    await sub.start()
    await ws_sub.start()
    await api.connect()
    for i in range(restart_at):
        queue.put_nowait(i)
    workers = [asyncio.create_task(worker(sub, ws_sub)) for _ in range(concurrency)]
    await queue.join()
    # crash while orders are in flight: hold the next answers long, and kill the tasks mid-request
    for _ in range(concurrency):
        sb.faults.accept_then_timeout("AddOrder", delay=5.0)
    faults["accept_then_timeout(crash)"] += concurrency
    crash_client = AsyncSpotClient(
        key, secret, environment=sb.environment, timeout=10.0, max_retries=0, rate_limiter=NoRateLimit()
    )
    crash_sub = AsyncSafeOrderSubmitter.spot_rest(crash_client, journal, owner="chaos-bot", **SAFETY)
    await crash_sub.start()
    before = len([r for r in sb.requests if r["path"].endswith("AddOrder")])
    crash_ids = [i for i in range(10_001, 10_100) if not is_ws(i)][:concurrency]
    in_flight = [asyncio.create_task(crash_sub.submit(**order_args(i))) for i in crash_ids]

    async def arrived() -> None:
        while len([r for r in sb.requests if r["path"].endswith("AddOrder")]) < before + concurrency:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(arrived(), 10)
    for t in [*in_flight, *workers]:
        t.cancel()
    await asyncio.gather(*in_flight, *workers, return_exceptions=True)
    left_sent = [e for e in journal.entries() if e.status in (S.SENT, S.UNKNOWN)]
    assert len(left_sent) >= concurrency  # the crash really left in-flight entries behind
    for c in (client, crash_client):
        with contextlib.suppress(Exception):
            await c.aclose()
    await api.close()
    sb.faults.clear()
    journal.close()
    del sub, crash_sub, ws_sub

    # --- restart: a new process would do exactly this ------------------------------------------------
    journal = OrderJournal.open(path)
    client, sub = build(journal)
    api, ws_sub = build_ws(journal, client)
    report = await sub.start()
    assert report.checked >= concurrency and report.unresolved == 0
    # the held orders were processed by the exchange; one that had not left yet when its task was killed (still
    # queued for the key's wire turn, or refused for its nonce) is proven absent once its deadline passed
    assert report.acknowledged + report.not_placed == report.checked and report.acknowledged >= concurrency // 2
    await ws_sub.start()
    await api.connect()
    for i in range(restart_at, n_orders):
        queue.put_nowait(i)
    workers = [asyncio.create_task(worker(sub, ws_sub)) for _ in range(concurrency)]
    await queue.join()
    for t in workers:
        t.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    sb.faults.clear()
    # the last late request reaches the engine (and is refused or placed) before the exchange is checked
    await asyncio.sleep(max(0.0, last_late[0] + TOO_LATE + 0.3 - time.monotonic()))
    final = await sub.reconcile()
    final_ws = await ws_sub.reconcile()
    assert final.unresolved == 0 and final_ws.unresolved == 0
    await api.close()
    elapsed = time.monotonic() - t0

    result = verify(sb, key, journal)
    total_submitted = n_orders + concurrency
    assert sum(journal.counts().values()) == total_submitted
    assert result["duplicates"] == 0
    assert sum(faults.values()) >= 100, faults
    assert faults["late_arrival"] >= 10 and faults["late_arrival_after_deadline"] >= 5, faults
    assert result["acknowledged"] >= n_orders * 0.9
    # not placed only with proof: told to the caller (OrderNotPlacedError), or found by the restart's reconcile
    assert outcomes.get("not_placed", 0) + report.not_placed == result.get("not_placed", 0)
    stats = dict(sub.stats)
    ws_stats = dict(ws_sub.stats)
    journal.close()
    with contextlib.suppress(Exception):
        await client.aclose()
    print(
        f"\nCHAOS: orders={total_submitted} faults={dict(faults)} total_faults={sum(faults.values())} "
        f"outcomes={dict(outcomes)} restart: checked={report.checked} acknowledged={report.acknowledged} "
        f"not_placed={report.not_placed} journal={result} rest_stats_after_restart={stats} "
        f"ws_stats_after_restart={ws_stats} elapsed={elapsed:.1f}s"
    )
    assert faults["ws_dropped"] >= 5
    assert ws_stats["acknowledged"] > 0  # (elapsed is reported above; speed is the benchmarks' job, not a test's)


CHILD = textwrap.dedent("""
    import sys
    from krakenkit.rest import SpotClient
    from krakenkit.toolkit import OrderJournal, SafeOrderSubmitter
    from krakenkit._core.environment import Environment
    from krakenkit._core.ratelimit import NoRateLimit
    url, key, secret, path = sys.argv[1:5]
    env = Environment(spot_rest_url=url, futures_rest_url=url, name="sandbox")
    client = SpotClient(key, secret, environment=env, timeout=30.0, max_retries=0, rate_limiter=NoRateLimit())
    sub = SafeOrderSubmitter.spot_rest(client, OrderJournal.open(path), owner="crashing-bot")
    sub.start()
    i = 0
    while True:
        r = sub.submit("XBTUSD", "buy", "limit", "0.0002", str(20000 + i))
        print("ACK", r.cl_ord_id, flush=True)
        i += 1
""")


def test_real_process_sigkill_mid_order_is_reconciled(sandbox: Sandbox, tmp_path: Path) -> None:
    sb = sandbox
    key, secret = sb.create_key(balances={"ZUSD": "10000000"}, tier="pro")
    path = tmp_path / "killed.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, sb.rest_url, key, secret, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        acked = 0
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ACK"):
                acked += 1
            if acked == 20:
                break
        # the exchange takes the next order but the answer never comes back; kill the bot meanwhile
        sb.faults.accept_then_timeout("AddOrder", n=1, delay=30.0)
        adds = len([r for r in sb.requests if r["path"].endswith("AddOrder")])
        deadline = time.monotonic() + 10
        while len([r for r in sb.requests if r["path"].endswith("AddOrder")]) <= adds:
            assert time.monotonic() < deadline, "child never sent the next order"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    sb.faults.clear()
    from krakenkit.rest import SpotClient
    from krakenkit.toolkit import SafeOrderSubmitter

    journal = OrderJournal.open(path)
    pending = journal.unresolved()
    assert len(pending) >= 1 and pending[-1].status is S.SENT
    with SpotClient(key, secret, environment=sb.environment, timeout=2.0) as client:
        sub = SafeOrderSubmitter.spot_rest(client, journal, owner="crashing-bot", grace=0.2, poll_interval=0.05)
        report = sub.start()
        assert report.acknowledged >= 1 and report.unresolved == 0
        sub.submit("XBTUSD", "buy", "limit", "0.0002", "19999")
    result = verify(sb, key, journal)
    assert result["duplicates"] == 0 and result["acknowledged"] >= 22
    journal.close()

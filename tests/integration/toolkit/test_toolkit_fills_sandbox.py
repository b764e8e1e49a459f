"""Fills into the journal against the sandbox, on SQLite and PostgreSQL: one line of wiring
(``journal.attach(state)``), every execution stored once, linked to its order, through a reconnect backfill
and a restart replay; a version-1 PostgreSQL journal migrates; and an order that waited at the gate during a
reconnect is withdrawn by ``revalidate`` and never reaches the wire.

PostgreSQL comes from ``KRAKENKIT_TEST_PG_DSN`` (``eval "$(.ci/postgres.sh)"``); without it conftest.py starts a
throwaway server with ``.ci/postgres.sh`` and stops it afterwards. Only when no server can be started are the
PostgreSQL cases skipped, with a loud warning.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from toolkit_helpers import GatedSpotAccount, wait_until

from journal_v1_schema import V1_SCHEMA_PG
from krakenkit.sandbox import Sandbox
from krakenkit.toolkit import (
    AccountState,
    JournalFill,
    JournalStatus,
    OrderJournal,
    OrderRequest,
    OrderWithdrawnError,
    SpotBackfill,
)

S = JournalStatus


@pytest.fixture
def sandbox_seed() -> int:
    return 23


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "fills.sqlite3")
    return str(request.getfixturevalue("schema_dsn"))


def fill_rows(journal: OrderJournal) -> list[tuple[Any, ...]]:
    """Straight from the database, not through the read API."""
    rows = journal._db.execute("SELECT account, fill_id, cl_ord_id, qty FROM krakenkit_fills").fetchall()  # type: ignore[attr-defined]
    return [tuple(r) for r in rows]


async def test_fills_reach_the_journal_once_through_stream_backfill_and_restart(
    sandbox: Sandbox,
    journal_target: str,
) -> None:
    sb = sandbox
    async with GatedSpotAccount(sb, journal_target) as acct:
        ws, journal, state, gate, rest_a = acct.ws, acct.journal, acct.state, acct.gate, acct.rest_a
        recorder = journal.attach(state)  # the one line
        backfilled = asyncio.Event()
        gate.on("backfill_done", lambda ev: backfilled.set())
        sub = await acct.submitter("fill-bot")

        await ws.subscribe("executions", "spotPrivateV2")
        placed = [await sub.submit("XBTUSD", "sell", "limit", "0.01", "65000.0") for _ in range(3)]
        await wait_until(lambda: len(state.open_orders) == 3)

        acct.take("0.01")  # fills the first sell: on the stream
        acct.take("0.004")  # part of the second: on the stream
        await wait_until(lambda: len(state.fills) == 2)

        def on_reconnecting(ev: Any) -> None:
            if ev.ws_key == "spotPrivateV2" and len(down) == 0:
                down.append(True)
                acct.take("0.006")  # the rest of the second, while A's private socket is down
                acct.take("0.002")  # part of the third

        down: list[bool] = []
        ws.on("reconnecting", on_reconnecting)
        sb.faults.drop_ws_connections("spotPrivateV2")
        await asyncio.wait_for(backfilled.wait(), 15)
        assert await gate.wait_open(10)
        await wait_until(lambda: len(state.fills) == 4)
        assert await recorder.aflush(10)

        trades = (await rest_a.get_trades_history()).raw["trades"]
        assert len(trades) == 4
        rows = fill_rows(journal)
        assert sorted(r[1] for r in rows) == sorted(trades)  # every execution once, nothing else
        by_cl = {p.cl_ord_id: p for p in placed}
        assert {r[2] for r in rows} <= set(by_cl)  # every fill linked to its journal entry
        assert sorted(f.source or "" for f in journal.fills()) == ["rest", "rest", "ws", "ws"]

        exchange = {o["txid"]: o for o in sb.orders(acct.key_a)}
        for p in placed:
            entry = journal.get(p.cl_ord_id)
            fills = journal.fills_of(p.cl_ord_id)
            assert all(isinstance(f.qty, Decimal) and f.price == Decimal("65000.0") for f in fills)
            total = sum((f.qty for f in fills), Decimal(0))
            assert total == Decimal(exchange[p.order_id or ""]["vol_exec"]) == entry.filled_qty
        first, second, third = (journal.get(p.cl_ord_id) for p in placed)
        assert first.exchange_state == "closed" and second.exchange_state == "closed"
        assert third.exchange_state == "open" and third.filled_qty == Decimal("0.002")

        # the backfill asked Kraken for the trades over REST
        assert acct.sent_by_a("TradesHistory")
        # a second backfill finds nothing new; nothing is written twice
        await gate.backfill_now("check")
        assert await recorder.aflush(10)
        assert len(fill_rows(journal)) == 4 and recorder.recorded == 4
        await acct.close_streams()

        # restart: a fresh state replays the whole trade history over REST; the journal keeps each fill once
        journal2 = OrderJournal.open(journal_target)
        try:
            state2 = AccountState()
            recorder2 = journal2.attach(state2)
            counts = await SpotBackfill(rest_a).run(state2)
            assert counts["fills"] == 4
            assert await recorder2.aflush(10)
            assert (recorder2.recorded, recorder2.duplicates) == (0, 4)
            assert len(fill_rows(journal2)) == 4
        finally:
            await asyncio.to_thread(journal2.close)


async def test_order_waiting_at_the_gate_is_withdrawn_and_never_sent(sandbox: Sandbox, tmp_path: Path) -> None:
    """The bot decided to sell before its private socket dropped; during the pause a fill arrived (seen in
    the backfill). Its revalidate hook declines orders decided on an older view: nothing goes out."""
    sb = sandbox
    async with GatedSpotAccount(sb, tmp_path / "withdrawn.sqlite3") as acct:
        ws, journal, state, gate = acct.ws, acct.journal, acct.state, acct.gate
        recorder = journal.attach(state)
        decided_on: dict[str, int] = {}

        def revalidate(req: OrderRequest) -> bool:
            return len(state.fills) == decided_on[req.cl_ord_id or ""]  # still the account it was decided on?

        sub = await acct.submitter("reval-bot", revalidate=revalidate)
        await ws.subscribe("executions", "spotPrivateV2")
        await sub.submit("XBTUSD", "sell", "limit", "0.01", "65000.0")
        pending: list[asyncio.Task[Any]] = []

        def on_reconnecting(ev: Any) -> None:
            if ev.ws_key != "spotPrivateV2" or pending:
                return
            assert not gate.is_open
            decided_on["stale-1"] = len(state.fills)
            pending.append(
                asyncio.ensure_future(sub.submit("XBTUSD", "sell", "limit", "0.01", "65100.0", cl_ord_id="stale-1"))
            )
            acct.take("0.01")  # fills the resting sell while the socket is down

        ws.on("reconnecting", on_reconnecting)
        sb.faults.drop_ws_connections("spotPrivateV2")
        await wait_until(lambda: bool(pending))
        with pytest.raises(OrderWithdrawnError) as info:
            await asyncio.wait_for(pending[0], 20)
        assert info.value.cl_ord_id == "stale-1" and info.value.waited > 0
        assert len(state.fills) == 1  # the backfill brought the fill before the gate reopened

        # on the wire: one AddOrder (the first sell), none for the withdrawn one
        adds = acct.sent_by_a("AddOrder")
        assert len(adds) == 1 and all(r["params"].get("cl_ord_id") != "stale-1" for r in adds)
        e = journal.get("stale-1")
        assert e.status is S.NOT_PLACED and e.attempts == 0 and e.sent_at is None
        assert e.gate_wait is not None and e.gate_wait > 0
        assert journal.events("stale-1")[-1].detail["sent"] is False
        assert await recorder.aflush(10) and len(journal.fills()) == 1

        # a fresh decision on the current view goes out
        decided_on["fresh-1"] = len(state.fills)
        r = await sub.submit("XBTUSD", "sell", "limit", "0.01", "65100.0", cl_ord_id="fresh-1")
        assert r.status is S.ACKNOWLEDGED and journal.get("fresh-1").gate_wait == 0.0
        assert [a["params"].get("cl_ord_id") for a in acct.sent_by_a("AddOrder")][-1] == "fresh-1"


def test_pg_version_1_journal_is_migrated_and_keeps_fills_unique(schema_dsn: str) -> None:
    import psycopg

    with psycopg.connect(schema_dsn, autocommit=True) as conn:
        for stmt in filter(None, (s.strip() for s in V1_SCHEMA_PG.split(";"))):
            conn.execute(stmt)
        conn.execute(
            "INSERT INTO krakenkit_orders (cl_ord_id, account, product, via, symbol, side, order_type, "
            "quantity, price, params, status, order_id, exchange_state, filled_qty, attempts, created_at, "
            "updated_at) VALUES ('old-1', '', 'spot', 'rest', 'XBTUSD', 'buy', 'limit', '0.02', '30000', "
            "'{}', 'acknowledged', 'O-OLD', 'open', '0.01', 1, 1.0, 2.0)"
        )
        conn.execute(
            "INSERT INTO krakenkit_fills (account, fill_id, product, order_id, cl_ord_id, qty, price, raw, "
            "recorded_at) VALUES ('', 'T-OLD', 'spot', 'O-OLD', 'old-1', '0.01', '30000', '{}', 2.0)"
        )

    j = OrderJournal.open(schema_dsn)
    try:
        with psycopg.connect(schema_dsn, autocommit=True) as conn:
            cols = {
                (r[0], r[1])
                for r in conn.execute(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema()"
                ).fetchall()
            }
            assert ("krakenkit_orders", "gate_wait") in cols and ("krakenkit_fills", "source") in cols
            assert ("krakenkit_orders", "deadline") in cols
            version = conn.execute("SELECT value FROM krakenkit_meta WHERE key = 'schema_version'").fetchone()
            assert version is not None and version[0] == "3"
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute(
                    "INSERT INTO krakenkit_fills (account, fill_id, product, qty, price, raw, recorded_at) "
                    "VALUES ('', 'T-OLD', 'spot', '1', '1', '{}', 0)"
                )
        old = j.get("old-1")
        assert old.gate_wait is None and old.filled_qty == Decimal("0.01")
        assert not j.record_fill(JournalFill(fill_id="T-OLD", order_id="O-OLD", qty=Decimal("0.01"), price=Decimal(1)))
        assert j.record_fill(
            JournalFill(fill_id="T-NEW", order_id="O-OLD", qty=Decimal("0.01"), price=Decimal("30000"), source="ws")
        )
        e = j.get("old-1")
        assert e.filled_qty == Decimal("0.02") and e.exchange_state == "closed"
        assert [(f.fill_id, f.cl_ord_id, f.source) for f in j.fills_of("old-1")] == [
            ("T-OLD", "old-1", None),
            ("T-NEW", "old-1", "ws"),
        ]
    finally:
        j.close()
    with OrderJournal.open(schema_dsn) as again:  # a second open migrates nothing and loses nothing
        assert len(again.fills()) == 2 and again.get("old-1").status is S.ACKNOWLEDGED

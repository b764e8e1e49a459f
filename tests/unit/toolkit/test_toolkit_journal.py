"""OrderJournal on SQLite: states, durability across reopen, claims, fills once, async wrapper."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from krakenkit.toolkit import JournalError, JournalFill, JournalStatus, OrderJournal

S = JournalStatus


def _intent(j: OrderJournal, cl: str, **kw: object) -> None:
    args: dict[str, object] = {
        "cl_ord_id": cl,
        "symbol": "XBTUSD",
        "side": "buy",
        "order_type": "limit",
        "quantity": Decimal("0.01"),
        "price": Decimal("30000.1"),
        "params": {"oflags": "post"},
    }
    args.update(kw)
    j.record_intent(**args)  # type: ignore[arg-type]


@pytest.fixture
def journal(tmp_path: Path) -> OrderJournal:
    j = OrderJournal.open(tmp_path / "orders.sqlite3")
    yield j  # type: ignore[misc]
    j.close()


def test_sqlite_pragmas_are_wal_and_full(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = OrderJournal.open(path)
    assert j.backend == "sqlite"
    conn = j._db._conn  # type: ignore[attr-defined]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    j.close()
    j2 = OrderJournal.open(path, synchronous="NORMAL")
    assert j2._db._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # type: ignore[attr-defined]
    j2.close()


def test_lifecycle_and_events(journal: OrderJournal) -> None:
    _intent(journal, "a1")
    e = journal.get("a1")
    assert e.status is S.INTENT and e.quantity == Decimal("0.01") and e.price == Decimal("30000.1")
    assert e.params == {"oflags": "post"}
    journal.mark_sent("a1")
    journal.mark_unknown("a1", "APITimeoutError")
    journal.mark_sent("a1")  # re-send with the same id
    e = journal.mark_acknowledged("a1", "OABC-1", exchange_state="open")
    assert e.status is S.ACKNOWLEDGED and e.order_id == "OABC-1" and e.attempts == 2 and e.is_final
    assert [ev.status for ev in journal.events("a1")] == [S.INTENT, S.SENT, S.UNKNOWN, S.SENT, S.ACKNOWLEDGED]
    assert journal.find_by_order_id("OABC-1") == e
    assert journal.counts() == {"acknowledged": 1}


def test_duplicate_client_id_and_illegal_transitions(journal: OrderJournal) -> None:
    _intent(journal, "dup")
    with pytest.raises(JournalError, match="already in the journal"):
        _intent(journal, "dup")
    journal.mark_sent("dup")
    journal.mark_rejected("dup", "EOrder:Insufficient funds")
    with pytest.raises(JournalError, match="illegal change rejected -> sent"):
        journal.mark_sent("dup")
    with pytest.raises(JournalError, match="no journal entry"):
        journal.mark_sent("nope")


def test_evidence_overrides_a_wrong_verdict(journal: OrderJournal, caplog: pytest.LogCaptureFixture) -> None:
    _intent(journal, "late")
    journal.mark_sent("late")
    journal.mark_not_placed("late", "not found")
    e = journal.update_exchange_state("late", "open", order_id="OLATE")
    assert e is not None and e.status is S.ACKNOWLEDGED and e.order_id == "OLATE"
    assert "was not_placed but Kraken has the order" in caplog.text


def test_survives_reopen_and_unresolved_listing(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    j = OrderJournal.open(path)
    _intent(j, "i1")
    _intent(j, "s1")
    j.mark_sent("s1")
    _intent(j, "done")
    j.mark_sent("done")
    j.mark_acknowledged("done", "O1")
    j.close()
    j2 = OrderJournal.open(path)
    assert {e.cl_ord_id: e.status for e in j2.unresolved()} == {"i1": S.INTENT, "s1": S.SENT}
    j2.close()


def test_process_killed_mid_run_keeps_committed_entries(tmp_path: Path) -> None:
    """A child writes intents and is SIGKILLed (no close, no atexit): every committed entry is there."""
    path = tmp_path / "killed.sqlite3"
    code = textwrap.dedent(f"""
        import os, signal
        from krakenkit.toolkit import OrderJournal
        j = OrderJournal.open({str(path)!r})
        for i in range(50):
            j.record_intent(cl_ord_id=f"k{{i}}", symbol="XBTUSD", side="buy", order_type="market", quantity="1")
            j.mark_sent(f"k{{i}}")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    j = OrderJournal.open(path)
    assert len(j.entries(status="sent")) == 50
    j.close()
    # the file is a valid database for other tools too
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_claims_exclude_other_owners_until_the_lease_runs_out(tmp_path: Path) -> None:
    now = [1000.0]
    j = OrderJournal(OrderJournal.open(tmp_path / "c.sqlite3")._db, clock=lambda: now[0])
    _intent(j, "x", owner="bot-a", lease=30.0)
    j.mark_sent("x", owner="bot-a", lease=30.0)
    _intent(j, "y")  # unowned
    assert [e.cl_ord_id for e in j.claim_unresolved(owner="bot-b", lease=30.0)] == ["y"]
    # bot-b holds y now; bot-c gets nothing
    assert j.claim_unresolved(owner="bot-c") == []
    # the same owner (a restarted bot-a) takes its entries back at once
    assert [e.cl_ord_id for e in j.claim_unresolved(owner="bot-a")] == ["x"]
    now[0] += 61.0
    got = {e.cl_ord_id for e in j.claim_unresolved(owner="bot-c")}
    assert got == {"x", "y"}
    assert j.get("x").owner == "bot-c"
    # final entries are never claimed
    j.mark_acknowledged("x", "OX")
    j.mark_abandoned("y")
    now[0] += 100.0
    assert j.claim_unresolved(owner="bot-d") == []


def test_claim_filters_by_account_and_product(journal: OrderJournal) -> None:
    _intent(journal, "s", account="main", product="spot")
    _intent(journal, "f", account="main", product="futures")
    _intent(journal, "o", account="other", product="spot")
    got = journal.claim_unresolved(owner="me", account="main", product="spot")
    assert [e.cl_ord_id for e in got] == ["s"]


def test_fills_are_stored_once_and_sum_into_the_entry(journal: OrderJournal) -> None:
    _intent(journal, "f1")
    journal.mark_sent("f1")
    journal.mark_acknowledged("f1", "OF1")
    assert journal.record_fill(JournalFill(fill_id="T1", order_id="OF1", qty=Decimal("0.004"), price=Decimal("1")))
    assert not journal.record_fill(JournalFill(fill_id="T1", order_id="OF1", qty=Decimal("0.004"), price=Decimal("1")))
    assert journal.record_fill(JournalFill(fill_id="T2", cl_ord_id="f1", qty=Decimal("0.006"), price=Decimal("1")))
    assert journal.get("f1").filled_qty == Decimal("0.010")
    assert [f.fill_id for f in journal.fills(cl_ord_id="f1")] == ["T1", "T2"]
    # same fill id under another account is another fill
    assert journal.record_fill(JournalFill(fill_id="T1", account="other", qty=Decimal(1), price=Decimal(1)))


async def test_async_wrapper_runs_in_threads(journal: OrderJournal) -> None:
    aj = journal.aio
    await asyncio.gather(
        *(
            aj.record_intent(cl_ord_id=f"a{i}", symbol="XBTUSD", side="sell", order_type="market", quantity="1")
            for i in range(20)
        )
    )
    await asyncio.gather(*(aj.mark_sent(f"a{i}") for i in range(20)))
    assert len(await aj.entries(status=S.SENT)) == 20
    e = await aj.mark_acknowledged("a0", "O0")
    assert e.status is S.ACKNOWLEDGED


def test_open_accepts_sqlite_url(tmp_path: Path) -> None:
    j = OrderJournal.open(f"sqlite:///{tmp_path / 'u.sqlite3'}")
    assert j.backend == "sqlite"
    j.close()
    assert (tmp_path / "u.sqlite3").exists()


def test_sent_records_the_deadline_and_a_not_sent_attempt_restores_the_previous_one(journal: OrderJournal) -> None:
    _intent(journal, "d1")
    e = journal.mark_sent("d1", deadline="2026-12-04T18:21:45.000Z")
    assert e.deadline == "2026-12-04T18:21:45.000Z" and e.deadline_ts == 1796408505.0
    assert e.sent_at == journal.events("d1")[-1].at  # sent_at is the time of the 'sent' event
    journal.mark_unknown("d1", "APITimeoutError")
    assert journal.get("d1").deadline == "2026-12-04T18:21:45.000Z"
    journal.mark_unknown("d1", "re-sent by the client", deadline="2026-12-04T18:21:55.000Z")
    assert journal.get("d1").deadline == "2026-12-04T18:21:55.000Z"
    journal.mark_sent("d1", deadline="2026-12-04T18:22:05.000Z")
    sent = [ev.detail.get("deadline") for ev in journal.events("d1") if ev.status is S.SENT]
    assert sent == ["2026-12-04T18:21:45.000Z", "2026-12-04T18:22:05.000Z"]
    # the second request never left (refused locally): the entry keeps what the first one carried
    e = journal.mark_not_sent("d1", "ValidationError: volume")
    assert e.status is S.NOT_PLACED and e.attempts == 1 and e.deadline == "2026-12-04T18:21:45.000Z"
    _intent(journal, "d2")
    assert journal.mark_sent("d2").deadline is None and journal.get("d2").deadline_ts is None


def test_version_2_database_gets_the_deadline_column(tmp_path: Path) -> None:
    from journal_v1_schema import V1_SCHEMA_SQLITE

    path = tmp_path / "v2.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA_SQLITE)
    conn.execute("ALTER TABLE krakenkit_orders ADD COLUMN gate_wait REAL")
    conn.execute("ALTER TABLE krakenkit_fills ADD COLUMN source TEXT")
    conn.execute("INSERT OR REPLACE INTO krakenkit_meta (key, value) VALUES ('schema_version', '2')")
    conn.execute(
        "INSERT INTO krakenkit_orders (cl_ord_id, account, product, via, symbol, side, order_type, quantity, "
        "params, status, attempts, created_at, updated_at, sent_at, gate_wait) VALUES ('old-sent', '', 'spot', "
        "'rest', 'XBTUSD', 'buy', 'market', '1', '{}', 'sent', 1, 1.0, 1.0, 1.0, 0.5)"
    )
    conn.commit()
    conn.close()
    with OrderJournal.open(path) as j:
        old = j.get("old-sent")
        assert old.status is S.SENT and old.deadline is None and old.gate_wait == 0.5
        conn2 = j._db._conn  # type: ignore[attr-defined]
        assert conn2.execute("SELECT value FROM krakenkit_meta WHERE key='schema_version'").fetchone()[0] == "3"
        j.mark_unknown("old-sent", "reconcile")
        assert j.mark_sent("old-sent", deadline="2026-12-04T18:21:45Z").deadline == "2026-12-04T18:21:45Z"

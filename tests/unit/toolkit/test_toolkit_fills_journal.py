"""Fills from AccountState into the OrderJournal: once per fill id (also across restarts), linked to their
entry, Decimal read API, evidence rules, the background writer, and migrating a version-1 database."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from journal_v1_schema import V1_SCHEMA_SQLITE
from krakenkit.toolkit import AccountState, FillRecorder, JournalFill, JournalStatus, OrderJournal

S = JournalStatus


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[OrderJournal]:
    j = OrderJournal.open(tmp_path / "fills.sqlite3")
    yield j
    j.close()


def acked(j: OrderJournal, cl: str, order_id: str | None, qty: str = "0.03", **kw: Any) -> None:
    j.record_intent(cl_ord_id=cl, symbol="XBTUSD", side="sell", order_type="limit", quantity=qty, price="65000.1", **kw)
    j.mark_sent(cl)
    if order_id is not None:
        j.mark_acknowledged(cl, order_id, exchange_state="open")


def ws_exec(
    seq: int,
    order_id: str,
    exec_id: str,
    qty: str,
    cum: str,
    *,
    cl: str | None = "c1",
    status: str = "partially_filled",
) -> dict[str, Any]:
    rep: dict[str, Any] = {
        "order_id": order_id,
        "exec_type": "trade",
        "exec_id": exec_id,
        "symbol": "BTC/USD",
        "side": "sell",
        "last_qty": Decimal(qty),
        "last_price": Decimal("65000.1"),
        "cum_qty": Decimal(cum),
        "order_qty": Decimal("0.03"),
        "order_status": status,
        "timestamp": "2024-05-01T10:00:00.000000Z",
        "fees": [{"asset": "USD", "qty": Decimal("0.26")}],
    }
    if cl is not None:
        rep["cl_ord_id"] = cl
    return {"channel": "executions", "type": "update", "sequence": seq, "data": [rep]}


def rest_trades(order_id: str, *trades: tuple[str, str]) -> dict[str, Any]:
    return {
        "trades": {
            tid: {
                "ordertxid": order_id,
                "pair": "XXBTZUSD",
                "type": "sell",
                "ordertype": "limit",
                "price": "65000.1",
                "vol": qty,
                "fee": "0.26",
                "time": 1714557600.5,
            }
            for tid, qty in trades
        }
    }


def test_attach_records_stream_and_backfill_fills_once_linked_with_decimals(journal: OrderJournal) -> None:
    acked(journal, "c1", "O-1")
    state = AccountState()
    rec = journal.attach(state)
    assert isinstance(rec, FillRecorder)
    state.apply_ws(ws_exec(1, "O-1", "T-1", "0.01", "0.01"))
    state.apply_ws(ws_exec(2, "O-1", "T-2", "0.005", "0.015"))
    # the REST backfill brings the same two (no cl_ord_id there) and a third the stream missed
    state.apply_spot_trades(rest_trades("O-1", ("T-1", "0.01"), ("T-2", "0.005"), ("T-3", "0.015")))
    assert rec.flush(5)
    fills = journal.fills_of("c1")
    assert [f.fill_id for f in fills] == ["T-1", "T-2", "T-3"]
    assert [f.qty for f in fills] == [Decimal("0.01"), Decimal("0.005"), Decimal("0.015")]
    assert all(isinstance(f.price, Decimal) and f.price == Decimal("65000.1") for f in fills)
    assert [f.source for f in fills] == ["ws", "ws", "rest"]
    assert {f.cl_ord_id for f in fills} == {"c1"}  # T-3 came without a client id: linked by order id
    assert fills[0].fee == Decimal("0.26") and fills[0].fee_asset == "USD"
    e = journal.get("c1")
    assert e.filled_qty == Decimal("0.030") and e.exchange_state == "closed" and e.status is S.ACKNOWLEDGED
    assert rec.recorded == 3 and rec.duplicates == 0
    # straight from the database: one row per fill, the unique key holds
    conn = journal._db._conn  # type: ignore[attr-defined]
    assert conn.execute("SELECT COUNT(*) FROM krakenkit_fills").fetchone()[0] == 3


def test_replay_after_restart_is_not_recorded_twice(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite3"
    j = OrderJournal.open(path)
    acked(j, "c1", "O-1")
    state = AccountState()
    j.attach(state)
    state.apply_ws(ws_exec(1, "O-1", "T-1", "0.01", "0.01"))
    j.close()  # flushes the recorder
    # the restarted bot: a fresh AccountState backfills the account's whole trade history
    j2 = OrderJournal.open(path)
    state2 = AccountState()
    rec2 = j2.attach(state2)
    state2.apply_spot_trades(rest_trades("O-1", ("T-1", "0.01"), ("T-4", "0.02")))
    assert rec2.flush(5)
    assert (rec2.recorded, rec2.duplicates) == (1, 1)
    assert [f.fill_id for f in j2.fills(order_id="O-1")] == ["T-1", "T-4"]
    assert j2.get("c1").filled_qty == Decimal("0.03")
    j2.close()


def test_schema_unique_key_rejects_a_second_row_for_the_same_fill(journal: OrderJournal) -> None:
    assert journal.record_fill(JournalFill(fill_id="T-9", qty=Decimal(1), price=Decimal(2)))
    assert not journal.record_fill(JournalFill(fill_id="T-9", qty=Decimal(1), price=Decimal(2)))
    conn = journal._db._conn  # type: ignore[attr-defined]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO krakenkit_fills (account, fill_id, product, qty, price, raw, recorded_at) "
            "VALUES ('', 'T-9', 'spot', '1', '2', '{}', 0)"
        )
    # another account is another key
    assert journal.record_fill(JournalFill(fill_id="T-9", account="sub", qty=Decimal(1), price=Decimal(2)))


def test_fill_before_the_ack_is_linked_when_the_order_id_arrives(journal: OrderJournal) -> None:
    acked(journal, "c2", None)  # sent, no ack yet
    assert journal.record_fill(JournalFill(fill_id="T-5", order_id="O-2", qty=Decimal("0.01"), price=Decimal(1)))
    assert journal.fills(order_id="O-2")[0].cl_ord_id is None  # nothing to link it to yet
    e = journal.mark_acknowledged("c2", "O-2", exchange_state="open")
    assert journal.fills(order_id="O-2")[0].cl_ord_id == "c2"
    assert e.filled_qty == Decimal("0.01") and e.exchange_state == "open"


def test_a_slow_ack_does_not_undo_what_fills_showed(journal: OrderJournal) -> None:
    acked(journal, "c3", None, qty="0.02", owner="bot")  # a submitter is sending it right now
    journal.record_fill(
        JournalFill(fill_id="T-6", cl_ord_id="c3", order_id="O-3", qty=Decimal("0.02"), price=Decimal(1))
    )
    e = journal.get("c3")
    assert e.status is S.SENT and e.exchange_state == "closed" and e.order_id == "O-3"  # the submitter holds it
    e = journal.mark_acknowledged("c3", "O-3", exchange_state="open", filled_qty=Decimal(0))
    assert e.status is S.ACKNOWLEDGED and e.exchange_state == "closed" and e.filled_qty == Decimal("0.02")


def test_fill_is_evidence_against_a_wrong_verdict_and_for_an_unheld_entry(
    journal: OrderJournal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    acked(journal, "np", None)
    journal.mark_not_placed("np", "not found by client id")
    journal.record_fill(JournalFill(fill_id="T-7", cl_ord_id="np", qty=Decimal("0.01"), price=Decimal(1)))
    assert journal.get("np").status is S.ACKNOWLEDGED
    assert "was not_placed but Kraken has the order" in caplog.text
    # a crashed bot's entry (its claim ran out) is resolved by the fill; a live claim is left to its owner
    journal.record_intent(
        cl_ord_id="old", symbol="XBTUSD", side="buy", order_type="limit", quantity="1", owner="crashed", lease=-1.0
    )
    journal.mark_sent("old")
    journal.record_fill(JournalFill(fill_id="T-8", cl_ord_id="old", qty=Decimal("0.5"), price=Decimal(1)))
    assert journal.get("old").status is S.ACKNOWLEDGED
    journal.record_intent(
        cl_ord_id="live", symbol="XBTUSD", side="buy", order_type="limit", quantity="1", owner="me", lease=60.0
    )
    journal.mark_sent("live", owner="me", lease=60.0)
    journal.record_fill(JournalFill(fill_id="T-10", cl_ord_id="live", qty=Decimal("0.5"), price=Decimal(1)))
    e = journal.get("live")
    assert e.status is S.SENT and e.filled_qty == Decimal("0.5")


def test_fills_of_another_account_do_not_touch_the_entry(journal: OrderJournal) -> None:
    acked(journal, "c4", "O-4", account="main")
    journal.record_fill(
        JournalFill(fill_id="T-11", account="other", cl_ord_id="c4", order_id="O-4", qty=Decimal(1), price=Decimal(1))
    )
    assert journal.get("c4").filled_qty == 0 and journal.fills_of("c4") == []
    journal.record_fill(
        JournalFill(fill_id="T-12", account="main", order_id="O-4", qty=Decimal("0.01"), price=Decimal(1))
    )
    assert [f.fill_id for f in journal.fills_of("c4")] == ["T-12"]


def test_order_updates_follow_the_exchange_state(journal: OrderJournal) -> None:
    acked(journal, "c5", "O-5")
    state = AccountState()
    rec = journal.attach(state)
    state.apply_ws(
        {
            "channel": "executions",
            "type": "update",
            "sequence": 1,
            "data": [
                {
                    "order_id": "O-5",
                    "cl_ord_id": "c5",
                    "exec_type": "canceled",
                    "order_status": "canceled",
                    "cum_qty": Decimal("0.01"),
                    "order_qty": Decimal("0.03"),
                    "timestamp": "2024-05-01T10:00:00Z",
                }
            ],
        }
    )
    state.apply_ws(
        {
            "channel": "executions",
            "type": "update",
            "sequence": 2,
            "data": [
                {
                    "order_id": "O-UNKNOWN",
                    "exec_type": "new",
                    "order_status": "new",
                    "timestamp": "2024-05-01T10:00:00Z",
                }
            ],
        }
    )
    assert rec.flush(5)
    e = journal.get("c5")
    assert e.exchange_state == "canceled" and e.filled_qty == Decimal("0.01")
    assert rec.order_updates == 1  # the order the journal does not know is not written
    assert any(ev.detail.get("exchange_state") == "canceled" for ev in journal.events("c5"))


def test_fills_already_in_the_state_are_recorded_on_attach(journal: OrderJournal) -> None:
    acked(journal, "c1", "O-1")
    state = AccountState()
    state.apply_ws(ws_exec(1, "O-1", "T-1", "0.01", "0.01"))
    rec = journal.attach(state, orders=False)
    assert rec.flush(5) and [f.fill_id for f in journal.fills_of("c1")] == ["T-1"]


def test_failed_writes_are_retried_in_order_until_they_succeed(
    journal: OrderJournal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acked(journal, "c1", "O-1")
    real = journal.record_fill
    failures = {"left": 3}
    errors: list[BaseException] = []

    def flaky(fill: JournalFill) -> bool:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return real(fill)

    monkeypatch.setattr(journal, "record_fill", flaky)
    state = AccountState()
    rec = journal.attach(state, orders=False, retry_delays=(0.001,), on_error=errors.append)
    state.apply_ws(ws_exec(1, "O-1", "T-1", "0.01", "0.01"))
    state.apply_ws(ws_exec(2, "O-1", "T-2", "0.01", "0.02"))
    assert rec.flush(5) and rec.pending == 0
    assert rec.errors == 3 and len(errors) == 3 and isinstance(rec.last_error, sqlite3.OperationalError)
    assert [f.fill_id for f in journal.fills_of("c1")] == ["T-1", "T-2"]


def test_close_detaches_and_a_journal_close_flushes(tmp_path: Path) -> None:
    path = tmp_path / "close.sqlite3"
    j = OrderJournal.open(path)
    acked(j, "c1", "O-1")
    state = AccountState()
    gate = threading.Event()
    real = j.record_fill

    def slow(fill: JournalFill) -> bool:
        gate.wait(5)  # hold the writer until close() is under way
        return real(fill)

    j.record_fill = slow  # type: ignore[method-assign]
    rec = j.attach(state, orders=False)
    state.apply_ws(ws_exec(1, "O-1", "T-1", "0.01", "0.01"))
    assert rec.pending == 1
    closer = threading.Thread(target=j.close)
    closer.start()
    gate.set()
    closer.join(10)
    assert not closer.is_alive() and rec.pending == 0
    state.apply_ws(ws_exec(2, "O-1", "T-2", "0.01", "0.02"))  # after close: not listening any more
    assert rec.pending == 0
    with OrderJournal.open(path) as again:
        assert [f.fill_id for f in again.fills()] == ["T-1"]


async def test_async_flush_and_aio_reads(journal: OrderJournal) -> None:
    acked(journal, "c1", "O-1")
    state = AccountState()
    rec = journal.aio.attach(state)
    state.apply_ws(ws_exec(1, "O-1", "T-1", "0.01", "0.01"))
    assert await rec.aflush(5)
    fills = await journal.aio.fills_of("c1")
    assert [(f.fill_id, f.qty) for f in fills] == [("T-1", Decimal("0.01"))]


def test_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA_SQLITE)
    conn.execute(
        "INSERT INTO krakenkit_orders (cl_ord_id, account, product, via, symbol, side, order_type, "
        "quantity, price, params, status, order_id, exchange_state, filled_qty, attempts, created_at, "
        "updated_at, sent_at, resolved_at) VALUES ('old-1', '', 'spot', 'rest', 'XBTUSD', 'buy', 'limit', "
        "'0.02', '30000', '{}', 'acknowledged', 'O-OLD', 'open', '0.01', 1, 1.0, 2.0, 1.5, 2.0)"
    )
    conn.execute(
        "INSERT INTO krakenkit_fills (account, fill_id, product, order_id, cl_ord_id, qty, price, raw, "
        "recorded_at) VALUES ('', 'T-OLD', 'spot', 'O-OLD', 'old-1', '0.01', '30000', '{}', 2.0)"
    )
    conn.commit()
    conn.close()

    j = OrderJournal.open(path)
    conn2 = j._db._conn  # type: ignore[attr-defined]
    cols = {
        t: {r[1] for r in conn2.execute(f"PRAGMA table_info({t})")} for t in ("krakenkit_orders", "krakenkit_fills")
    }
    assert {"gate_wait", "deadline"} <= cols["krakenkit_orders"] and "source" in cols["krakenkit_fills"]
    assert conn2.execute("SELECT value FROM krakenkit_meta WHERE key='schema_version'").fetchone()[0] == "3"
    indexes = {r[1] for r in conn2.execute("PRAGMA index_list(krakenkit_fills)")}
    assert {"krakenkit_fills_order_id", "krakenkit_fills_cl"} <= indexes
    old = j.get("old-1")
    assert old.gate_wait is None and old.deadline is None
    assert old.filled_qty == Decimal("0.01") and old.order_id == "O-OLD"
    (f,) = j.fills_of("old-1")
    assert f.fill_id == "T-OLD" and f.source is None and f.qty == Decimal("0.01")
    # the old fill is still keyed: a replay is dropped; a new one lands and completes the order
    assert not j.record_fill(JournalFill(fill_id="T-OLD", order_id="O-OLD", qty=Decimal("0.01"), price=Decimal(1)))
    assert j.record_fill(
        JournalFill(fill_id="T-NEW", order_id="O-OLD", qty=Decimal("0.01"), price=Decimal("30000"), source="rest")
    )
    e = j.get("old-1")
    assert e.filled_qty == Decimal("0.02") and e.exchange_state == "closed"
    j.close()
    # opening again is a no-op (idempotent migration)
    with OrderJournal.open(path) as j3:
        assert len(j3.fills()) == 2 and j3.get("old-1").filled_qty == Decimal("0.02")


def test_events_record_each_fill(journal: OrderJournal) -> None:
    acked(journal, "c1", "O-1")
    journal.record_fill(
        JournalFill(fill_id="T-1", cl_ord_id="c1", qty=Decimal("0.01"), price=Decimal("65000.1"), source="ws")
    )
    ev = [e for e in journal.events("c1") if "fill" in e.detail]
    assert len(ev) == 1 and ev[0].detail["qty"] == "0.01" and ev[0].detail["filled_qty"] == "0.01"
    assert json.loads(json.dumps(ev[0].detail))["source"] == "ws"

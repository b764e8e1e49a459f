"""OrderJournal on a real PostgreSQL server: same behaviour as SQLite, plus claims under concurrency.

The server comes from ``KRAKENKIT_TEST_PG_DSN`` (``eval "$(.ci/postgres.sh)"``). Without it conftest.py
starts a throwaway one with ``.ci/postgres.sh`` and stops it afterwards. Only when no server can be started
are the tests skipped, with a loud warning.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from krakenkit.toolkit import JournalError, JournalFill, JournalStatus, OrderJournal

S = JournalStatus


def _intent(j: OrderJournal, cl: str, **kw: object) -> None:
    args: dict[str, object] = {
        "cl_ord_id": cl,
        "symbol": "XBTUSD",
        "side": "buy",
        "order_type": "limit",
        "quantity": "0.01",
        "price": "30000.1",
    }
    args.update(kw)
    j.record_intent(**args)  # type: ignore[arg-type]


def test_pg_lifecycle_matches_sqlite(schema_dsn: str) -> None:
    j = OrderJournal.open(schema_dsn)
    assert j.backend == "postgresql"
    _intent(j, "a1", params={"oflags": "post"})
    with pytest.raises(JournalError, match="already in the journal"):
        _intent(j, "a1")
    j.mark_sent("a1")
    j.mark_unknown("a1", "APITimeoutError")
    e = j.mark_acknowledged("a1", "OA1", exchange_state="open")
    assert e.status is S.ACKNOWLEDGED and e.order_id == "OA1" and e.price == Decimal("30000.1")
    assert e.params == {"oflags": "post"}
    assert [ev.status for ev in j.events("a1")] == [S.INTENT, S.SENT, S.UNKNOWN, S.ACKNOWLEDGED]
    with pytest.raises(JournalError, match="illegal change"):
        j.mark_sent("a1")
    assert j.record_fill(JournalFill(fill_id="T1", order_id="OA1", qty=Decimal("0.004"), price=Decimal(1)))
    assert not j.record_fill(JournalFill(fill_id="T1", order_id="OA1", qty=Decimal("0.004"), price=Decimal(1)))
    assert j.get("a1").filled_qty == Decimal("0.004")
    j.close()
    # durable: a second connection (another bot) sees it all
    j2 = OrderJournal.open(schema_dsn)
    assert j2.get("a1").status is S.ACKNOWLEDGED and len(j2.fills()) == 1
    j2.close()


def test_pg_concurrent_bots_never_claim_the_same_entry(schema_dsn: str) -> None:
    setup = OrderJournal.open(schema_dsn)
    n = 300
    for i in range(n):
        _intent(setup, f"e{i:04d}", owner="crashed-bot", lease=-1.0)  # lease already ran out
        setup.mark_sent(f"e{i:04d}")
    setup.close()
    bots = [OrderJournal.open(schema_dsn) for _ in range(4)]
    claimed: dict[str, list[str]] = {f"bot{i}": [] for i in range(4)}
    barrier = threading.Barrier(4)

    def run(i: int) -> None:
        barrier.wait()
        while True:
            got = bots[i].claim_unresolved(owner=f"bot{i}", lease=60.0, limit=7, include_own=False)
            if not got:
                return
            claimed[f"bot{i}"].extend(e.cl_ord_id for e in got)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    all_ids = [cl for ids in claimed.values() for cl in ids]
    assert len(all_ids) == n and len(set(all_ids)) == n  # every entry once, none twice
    assert sum(1 for ids in claimed.values() if ids) >= 2  # they really competed
    check = OrderJournal.open(schema_dsn)
    owners = {e.cl_ord_id: e.owner for e in check.entries()}
    for bot, ids in claimed.items():
        assert all(owners[cl] == bot for cl in ids)
    check.close()
    for b in bots:
        b.close()


def test_pg_open_rejects_bad_dsn() -> None:
    with pytest.raises(JournalError, match="cannot connect"):
        OrderJournal.open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")

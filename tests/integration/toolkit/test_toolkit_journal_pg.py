"""OrderJournal on a real PostgreSQL server: same behaviour as SQLite, plus claims under concurrency.

The server comes from ``KRAKENKIT_TEST_PG_DSN`` (``eval "$(.ci/postgres.sh)"``). Without it the module
starts a throwaway one with ``.ci/postgres.sh`` and stops it afterwards. Only when no server can be started
are the tests skipped, with a loud warning.
"""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest

from krakenkit.toolkit import JournalError, JournalFill, JournalStatus, OrderJournal

S = JournalStatus
ROOT = Path(__file__).resolve().parents[3]


def _start_server() -> tuple[str | None, str | None, str]:
    script = ROOT / ".ci" / "postgres.sh"
    try:
        proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, None, f"could not run {script}: {exc!r}"
    env: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            env[k] = v.strip("'\"")
    if proc.returncode != 0 or "KRAKENKIT_TEST_PG_DSN" not in env:
        return None, None, f".ci/postgres.sh failed (exit {proc.returncode}): {proc.stderr[-500:]}"
    return env["KRAKENKIT_TEST_PG_DSN"], env.get("KRAKENKIT_TEST_PG_DIR"), ""


@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    dsn = os.environ.get("KRAKENKIT_TEST_PG_DSN")
    started_dir = None
    if not dsn:
        dsn, started_dir, why = _start_server()
        if not dsn:
            msg = ("!!! PostgreSQL journal tests SKIPPED: no server. Set KRAKENKIT_TEST_PG_DSN or make "
                   f".ci/postgres.sh work. Reason: {why}")
            warnings.warn(msg, stacklevel=1)
            pytest.skip(msg)
    try:
        yield dsn
    finally:
        if started_dir:
            subprocess.run(["bash", str(ROOT / ".ci" / "postgres.sh"), "stop", started_dir],
                           capture_output=True, timeout=60)


@pytest.fixture
def schema_dsn(pg_dsn: str) -> Iterator[str]:
    """A fresh schema per test (search_path), dropped afterwards."""
    import psycopg

    name = "kk_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in pg_dsn else "?"
    yield f"{pg_dsn}{sep}options={quote(f'-csearch_path={name}')}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def _intent(j: OrderJournal, cl: str, **kw: object) -> None:
    args: dict[str, object] = {"cl_ord_id": cl, "symbol": "XBTUSD", "side": "buy", "order_type": "limit",
                               "quantity": "0.01", "price": "30000.1"}
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

"""A durable order journal: every order intent is written down before it leaves the process.

Kraken's production guide: store the client order id in your own database *before* the order is sent;
if you cannot tell whether Kraken got it, look it up by that id before trying again. The journal is that
database. Each entry is one logical order (one client order id) and moves through::

    intent ──► sent ──► acknowledged   (Kraken has it; order_id known)           final
      │          ├────► rejected       (Kraken answered with an error)           final
      │          ├────► unknown ──► acknowledged | not_placed | sent (re-send, same id)
      │          └────► not_placed     (nothing left the process, or proven absent) final
      └──► abandoned                   (a crashed run wrote the intent, never sent it) final

``not_placed`` after ``unknown`` is written only on proof: the order's ``deadline`` (recorded with every
``sent``) has passed on Kraken's clock and a look-up by client id found nothing.

Every transition is appended to an event log (``krakenkit_order_events``), fills are stored once per
``(account, fill_id)`` (``krakenkit_fills``; the primary key enforces it) and linked to their entry by client
order id or Kraken's order id, and ``exchange_state`` (open / closed / canceled / expired) follows the order
after acknowledgement. :meth:`OrderJournal.attach` records every fill (and order update) an
:class:`~krakenkit.toolkit.account.AccountState` accepts, in a background writer.

Schema versions (``krakenkit_meta.schema_version``): 1 = the first release; 2 adds
``krakenkit_orders.gate_wait`` (seconds the order waited at a closed reconnect gate) and
``krakenkit_fills.source`` (``ws`` / ``rest``) plus lookup indexes; 3 adds ``krakenkit_orders.deadline``
(the RFC 3339 ``deadline`` the last request of the order was sent with). Opening a journal migrates an older
database in place (missing columns and indexes are added; nothing is rewritten).

Backends (same interface, pick by :meth:`OrderJournal.open`):

* **SQLite** (a file path; stdlib ``sqlite3``): WAL mode and ``synchronous=FULL``. In WAL mode
  ``NORMAL`` already survives a *process* crash, but after a power loss or kernel panic the last commits can
  be rolled back: the journal could forget an order that is live on the exchange, which is exactly the
  duplicate the journal exists to prevent. ``FULL`` fsyncs the WAL on every commit; the cost (one fsync per
  state change) is small next to an exchange round trip. Pass ``synchronous="NORMAL"`` to trade that away.
  Writes use ``BEGIN IMMEDIATE`` with a busy timeout, so several processes may share one file.
* **PostgreSQL** (a ``postgresql://`` DSN; psycopg 3) for a fleet of bots sharing one record. Reconciliation
  claims entries with ``SELECT ... FOR UPDATE SKIP LOCKED`` and a lease (``owner``, ``claimed_until``), so
  two bots never reconcile the same entry at the same time, and a crashed bot's claim runs out.

The core is synchronous (one lock-guarded connection per journal; the methods are short). From asyncio use
:class:`AsyncOrderJournal` (``journal.aio``), which runs every call in a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from .._core.deadline import parse_deadline
from .._core.errors import KrakenError

if TYPE_CHECKING:
    from .account import AccountState
    from .recorder import FillRecorder

__all__ = [
    "FINAL_EXCHANGE_STATES",
    "FINAL_STATUSES",
    "UNRESOLVED_STATUSES",
    "AsyncOrderJournal",
    "JournalEntry",
    "JournalError",
    "JournalEvent",
    "JournalFill",
    "JournalStatus",
    "OrderJournal",
    "default_owner",
]

log = logging.getLogger("krakenkit.toolkit.journal")

SCHEMA_VERSION = 3
# exchange states an order never leaves (a late "open" from an older answer must not undo them)
FINAL_EXCHANGE_STATES = frozenset({"closed", "canceled", "expired"})


class JournalError(KrakenError):
    """The journal refused an operation (duplicate client id, illegal state change, unknown entry)."""


class JournalStatus(enum.StrEnum):
    INTENT = "intent"
    SENT = "sent"
    UNKNOWN = "unknown"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    NOT_PLACED = "not_placed"
    ABANDONED = "abandoned"

    def __str__(self) -> str:
        return self.value


S = JournalStatus
FINAL_STATUSES: frozenset[JournalStatus] = frozenset({S.ACKNOWLEDGED, S.REJECTED, S.NOT_PLACED, S.ABANDONED})
UNRESOLVED_STATUSES: frozenset[JournalStatus] = frozenset({S.INTENT, S.SENT, S.UNKNOWN})

# Allowed transitions. ACKNOWLEDGED is reachable from everywhere: evidence that Kraken has the order
# (an ack, a lookup hit, an execution report) always wins, and a wrong earlier verdict is logged loudly.
_ALLOWED: dict[JournalStatus, frozenset[JournalStatus]] = {
    S.INTENT: frozenset({S.SENT, S.ABANDONED, S.REJECTED, S.NOT_PLACED, S.ACKNOWLEDGED}),
    S.SENT: frozenset({S.SENT, S.ACKNOWLEDGED, S.REJECTED, S.UNKNOWN, S.NOT_PLACED}),
    S.UNKNOWN: frozenset({S.UNKNOWN, S.SENT, S.ACKNOWLEDGED, S.REJECTED, S.NOT_PLACED}),
    S.ACKNOWLEDGED: frozenset({S.ACKNOWLEDGED}),
    S.REJECTED: frozenset({S.ACKNOWLEDGED}),
    S.NOT_PLACED: frozenset({S.ACKNOWLEDGED}),
    S.ABANDONED: frozenset({S.ACKNOWLEDGED}),
}


def default_owner() -> str:
    """The default claim owner: ``krakenkit@<hostname>``. In a fleet sharing one PostgreSQL journal give
    every bot its own stable ``owner`` (a restarted bot with the same owner takes its entries back at once;
    other bots take them over when the lease runs out)."""
    return f"krakenkit@{socket.gethostname()}"


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _put_gate_wait(extra: dict[str, Any], gate_wait: float | None) -> None:
    if gate_wait is not None:
        extra["gate_wait"] = float(gate_wait)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class JournalEntry:
    """One logical order: its request and everything known about its fate."""

    cl_ord_id: str
    account: str
    product: str
    via: str
    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal | None
    params: dict[str, Any]
    status: JournalStatus
    order_id: str | None
    exchange_state: str | None
    filled_qty: Decimal
    error: str | None
    attempts: int
    owner: str | None
    claimed_until: float | None
    created_at: float
    updated_at: float
    sent_at: float | None
    resolved_at: float | None
    gate_wait: float | None = None  # seconds it waited at a closed ReconnectGate (None: no gate)
    deadline: str | None = None  # Kraken's deadline (RFC 3339) the last request was sent with; None: none

    @property
    def deadline_ts(self) -> float | None:
        """:attr:`deadline` as unix seconds on Kraken's clock (None without one)."""
        return None if self.deadline is None else parse_deadline(self.deadline)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class JournalEvent:
    cl_ord_id: str
    at: float
    status: JournalStatus
    detail: dict[str, Any]


@dataclass(frozen=True)
class JournalFill:
    """A fill (Spot trade / exec, Derivatives fill), stored once per ``(account, fill_id)``.

    ``cl_ord_id`` is the journal entry it belongs to once linked (by client id, or by Kraken's order id
    when the entry knows it). ``source``: where it was first seen (``ws`` / ``rest``)."""

    fill_id: str
    account: str = ""
    product: str = "spot"
    order_id: str | None = None
    cl_ord_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    qty: Decimal = Decimal(0)
    price: Decimal = Decimal(0)
    fee: Decimal | None = None
    fee_asset: str | None = None
    ts: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    recorded_at: float | None = None


_ORDER_COLUMNS = (
    "cl_ord_id, account, product, via, symbol, side, order_type, quantity, price, params, status, order_id, "
    "exchange_state, filled_qty, error, attempts, owner, claimed_until, created_at, updated_at, sent_at, "
    "resolved_at, gate_wait, deadline"
)
_FILL_COLUMNS = (
    "fill_id, account, product, order_id, cl_ord_id, symbol, side, qty, price, fee, fee_asset, ts, raw, source, "
    "recorded_at"
)
# how a fill / order update finds its journal entry: by client order id first, then by order id
_LINK_QUERIES = (
    "SELECT cl_ord_id FROM krakenkit_orders WHERE cl_ord_id = ? AND account = ?",
    "SELECT cl_ord_id FROM krakenkit_orders WHERE order_id = ? AND account = ?",
)


def _add_equals(where: list[str], params: list[Any], **columns: Any) -> None:
    """Add ``column = ?`` to a WHERE list for every column given a value (None: no filter)."""
    for column, value in columns.items():
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)


def _where_sql(where: Sequence[str]) -> str:
    return " WHERE " + " AND ".join(where) if where else ""


def _row_to_entry(row: Sequence[Any]) -> JournalEntry:
    (
        cl,
        account,
        product,
        via,
        symbol,
        side,
        otype,
        qty,
        price,
        params,
        status,
        order_id,
        xstate,
        filled,
        error,
        attempts,
        owner,
        claimed_until,
        created,
        updated,
        sent,
        resolved,
        gate_wait,
        deadline,
    ) = row
    return JournalEntry(
        cl_ord_id=cl,
        account=account,
        product=product,
        via=via,
        symbol=symbol,
        side=side,
        order_type=otype,
        quantity=Decimal(qty),
        price=_dec(price),
        params=json.loads(params) if params else {},
        status=JournalStatus(status),
        order_id=order_id,
        exchange_state=xstate,
        filled_qty=Decimal(filled or "0"),
        error=error,
        attempts=int(attempts),
        owner=owner,
        claimed_until=claimed_until,
        created_at=created,
        updated_at=updated,
        sent_at=sent,
        resolved_at=resolved,
        gate_wait=gate_wait,
        deadline=deadline,
    )


def _row_to_fill(r: Sequence[Any]) -> JournalFill:
    return JournalFill(
        fill_id=r[0],
        account=r[1],
        product=r[2],
        order_id=r[3],
        cl_ord_id=r[4],
        symbol=r[5],
        side=r[6],
        qty=Decimal(r[7]),
        price=Decimal(r[8]),
        fee=_dec(r[9]),
        fee_asset=r[10],
        ts=r[11],
        raw=json.loads(r[12]),
        source=r[13],
        recorded_at=r[14],
    )


# --- backends ------------------------------------------------------------------------------------------


class _Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    @property
    def rowcount(self) -> int: ...


class _Backend(Protocol):
    name: str
    row_lock: str  # appended to a SELECT that reads a row it is about to change ("" or " FOR UPDATE")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor: ...
    def transaction(self) -> Any: ...  # context manager: BEGIN (write lock) ... COMMIT / ROLLBACK
    def select_for_claim(self, where: str, params: Sequence[Any], limit: int) -> list[str]: ...
    def close(self) -> None: ...


_SCHEMA_SQLITE = """
CREATE TABLE IF NOT EXISTS krakenkit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS krakenkit_orders (
    cl_ord_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    product TEXT NOT NULL,
    via TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    order_type TEXT NOT NULL,
    quantity TEXT NOT NULL,
    price TEXT,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    order_id TEXT,
    exchange_state TEXT,
    filled_qty TEXT NOT NULL DEFAULT '0',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    claimed_until REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    sent_at REAL,
    resolved_at REAL,
    gate_wait REAL,
    deadline TEXT
);
CREATE INDEX IF NOT EXISTS krakenkit_orders_status ON krakenkit_orders (account, product, status);
CREATE INDEX IF NOT EXISTS krakenkit_orders_order_id ON krakenkit_orders (order_id);
CREATE TABLE IF NOT EXISTS krakenkit_order_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cl_ord_id TEXT NOT NULL,
    at REAL NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS krakenkit_order_events_cl ON krakenkit_order_events (cl_ord_id);
CREATE TABLE IF NOT EXISTS krakenkit_fills (
    account TEXT NOT NULL,
    fill_id TEXT NOT NULL,
    product TEXT NOT NULL,
    order_id TEXT,
    cl_ord_id TEXT,
    symbol TEXT,
    side TEXT,
    qty TEXT NOT NULL,
    price TEXT NOT NULL,
    fee TEXT,
    fee_asset TEXT,
    ts REAL,
    raw TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    source TEXT,
    PRIMARY KEY (account, fill_id)
);
CREATE INDEX IF NOT EXISTS krakenkit_fills_order_id ON krakenkit_fills (account, order_id);
CREATE INDEX IF NOT EXISTS krakenkit_fills_cl ON krakenkit_fills (cl_ord_id);
"""

# Columns added after schema version 1: an older database gets them on open (ALTER TABLE ... ADD COLUMN).
_ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("krakenkit_orders", "gate_wait", "REAL"),
    ("krakenkit_fills", "source", "TEXT"),
    ("krakenkit_orders", "deadline", "TEXT"),
)

_SCHEMA_PG = _SCHEMA_SQLITE.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY").replace(
    " REAL", " DOUBLE PRECISION"
)


def _set_schema_version(execute: Any, mark: str, where: str) -> None:
    """Record the schema version after creating / migrating (never lowers a newer one)."""
    row = execute("SELECT value FROM krakenkit_meta WHERE key = 'schema_version'").fetchone()
    old = int(row[0]) if row and str(row[0]).isdigit() else None
    version = (str(SCHEMA_VERSION),)
    if old is None:
        execute(f"INSERT INTO krakenkit_meta (key, value) VALUES ('schema_version', {mark})", version)  # noqa: S608
    elif old < SCHEMA_VERSION:
        execute(f"UPDATE krakenkit_meta SET value = {mark} WHERE key = 'schema_version'", version)  # noqa: S608
        log.warning("order journal %s: schema migrated from version %d to %d", where, old, SCHEMA_VERSION)
    elif old > SCHEMA_VERSION:
        log.warning(
            "order journal %s: schema version %d is newer than this krakenkit's (%d)", where, old, SCHEMA_VERSION
        )


def _schema_statements(schema: str) -> list[str]:
    return [st for st in (x.strip() for x in schema.split(";")) if st]


def _is_index(stmt: str) -> bool:
    return stmt.startswith("CREATE INDEX")


class _SQLiteBackend:
    name = "sqlite"
    row_lock = ""

    def __init__(self, path: str, *, synchronous: str = "FULL", busy_timeout: float = 30.0) -> None:
        if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
        self.path = path
        # autocommit mode (isolation_level=None): we issue BEGIN IMMEDIATE ourselves for every write
        self._conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal" and path != ":memory:":
            log.warning("SQLite journal %s: WAL mode unavailable (got %s)", path, mode)
        self._conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        with self.transaction():
            stmts = _schema_statements(_SCHEMA_SQLITE)
            for stmt in stmts:
                if not _is_index(stmt):
                    self._conn.execute(stmt)
            # migrate a database an older version created: add the columns it lacks, then the indexes
            for table, column, sql_type in _ADDED_COLUMNS:
                have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})").fetchall()}
                if column not in have:
                    self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
            for stmt in stmts:
                if _is_index(stmt):
                    self._conn.execute(stmt)
            _set_schema_version(self._conn.execute, "?", path)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        return self._conn.execute(sql, tuple(params))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")

    def select_for_claim(self, where: str, params: Sequence[Any], limit: int) -> list[str]:
        # BEGIN IMMEDIATE (held by the caller) already serialises claimers across processes
        cur = self._conn.execute(
            f"SELECT cl_ord_id FROM krakenkit_orders WHERE {where} ORDER BY created_at LIMIT ?",  # noqa: S608
            (*params, limit),
        )
        return [r[0] for r in cur.fetchall()]

    def close(self) -> None:
        self._conn.close()


class _PGBackend:
    name = "postgresql"
    row_lock = " FOR UPDATE"

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise JournalError("PostgreSQL journal needs psycopg 3: pip install 'krakenkit[postgres]'") from exc
        self._psycopg = psycopg
        try:
            self._conn: Any = psycopg.connect(dsn, autocommit=True, connect_timeout=int(connect_timeout))
        except psycopg.Error as exc:
            raise JournalError(f"cannot connect to the PostgreSQL journal: {exc}") from exc
        with self.transaction():
            # serialise concurrent schema creation by several bots starting at once
            self._conn.execute("SELECT pg_advisory_xact_lock(727001)")
            stmts = _schema_statements(_SCHEMA_PG)
            for stmt in stmts:
                if not _is_index(stmt):
                    self._conn.execute(stmt)
            # migrate a database an older version created (ADD COLUMN IF NOT EXISTS: PostgreSQL >= 9.6)
            for table, column, sql_type in _ADDED_COLUMNS:
                pg_type = "DOUBLE PRECISION" if sql_type == "REAL" else sql_type
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {pg_type}")
            for stmt in stmts:
                if _is_index(stmt):
                    self._conn.execute(stmt)
            _set_schema_version(self._conn.execute, "%s", "PostgreSQL")

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        cur: _Cursor = self._conn.execute(self._sql(sql), tuple(params))
        return cur

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._conn.transaction():
            yield

    def select_for_claim(self, where: str, params: Sequence[Any], limit: int) -> list[str]:
        cur = self._conn.execute(
            self._sql(
                f"SELECT cl_ord_id FROM krakenkit_orders WHERE {where} "  # noqa: S608
                "ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED"
            ),
            (*params, limit),
        )
        return [r[0] for r in cur.fetchall()]

    def close(self) -> None:
        self._conn.close()


# --- the journal ---------------------------------------------------------------------------------------


class OrderJournal:
    """Durable record of order intents and their outcomes (SQLite file or PostgreSQL).

    Open with :meth:`open`: ``OrderJournal.open("orders.sqlite3")`` or
    ``OrderJournal.open("postgresql://user@host/db")``. Thread-safe; use :attr:`aio` from asyncio.
    """

    def __init__(self, backend: _Backend, *, clock: Any = time.time) -> None:
        self._db = backend
        self._lock = threading.RLock()
        self._clock = clock
        self._closed = False
        self._recorders: list[FillRecorder] = []
        self.aio = AsyncOrderJournal(self)

    @classmethod
    def open(cls, target: str | os.PathLike[str], *, synchronous: str = "FULL") -> OrderJournal:
        """A SQLite file path, ``sqlite:///path``, or a ``postgresql://`` / ``postgres://`` DSN."""
        text = os.fspath(target)
        if text.startswith(("postgresql://", "postgres://")):
            return cls(_PGBackend(text))
        if text.startswith("sqlite:///"):
            text = text[len("sqlite:///") :]
        return cls(_SQLiteBackend(text, synchronous=synchronous))

    @property
    def backend(self) -> str:
        return self._db.name

    def close(self, *, flush_timeout: float = 10.0) -> None:
        """Close the journal. Attached :class:`FillRecorder` s are flushed first (up to ``flush_timeout``
        seconds each; what is still pending then is logged and left for the next start's backfill)."""
        for recorder in list(self._recorders):
            recorder.close(timeout=flush_timeout)
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def attach(
        self,
        state: AccountState,
        *,
        account: str = "",
        orders: bool = True,
        retry_delays: Sequence[float] = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0),
        on_error: Any = None,
    ) -> FillRecorder:
        """Record every fill ``state`` accepts (and, with ``orders``, every order update) in this journal.

        One line: ``journal.attach(state)``. ``state`` already drops duplicates by fill id; the journal's
        key ``(account, fill_id)`` keeps a fill once across restarts too (a reconnect replay or a REST
        backfill after a restart is not stored twice). Fills are linked to their entry by client order id or
        Kraken's order id and move its ``filled_qty``. ``account`` must be the submitter's ``account``.
        Writes happen in order on a background thread (the event loop never waits for an fsync) and are
        retried until they succeed; :meth:`FillRecorder.flush` / ``await recorder.aflush()`` wait until
        everything accepted so far is durable. Fills already in ``state`` are recorded too."""
        from .recorder import FillRecorder

        recorder = FillRecorder(
            self, state, account=account, orders=orders, retry_delays=retry_delays, on_error=on_error
        )
        with self._lock:
            self._recorders.append(recorder)
        return recorder

    def _detach(self, recorder: FillRecorder) -> None:
        with self._lock:
            if recorder in self._recorders:
                self._recorders.remove(recorder)

    def __enter__(self) -> OrderJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes ----------------------------------------------------------------------------------------

    def record_intent(
        self,
        *,
        cl_ord_id: str,
        symbol: str,
        side: str,
        order_type: str,
        quantity: Decimal | str,
        price: Decimal | str | None = None,
        params: Mapping[str, Any] | None = None,
        account: str = "",
        product: str = "spot",
        via: str = "rest",
        owner: str | None = None,
        lease: float = 60.0,
    ) -> JournalEntry:
        """Write the intent (status ``intent``) before anything is sent. The entry is claimed by ``owner``
        for ``lease`` seconds so no other reconciler touches an order that is in flight."""
        now = self._clock()
        with self._lock, self._db.transaction():
            cur = self._db.execute(
                f"INSERT INTO krakenkit_orders ({_ORDER_COLUMNS}) VALUES "  # noqa: S608
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, '0', NULL, 0, ?, ?, ?, ?, NULL, NULL, NULL, NULL) "
                "ON CONFLICT (cl_ord_id) DO NOTHING",
                (
                    cl_ord_id,
                    account,
                    product,
                    via,
                    symbol,
                    side,
                    order_type,
                    str(Decimal(str(quantity))),
                    None if price is None else str(Decimal(str(price))),
                    _dumps(dict(params or {})),
                    S.INTENT.value,
                    owner,
                    now + lease if owner else None,
                    now,
                    now,
                ),
            )
            if cur.rowcount == 0:
                raise JournalError(f"client order id {cl_ord_id!r} is already in the journal; use a fresh id")
            self._event(cl_ord_id, now, S.INTENT, {"params": dict(params or {})})
        return self.get(cl_ord_id)

    def mark_sent(
        self,
        cl_ord_id: str,
        *,
        owner: str | None = None,
        lease: float | None = None,
        deadline: str | None = None,
    ) -> JournalEntry:
        """The request is about to leave the process (call right before sending; attempts += 1).
        ``deadline``: Kraken's ``deadline`` (RFC 3339) this request carries (None: it carries none); it is
        what a later look-up needs to prove the order absent."""
        now = self._clock()  # sent_at is the time of the 'sent' event
        extra: dict[str, Any] = {"sent_at": now, "deadline": deadline}
        if owner is not None and lease is not None:
            extra["owner"] = owner
            extra["claimed_until"] = now + lease
        return self._transition(cl_ord_id, S.SENT, extra, attempts_inc=True, now=now)

    def mark_acknowledged(
        self,
        cl_ord_id: str,
        order_id: str | None,
        *,
        exchange_state: str | None = None,
        filled_qty: Decimal | None = None,
        detail: Mapping[str, Any] | None = None,
        gate_wait: float | None = None,
    ) -> JournalEntry:
        """Kraken has the order (ack, or found by client id); ``order_id`` is Kraken's id. ``filled_qty``
        never lowers what recorded fills already show, and a final ``exchange_state`` (closed / canceled /
        expired, e.g. from a fill that arrived before the ack) is not moved back to open."""
        extra: dict[str, Any] = {"resolved_at": self._clock(), "owner": None, "claimed_until": None, "error": None}
        if order_id:
            extra["order_id"] = order_id
        if exchange_state:
            extra["exchange_state"] = exchange_state
        if filled_qty is not None:
            extra["filled_qty"] = str(filled_qty)
        _put_gate_wait(extra, gate_wait)
        return self._transition(cl_ord_id, S.ACKNOWLEDGED, extra, detail=detail)

    def mark_rejected(
        self,
        cl_ord_id: str,
        error: str,
        *,
        detail: Mapping[str, Any] | None = None,
        gate_wait: float | None = None,
    ) -> JournalEntry:
        """Kraken answered with an error: the order does not exist."""
        extra = {"error": error, "resolved_at": self._clock(), "owner": None, "claimed_until": None}
        _put_gate_wait(extra, gate_wait)
        return self._transition(cl_ord_id, S.REJECTED, extra, detail=detail)

    def mark_unknown(
        self,
        cl_ord_id: str,
        error: str,
        *,
        detail: Mapping[str, Any] | None = None,
        gate_wait: float | None = None,
        deadline: str | None = None,
    ) -> JournalEntry:
        """The request went out and its outcome cannot be told (timeout, 5xx, an unreadable answer ...).
        ``deadline``: the deadline the request carried, when it differs from the one journaled with ``sent``
        (None: keep that one)."""
        extra: dict[str, Any] = {"error": error}
        if deadline is not None:
            extra["deadline"] = deadline
        _put_gate_wait(extra, gate_wait)
        return self._transition(cl_ord_id, S.UNKNOWN, extra, detail=detail)

    def mark_not_placed(
        self,
        cl_ord_id: str,
        reason: str,
        *,
        detail: Mapping[str, Any] | None = None,
        gate_wait: float | None = None,
    ) -> JournalEntry:
        """Certainly not placed: Kraken refused it before acting, nothing reached Kraken, or a look-up by
        client id after the order's deadline had passed on Kraken's clock found no order."""
        extra = {"error": reason, "resolved_at": self._clock(), "owner": None, "claimed_until": None}
        _put_gate_wait(extra, gate_wait)
        return self._transition(cl_ord_id, S.NOT_PLACED, extra, detail=detail)

    def mark_not_sent(
        self,
        cl_ord_id: str,
        reason: str,
        *,
        detail: Mapping[str, Any] | None = None,
        gate_wait: float | None = None,
    ) -> JournalEntry:
        """The attempt marked ``sent`` never left the process (the gate stayed closed, or the submitter's
        ``revalidate`` hook withdrew the order): status ``not_placed``, ``attempts`` counts only requests
        that left, ``sent_at`` goes back to the previous attempt's (None when there was none), and the event
        says ``"sent": false``. ``gate_wait``: seconds it waited at the gate."""
        now = self._clock()
        with self._lock, self._db.transaction():
            row = self._lock_entry_row(cl_ord_id, "status, attempts")
            if row is None:
                raise JournalError(f"no journal entry for client order id {cl_ord_id!r}")
            extra: dict[str, Any] = {"error": reason, "resolved_at": now, "owner": None, "claimed_until": None}
            _put_gate_wait(extra, gate_wait)
            if row[0] == S.SENT.value:
                attempts = max(0, int(row[1]) - 1)
                prev, prev_deadline = None, None
                if attempts:  # when the attempt before this one left (its 'sent' event carries its number)
                    for at, ev_detail in self._db.execute(
                        "SELECT at, detail FROM krakenkit_order_events WHERE cl_ord_id = ? AND status = ? "
                        "ORDER BY id DESC",
                        (cl_ord_id, S.SENT.value),
                    ).fetchall():
                        sent_detail = json.loads(ev_detail)
                        if sent_detail.get("attempt") == attempts:
                            prev, prev_deadline = at, sent_detail.get("deadline")
                            break
                extra.update({"attempts": attempts, "sent_at": prev, "deadline": prev_deadline})
            self._transition_locked(cl_ord_id, S.NOT_PLACED, extra, detail={"sent": False, **(detail or {})}, now=now)
        return self.get(cl_ord_id)

    def mark_abandoned(
        self, cl_ord_id: str, reason: str = "intent written, never sent (process stopped)"
    ) -> JournalEntry:
        extra = {"error": reason, "resolved_at": self._clock(), "owner": None, "claimed_until": None}
        return self._transition(cl_ord_id, S.ABANDONED, extra)

    def update_exchange_state(
        self,
        cl_ord_id: str,
        exchange_state: str,
        *,
        order_id: str | None = None,
        filled_qty: Decimal | None = None,
    ) -> JournalEntry | None:
        """Follow the order on the exchange (open → closed / canceled / expired). Returns None if unknown."""
        now = self._clock()
        with self._lock, self._db.transaction():
            row = self._db.execute(
                "SELECT status, exchange_state, order_id, filled_qty FROM krakenkit_orders WHERE cl_ord_id = ?",
                (cl_ord_id,),
            ).fetchone()
            if row is None:
                return None
            status, old_state, old_oid, old_filled = row
            sets = {"exchange_state": exchange_state, "updated_at": now}
            if order_id and not old_oid:
                sets["order_id"] = order_id
                entry = self.find(cl_ord_id)
                if entry is not None:
                    self._link_orphans_locked(cl_ord_id, entry.account, order_id)
                    total = self._fills_sum_locked(cl_ord_id, entry.account)
                    if total > Decimal(old_filled or "0") and (filled_qty is None or total > Decimal(filled_qty)):
                        sets["filled_qty"] = str(total)
            if filled_qty is not None and Decimal(filled_qty) > Decimal(old_filled or "0"):
                sets["filled_qty"] = str(filled_qty)
            self._update(cl_ord_id, sets)
            if old_state != exchange_state:
                self._event(cl_ord_id, now, JournalStatus(status), {"exchange_state": exchange_state})
            if status != S.ACKNOWLEDGED.value:
                # the exchange reports this order: it exists, whatever we believed before
                self._transition_locked(
                    cl_ord_id,
                    S.ACKNOWLEDGED,
                    {"resolved_at": now, "owner": None, "claimed_until": None},
                    detail={"via": "exchange_state"},
                    now=now,
                )
        return self.get(cl_ord_id)

    def record_fill(self, fill: JournalFill) -> bool:
        """Store a fill once (keyed by ``(account, fill_id)``; the schema's primary key enforces it). Returns
        False when it was already there.

        The fill is linked to its entry by client order id, else by Kraken's order id (a fill that arrives
        before the entry knows its order id is linked when the ack brings it). The entry's ``filled_qty``
        becomes the sum of its fills (never lower than before); all of ``quantity`` filled makes
        ``exchange_state`` ``closed``. A fill is evidence that Kraken has the order: an entry marked
        ``not_placed`` / ``rejected`` / ``abandoned`` becomes ``acknowledged`` (logged as an error), and so does
        an ``intent`` / ``sent`` / ``unknown`` entry nobody holds a live claim on (a submitter still working
        on its order keeps it and resolves it itself)."""
        now = self._clock()
        with self._lock, self._db.transaction():
            link = self._find_link(fill.account, fill.cl_ord_id, fill.order_id)
            cl = link if link is not None else fill.cl_ord_id
            cur = self._db.execute(
                f"INSERT INTO krakenkit_fills ({_FILL_COLUMNS}) "  # noqa: S608 - column names are ours
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, fill_id) DO NOTHING",
                (
                    fill.fill_id,
                    fill.account,
                    fill.product,
                    fill.order_id,
                    cl,
                    fill.symbol,
                    fill.side,
                    str(fill.qty),
                    str(fill.price),
                    None if fill.fee is None else str(fill.fee),
                    fill.fee_asset,
                    fill.ts,
                    _dumps(dict(fill.raw)),
                    fill.source,
                    now,
                ),
            )
            if cur.rowcount == 0:
                # already stored; link it now if it was stored before its entry was known
                if link is not None:
                    upd = self._db.execute(
                        "UPDATE krakenkit_fills SET cl_ord_id = ? WHERE account = ? AND fill_id = ? "
                        "AND cl_ord_id IS NULL",
                        (link, fill.account, fill.fill_id),
                    )
                    if upd.rowcount:
                        self._evidence_locked(link, now, order_id=fill.order_id, detail={"fill_linked": fill.fill_id})
                return False
            if link is not None:
                self._evidence_locked(
                    link,
                    now,
                    order_id=fill.order_id,
                    detail={
                        "fill": fill.fill_id,
                        "qty": str(fill.qty),
                        "price": str(fill.price),
                        "source": fill.source,
                    },
                )
        return True

    def record_order_update(
        self,
        *,
        account: str = "",
        order_id: str | None = None,
        cl_ord_id: str | None = None,
        exchange_state: str | None = None,
        filled_qty: Decimal | None = None,
    ) -> JournalEntry | None:
        """Follow an order the exchange reports (stream or REST), found by client id or order id within
        ``account``. None (and nothing written) when the journal does not have it. Unlike
        :meth:`update_exchange_state` it never moves a final ``exchange_state`` back and leaves the status of
        an entry a submitter holds a live claim on to that submitter (see :meth:`record_fill`)."""
        with self._lock:
            if self._find_link(account, cl_ord_id, order_id) is None:
                return None  # not ours: no write transaction (most stream updates of a busy account)
        now = self._clock()
        with self._lock, self._db.transaction():
            cl = self._find_link(account, cl_ord_id, order_id)
            if cl is None:
                return None
            changed = self._evidence_locked(
                cl,
                now,
                order_id=order_id,
                exchange_state=exchange_state,
                filled_qty=filled_qty,
                detail={"order_update": exchange_state},
            )
        return self.get(cl) if changed else self.find(cl)

    def _lock_entry_row(self, cl_ord_id: str, columns: str) -> Any:
        """``columns`` of the entry's row (None when there is none), read inside a transaction that is about
        to change it: locked until the end of the transaction (``FOR UPDATE`` on PostgreSQL)."""
        return self._db.execute(
            f"SELECT {columns} FROM krakenkit_orders WHERE cl_ord_id = ?{self._db.row_lock}",  # noqa: S608 - ours
            (cl_ord_id,),
        ).fetchone()

    def _find_link(self, account: str, cl_ord_id: str | None, order_id: str | None) -> str | None:
        """The journal entry (its client id) a fill / order update of ``account`` belongs to, or None."""
        for query, value in zip(_LINK_QUERIES, (cl_ord_id, order_id), strict=True):
            if value:
                row = self._db.execute(query, (value, account)).fetchone()
                if row is not None:
                    return str(row[0])
        return None

    def _evidence_locked(
        self,
        cl_ord_id: str,
        now: float,
        *,
        order_id: str | None = None,
        exchange_state: str | None = None,
        filled_qty: Decimal | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        """Apply what the exchange reported about an entry (inside a transaction): order id, the sum of its
        fills, exchange state, and the status change the evidence allows. True when something changed."""
        row = self._lock_entry_row(
            cl_ord_id, "status, order_id, quantity, filled_qty, exchange_state, owner, claimed_until, account, params"
        )
        if row is None:
            return False
        status, old_oid, quantity, old_filled, old_state, owner, claimed_until, account, params = row
        status = JournalStatus(status)
        sets: dict[str, Any] = {}
        if order_id and not old_oid:
            sets["order_id"] = order_id
            self._link_orphans_locked(cl_ord_id, account, order_id)
        fills_sum = self._fills_sum_locked(cl_ord_id, account)
        reported = Decimal(filled_qty) if filled_qty is not None else Decimal(0)
        filled = max(Decimal(old_filled or "0"), fills_sum, reported)
        if filled > Decimal(old_filled or "0"):
            sets["filled_qty"] = str(filled)
        new_state = exchange_state
        if filled > 0 and filled >= Decimal(quantity) and "viqc" not in (params or ""):
            new_state = "closed"  # all of it filled (viqc: quantity is in the quote currency, fills in base)
        if new_state and new_state != old_state and old_state not in FINAL_EXCHANGE_STATES:
            sets["exchange_state"] = new_state
        ev: dict[str, Any] = dict(detail or {})
        if sets:
            sets["updated_at"] = now
            self._update(cl_ord_id, sets)
            ev.update({k: v for k, v in sets.items() if k in ("order_id", "filled_qty", "exchange_state")})
            self._event(cl_ord_id, now, status, ev)
        claimed = owner is not None and claimed_until is not None and float(claimed_until) >= now
        if status in (S.NOT_PLACED, S.REJECTED, S.ABANDONED) or (status in UNRESOLVED_STATUSES and not claimed):
            extra: dict[str, Any] = {"resolved_at": now, "owner": None, "claimed_until": None}
            self._transition_locked(
                cl_ord_id, S.ACKNOWLEDGED, extra, detail={"via": "exchange evidence", **ev}, now=now
            )
            return True
        return bool(sets)

    def _fills_sum_locked(self, cl_ord_id: str, account: str) -> Decimal:
        rows = self._db.execute(
            "SELECT qty FROM krakenkit_fills WHERE cl_ord_id = ? AND account = ?", (cl_ord_id, account)
        ).fetchall()
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def _link_orphans_locked(self, cl_ord_id: str, account: str, order_id: str) -> int:
        """Fills stored before the entry knew its order id get linked to it now."""
        cur = self._db.execute(
            "UPDATE krakenkit_fills SET cl_ord_id = ? WHERE account = ? AND order_id = ? AND cl_ord_id IS NULL",
            (cl_ord_id, account, order_id),
        )
        return cur.rowcount

    # --- reconciliation claims -------------------------------------------------------------------------

    def claim_unresolved(
        self,
        *,
        owner: str,
        account: str | None = None,
        product: str | None = None,
        lease: float = 60.0,
        limit: int = 500,
        include_own: bool = True,
    ) -> list[JournalEntry]:
        """Claim entries still in ``intent`` / ``sent`` / ``unknown`` for reconciliation.

        An entry is claimable when nobody holds it, its lease ran out, or ``owner`` already holds it (a
        restarted bot with the same owner takes its own entries back). PostgreSQL picks rows with
        ``FOR UPDATE SKIP LOCKED``, SQLite under ``BEGIN IMMEDIATE``: two reconcilers never get the same entry.
        ``include_own=False`` skips entries ``owner`` already holds (to page through a large backlog).
        """
        now = self._clock()
        if include_own:
            where = [
                "status IN (?, ?, ?)",
                "(owner IS NULL OR owner = ? OR claimed_until IS NULL OR claimed_until < ?)",
            ]
        else:
            where = [
                "status IN (?, ?, ?)",
                "(owner IS NULL OR (owner <> ? AND (claimed_until IS NULL OR claimed_until < ?)))",
            ]
        params: list[Any] = [S.INTENT.value, S.SENT.value, S.UNKNOWN.value, owner, now]
        _add_equals(where, params, account=account, product=product)
        with self._lock, self._db.transaction():
            ids = self._db.select_for_claim(" AND ".join(where), params, limit)
            for cl in ids:
                self._update(cl, {"owner": owner, "claimed_until": now + lease})
        return [self.get(cl) for cl in ids]

    def renew_claim(self, cl_ord_id: str, *, owner: str, lease: float = 60.0) -> bool:
        with self._lock, self._db.transaction():
            cur = self._db.execute(
                "UPDATE krakenkit_orders SET claimed_until = ? WHERE cl_ord_id = ? AND owner = ?",
                (self._clock() + lease, cl_ord_id, owner),
            )
            return cur.rowcount > 0

    def release_claim(self, cl_ord_id: str, *, owner: str) -> None:
        with self._lock, self._db.transaction():
            self._db.execute(
                "UPDATE krakenkit_orders SET owner = NULL, claimed_until = NULL WHERE cl_ord_id = ? AND owner = ?",
                (cl_ord_id, owner),
            )

    # --- reads -----------------------------------------------------------------------------------------

    def get(self, cl_ord_id: str) -> JournalEntry:
        entry = self.find(cl_ord_id)
        if entry is None:
            raise JournalError(f"no journal entry for client order id {cl_ord_id!r}")
        return entry

    def find(self, cl_ord_id: str) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM krakenkit_orders WHERE cl_ord_id = ?",  # noqa: S608
                (cl_ord_id,),
            ).fetchone()
        return _row_to_entry(row) if row else None

    def find_by_order_id(self, order_id: str) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM krakenkit_orders WHERE order_id = ?",  # noqa: S608
                (order_id,),
            ).fetchone()
        return _row_to_entry(row) if row else None

    def entries(
        self,
        *,
        status: JournalStatus | str | Sequence[JournalStatus | str] | None = None,
        account: str | None = None,
        product: str | None = None,
    ) -> list[JournalEntry]:
        where: list[str] = []
        params: list[Any] = []
        if status is not None:
            statuses = [status] if isinstance(status, (str, JournalStatus)) else list(status)
            where.append("status IN (" + ", ".join("?" for _ in statuses) + ")")
            params.extend(JournalStatus(s).value for s in statuses)
        _add_equals(where, params, account=account, product=product)
        sql = f"SELECT {_ORDER_COLUMNS} FROM krakenkit_orders" + _where_sql(where)  # noqa: S608
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, cl_ord_id", params).fetchall()
        return [_row_to_entry(r) for r in rows]

    def unresolved(self, *, account: str | None = None, product: str | None = None) -> list[JournalEntry]:
        return self.entries(status=sorted(UNRESOLVED_STATUSES), account=account, product=product)

    def events(self, cl_ord_id: str) -> list[JournalEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT cl_ord_id, at, status, detail FROM krakenkit_order_events WHERE cl_ord_id = ? ORDER BY id",
                (cl_ord_id,),
            ).fetchall()
        return [JournalEvent(r[0], r[1], JournalStatus(r[2]), json.loads(r[3])) for r in rows]

    def fills(
        self,
        *,
        cl_ord_id: str | None = None,
        order_id: str | None = None,
        account: str | None = None,
        product: str | None = None,
    ) -> list[JournalFill]:
        """Stored fills (Decimal ``qty`` / ``price`` / ``fee``), oldest first, filtered by what is given."""
        where: list[str] = []
        params: list[Any] = []
        _add_equals(where, params, cl_ord_id=cl_ord_id, order_id=order_id, account=account, product=product)
        sql = f"SELECT {_FILL_COLUMNS} FROM krakenkit_fills" + _where_sql(where)  # noqa: S608 - column names are ours
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY recorded_at, fill_id", params).fetchall()
        return [_row_to_fill(r) for r in rows]

    def fills_of(self, cl_ord_id: str) -> list[JournalFill]:
        """The fills of one journal entry: linked by its client id, or carrying its Kraken order id (same
        account). Raises :class:`JournalError` for an unknown client id."""
        entry = self.get(cl_ord_id)
        sql = f"SELECT {_FILL_COLUMNS} FROM krakenkit_fills WHERE account = ? AND (cl_ord_id = ?"  # noqa: S608
        params: list[Any] = [entry.account, cl_ord_id]
        if entry.order_id:
            sql += " OR order_id = ?"
            params.append(entry.order_id)
        with self._lock:
            rows = self._db.execute(sql + ") ORDER BY recorded_at, fill_id", params).fetchall()
        return [_row_to_fill(r) for r in rows]

    def counts(self, *, account: str | None = None) -> dict[str, int]:
        where: list[str] = []
        params: list[Any] = []
        _add_equals(where, params, account=account)
        sql = "SELECT status, COUNT(*) FROM krakenkit_orders" + _where_sql(where)  # noqa: S608
        with self._lock:
            rows = self._db.execute(sql + " GROUP BY status", params).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    # --- internals -------------------------------------------------------------------------------------

    def _event(self, cl_ord_id: str, at: float, status: JournalStatus, detail: Mapping[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO krakenkit_order_events (cl_ord_id, at, status, detail) VALUES (?, ?, ?, ?)",
            (cl_ord_id, at, status.value, _dumps(dict(detail))),
        )

    def _update(self, cl_ord_id: str, sets: Mapping[str, Any]) -> None:
        cols = ", ".join(f"{k} = ?" for k in sets)
        self._db.execute(
            f"UPDATE krakenkit_orders SET {cols} WHERE cl_ord_id = ?",  # noqa: S608 - column names are ours
            (*sets.values(), cl_ord_id),
        )

    def _transition(
        self,
        cl_ord_id: str,
        new: JournalStatus,
        extra: Mapping[str, Any],
        *,
        detail: Mapping[str, Any] | None = None,
        attempts_inc: bool = False,
        now: float | None = None,
    ) -> JournalEntry:
        now = self._clock() if now is None else now
        with self._lock, self._db.transaction():
            self._transition_locked(cl_ord_id, new, extra, detail=detail, attempts_inc=attempts_inc, now=now)
        return self.get(cl_ord_id)

    def _transition_locked(
        self,
        cl_ord_id: str,
        new: JournalStatus,
        extra: Mapping[str, Any],
        *,
        detail: Mapping[str, Any] | None = None,
        attempts_inc: bool = False,
        now: float,
    ) -> None:
        row = self._lock_entry_row(cl_ord_id, "status, attempts, filled_qty, exchange_state, account, order_id")
        if row is None:
            raise JournalError(f"no journal entry for client order id {cl_ord_id!r}")
        old = JournalStatus(row[0])
        if new not in _ALLOWED[old]:
            raise JournalError(f"journal entry {cl_ord_id}: illegal change {old.value} -> {new.value}")
        if old in (S.NOT_PLACED, S.REJECTED, S.ABANDONED) and new is S.ACKNOWLEDGED:
            log.error("journal entry %s was %s but Kraken has the order: now acknowledged", cl_ord_id, old.value)
        sets: dict[str, Any] = {"status": new.value, "updated_at": now, **extra}
        # what fills / the stream already showed wins over an older answer (an ack that was slower than a fill)
        if "filled_qty" in sets and Decimal(sets["filled_qty"]) < Decimal(row[2] or "0"):
            del sets["filled_qty"]
        if sets.get("exchange_state") not in (None, *FINAL_EXCHANGE_STATES) and row[3] in FINAL_EXCHANGE_STATES:
            del sets["exchange_state"]
        if attempts_inc:
            sets["attempts"] = int(row[1]) + 1
        self._update(cl_ord_id, sets)
        ev: dict[str, Any] = {
            k: v
            for k, v in sets.items()
            if k in ("order_id", "error", "exchange_state", "gate_wait", "deadline") and k in extra
        }
        if attempts_inc:
            ev["attempt"] = sets["attempts"]
        if old is not new:
            ev["from"] = old.value
        if detail:
            ev.update(detail)
        self._event(cl_ord_id, now, new, ev)
        oid = extra.get("order_id")
        if oid and not row[5] and self._link_orphans_locked(cl_ord_id, row[4], oid):
            self._evidence_locked(cl_ord_id, now, detail={"fills_linked_by": "order_id"})


class AsyncOrderJournal:
    """The journal for asyncio code: the same methods, each run in a worker thread (``asyncio.to_thread``)."""

    def __init__(self, journal: OrderJournal) -> None:
        self.sync = journal

    async def record_intent(self, **kwargs: Any) -> JournalEntry:
        return await asyncio.to_thread(lambda: self.sync.record_intent(**kwargs))

    async def mark_sent(
        self, cl_ord_id: str, *, owner: str | None = None, lease: float | None = None, deadline: str | None = None
    ) -> JournalEntry:
        return await asyncio.to_thread(self.sync.mark_sent, cl_ord_id, owner=owner, lease=lease, deadline=deadline)

    async def mark_acknowledged(self, cl_ord_id: str, order_id: str | None, **kwargs: Any) -> JournalEntry:
        return await asyncio.to_thread(lambda: self.sync.mark_acknowledged(cl_ord_id, order_id, **kwargs))

    async def mark_rejected(self, cl_ord_id: str, error: str, **kwargs: Any) -> JournalEntry:
        return await asyncio.to_thread(lambda: self.sync.mark_rejected(cl_ord_id, error, **kwargs))

    async def mark_unknown(self, cl_ord_id: str, error: str, **kwargs: Any) -> JournalEntry:
        return await asyncio.to_thread(lambda: self.sync.mark_unknown(cl_ord_id, error, **kwargs))

    async def mark_not_placed(self, cl_ord_id: str, reason: str, **kwargs: Any) -> JournalEntry:
        return await asyncio.to_thread(lambda: self.sync.mark_not_placed(cl_ord_id, reason, **kwargs))

    async def mark_not_sent(self, cl_ord_id: str, reason: str, **kwargs: Any) -> JournalEntry:
        return await asyncio.to_thread(lambda: self.sync.mark_not_sent(cl_ord_id, reason, **kwargs))

    async def mark_abandoned(self, cl_ord_id: str, reason: str = "intent written, never sent") -> JournalEntry:
        return await asyncio.to_thread(self.sync.mark_abandoned, cl_ord_id, reason)

    async def update_exchange_state(self, cl_ord_id: str, exchange_state: str, **kwargs: Any) -> JournalEntry | None:
        return await asyncio.to_thread(lambda: self.sync.update_exchange_state(cl_ord_id, exchange_state, **kwargs))

    async def record_fill(self, fill: JournalFill) -> bool:
        return await asyncio.to_thread(self.sync.record_fill, fill)

    async def record_order_update(self, **kwargs: Any) -> JournalEntry | None:
        return await asyncio.to_thread(lambda: self.sync.record_order_update(**kwargs))

    def attach(self, state: AccountState, **kwargs: Any) -> FillRecorder:
        """See :meth:`OrderJournal.attach` (does not block: the writes run on the recorder's own thread)."""
        return self.sync.attach(state, **kwargs)

    async def claim_unresolved(self, **kwargs: Any) -> list[JournalEntry]:
        return await asyncio.to_thread(lambda: self.sync.claim_unresolved(**kwargs))

    async def get(self, cl_ord_id: str) -> JournalEntry:
        return await asyncio.to_thread(self.sync.get, cl_ord_id)

    async def find(self, cl_ord_id: str) -> JournalEntry | None:
        return await asyncio.to_thread(self.sync.find, cl_ord_id)

    async def entries(self, **kwargs: Any) -> list[JournalEntry]:
        return await asyncio.to_thread(lambda: self.sync.entries(**kwargs))

    async def unresolved(self, **kwargs: Any) -> list[JournalEntry]:
        return await asyncio.to_thread(lambda: self.sync.unresolved(**kwargs))

    async def fills(self, **kwargs: Any) -> list[JournalFill]:
        return await asyncio.to_thread(lambda: self.sync.fills(**kwargs))

    async def fills_of(self, cl_ord_id: str) -> list[JournalFill]:
        return await asyncio.to_thread(self.sync.fills_of, cl_ord_id)

    async def close(self, **kwargs: Any) -> None:
        await asyncio.to_thread(lambda: self.sync.close(**kwargs))

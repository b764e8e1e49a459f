"""The OrderJournal schema of the first release (schema version 1), for the migration tests.

Shared by the SQLite tests (tests/unit/toolkit) and the PostgreSQL tests (tests/integration/toolkit), so the
old schema is written down once: a journal written by the first release must open and migrate in place.
"""

from __future__ import annotations

# What the first release created on SQLite, verbatim.
V1_SCHEMA_SQLITE = """
CREATE TABLE IF NOT EXISTS krakenkit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS krakenkit_orders (
    cl_ord_id TEXT PRIMARY KEY, account TEXT NOT NULL, product TEXT NOT NULL, via TEXT NOT NULL,
    symbol TEXT NOT NULL, side TEXT NOT NULL, order_type TEXT NOT NULL, quantity TEXT NOT NULL, price TEXT,
    params TEXT NOT NULL, status TEXT NOT NULL, order_id TEXT, exchange_state TEXT,
    filled_qty TEXT NOT NULL DEFAULT '0', error TEXT, attempts INTEGER NOT NULL DEFAULT 0, owner TEXT,
    claimed_until REAL, created_at REAL NOT NULL, updated_at REAL NOT NULL, sent_at REAL, resolved_at REAL
);
CREATE INDEX IF NOT EXISTS krakenkit_orders_status ON krakenkit_orders (account, product, status);
CREATE INDEX IF NOT EXISTS krakenkit_orders_order_id ON krakenkit_orders (order_id);
CREATE TABLE IF NOT EXISTS krakenkit_order_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cl_ord_id TEXT NOT NULL, at REAL NOT NULL, status TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS krakenkit_order_events_cl ON krakenkit_order_events (cl_ord_id);
CREATE TABLE IF NOT EXISTS krakenkit_fills (
    account TEXT NOT NULL, fill_id TEXT NOT NULL, product TEXT NOT NULL, order_id TEXT, cl_ord_id TEXT,
    symbol TEXT, side TEXT, qty TEXT NOT NULL, price TEXT NOT NULL, fee TEXT, fee_asset TEXT, ts REAL,
    raw TEXT NOT NULL, recorded_at REAL NOT NULL, PRIMARY KEY (account, fill_id)
);
INSERT INTO krakenkit_meta (key, value) VALUES ('schema_version', '1');
"""

# What it created on PostgreSQL: the same, with the two substitutions the first release made.
V1_SCHEMA_PG = V1_SCHEMA_SQLITE.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY").replace(
    " REAL", " DOUBLE PRECISION"
)

"""Fixtures for the toolkit integration tests: a fast sandbox, and PostgreSQL for the journal tests.

PostgreSQL comes from ``KRAKENKIT_TEST_PG_DSN`` (``eval "$(.ci/postgres.sh)"``). Without it the first test that
needs it starts a throwaway server with ``.ci/postgres.sh`` and it is stopped at the end of the session. Only
when no server can be started are the PostgreSQL tests skipped, with a loud warning.
"""

from __future__ import annotations

import os
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from krakenkit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[3]
PG_SCRIPT = ROOT / ".ci" / "postgres.sh"


# --- sandbox ---------------------------------------------------------------------------------------------------


@pytest.fixture
def sandbox_seed() -> int:
    """Override in a module to run its sandbox on another seed."""
    return 1


@pytest.fixture
def sandbox(sandbox_seed: int) -> Iterator[Sandbox]:
    with Sandbox(seed=sandbox_seed, rate_limits=False, market=False, fast_mode=True) as sb:
        yield sb


# --- PostgreSQL ------------------------------------------------------------------------------------------------


def _start_server() -> tuple[str | None, str | None, str]:
    try:
        proc = subprocess.run(["bash", str(PG_SCRIPT)], capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, None, f"could not run {PG_SCRIPT}: {exc!r}"
    env: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export ") :].split("=", 1)
            env[k] = v.strip("'\"")
    if proc.returncode != 0 or "KRAKENKIT_TEST_PG_DSN" not in env:
        return None, None, f".ci/postgres.sh failed (exit {proc.returncode}): {proc.stderr[-500:]}"
    return env["KRAKENKIT_TEST_PG_DSN"], env.get("KRAKENKIT_TEST_PG_DIR"), ""


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    dsn = os.environ.get("KRAKENKIT_TEST_PG_DSN")
    started_dir = None
    if not dsn:
        dsn, started_dir, why = _start_server()
        if not dsn:
            msg = (
                "!!! PostgreSQL journal tests SKIPPED: no server. Set KRAKENKIT_TEST_PG_DSN or make "
                f".ci/postgres.sh work. Reason: {why}"
            )
            warnings.warn(msg, stacklevel=1)
            pytest.skip(msg)
    try:
        yield dsn
    finally:
        if started_dir:
            subprocess.run(["bash", str(PG_SCRIPT), "stop", started_dir], capture_output=True, timeout=60)


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

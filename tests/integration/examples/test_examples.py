"""Every script in examples/ runs against the sandbox (a subprocess each) and says what it showed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

EXPECTED = {
    "client_order_ids.py": ["Spot order placed, cl_ord_id:", "Futures order placed, cliOrdId:", "OK client order ids"],
    "reconnect_backfill.py": ["trading paused", "backfill:", "resumed trading after backfill", "OK reconnect handled"],
    "reconnect_gate_backfill.py": [
        "[gate] CLOSED",
        "[gate] backfill done",
        "[gate] OPEN again",
        "fills in AccountState: 3, in the journal: 3 -> OK",
        "done",
    ],
    "rollout_1_public_rest.py": ["system status: online", "OK layer 1 public REST"],
    "rollout_2_public_ws.py": ["book ready: best bid", "reconnected: subscriptions restored", "OK layer 2 public WS"],
    "rollout_3_private_ws.py": ["authenticated: spotPrivateV2", "balances snapshot:", "OK layer 3 private WS"],
    "rollout_4_validated_orders.py": ["txid: none (not placed)", "cancelled: cancelled", "OK layer 4 validated orders"],
    "rollout_5_small_live_trade.py": [
        "filled 0.00010000 on the stream; REST: closed",
        "OK layer 5 small live trade reconciled",
    ],
    "symbol_conventions.py": [
        "to_rest('BTC/USD')   = XBTUSD",
        "perpetual_for('BTC/USD') = PF_XBTUSD",
        "refused 'BTC/USD' for spot_rest",
        "OK symbol conventions",
    ],
    "env_credentials.py": [
        "api_secret=Secret('***')",
        "missing: API_FUTURES_KEY and API_FUTURES_SECRET",
        "OK env credentials",
    ],
    "proxy_options.py": ["proxy: none (direct)", "WebSocket connected", "OK proxy options"],
    "rate_limits.py": ["no rate-limit error", "costs [('pair:XBTUSD', 8.0)]", "OK rate limits"],
}

SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def test_every_example_has_expectations() -> None:
    assert SCRIPTS == sorted(EXPECTED), "add the new example to EXPECTED"


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "KRAKENKIT_LIVE",
            "KRAKENKIT_PROXY",
            "API_SPOT_KEY",
            "API_SPOT_SECRET",
            "API_FUTURES_KEY",
            "API_FUTURES_SECRET",
        )
    }
    env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"
    return env


@pytest.fixture(scope="module")
def started() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """All examples start at once (each with its own sandbox on its own port): the module takes as
    long as the slowest script, not the sum."""
    procs = {
        script: subprocess.Popen(
            [sys.executable, str(EXAMPLES / script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env(),
            cwd=EXAMPLES,
        )
        for script in SCRIPTS
    }
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_against_the_sandbox(script: str, started: dict[str, subprocess.Popen[str]]) -> None:
    proc = started[script]
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"{script} did not finish within 60 s:\n{output}")
    assert proc.returncode == 0, output
    for expected in EXPECTED[script]:
        assert expected in output, f"{expected!r} not in output of {script}:\n{output}"
    assert "Traceback" not in output

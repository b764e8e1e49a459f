"""``krakenkit rollout``: subprocess and in-process, PASS path and a failing layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from krakenkit.cli.main import main
from krakenkit.sandbox import Sandbox

PYTHON = sys.executable


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("API_SPOT_KEY", "API_SPOT_SECRET", "API_FUTURES_KEY", "API_FUTURES_SECRET"):
        env.pop(var, None)
    return env


@pytest.fixture()
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=5) as sb:
        yield sb


def test_rollout_subprocess_json_passes() -> None:
    proc = subprocess.run(
        [PYTHON, "-m", "krakenkit.cli", "rollout", "--json"], capture_output=True, text=True, timeout=60, env=_env()
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["command"] == "rollout"
    assert [layer["status"] for layer in doc["layers"]] == ["PASS"] * 5
    assert [layer["name"] for layer in doc["layers"]] == [
        "public REST",
        "public WS",
        "private WS",
        "validated orders",
        "small live trade",
    ]
    checks = {c["name"]: c for layer in doc["layers"] for c in layer["checks"]}
    assert "reconnected" in checks["forced reconnect"]["detail"]
    assert "reconcile" in checks["market buy, fill on stream, reconciled"]["detail"]
    assert all(c["seconds"] >= 0 for c in checks.values())
    assert doc["seconds"] < 60


def test_rollout_in_process_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rollout"])
    out = capsys.readouterr().out
    assert code == 0, out
    for n, name in enumerate(["public REST", "public WS", "private WS", "validated orders", "small live trade"], 1):
        assert f"PASS  layer {n} {name} (" in out
    assert "[  ok] server time" in out and " ms)" in out
    assert "[  ok] Spot validate=True: accepted, not placed" in out
    assert "RESULT: PASS  (5/5 layers passed in " in out
    assert "against the sandbox at http://127.0.0.1:" in out
    assert "(a local simulated exchange started for this run: no real money, no credentials needed)" in out
    assert "next: the same against Kraken: krakenkit rollout --live" in out


def test_failing_layer_fails_the_command_in_process(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """No WebSocket token can be had: layer 3 fails, 4 and 5 are not run, exit code 1."""
    sandbox.faults.fail_next("/0/private/GetWebSocketsToken", n=1000, error="EGeneral:Permission denied")
    code = main(["rollout", "--sandbox-url", sandbox.rest_url, "--timeout", "30"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "PASS  layer 1 public REST" in out and "PASS  layer 2 public WS" in out
    assert "(a running local sandbox: no real money, no credentials needed)" in out
    # the refused token is named, at once: not a 30 s "no answer" while the client keeps retrying
    assert "[FAIL] authenticate: PermissionDeniedError: EGeneral:Permission denied" in out
    assert "no answer within" not in out
    assert "FAIL  layer 3 private WS" in out
    assert "SKIP  layer 4 validated orders: an earlier layer failed" in out
    assert "SKIP  layer 5 small live trade: an earlier layer failed" in out
    assert "RESULT: FAIL  (2/5 layers passed in " in out
    assert "failed at layer 3 private WS, check 'authenticate': PermissionDeniedError" in out
    assert sandbox.orders(sandbox.create_key()[0]) == []


def test_failing_layer_subprocess_json(sandbox: Sandbox) -> None:
    """Maintenance: the system-status check of layer 1 fails; nothing after it runs."""
    sandbox.faults.set_system_status("maintenance")
    proc = subprocess.run(
        [PYTHON, "-m", "krakenkit.cli", "rollout", "--json", "--sandbox-url", sandbox.rest_url],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False
    assert [layer["status"] for layer in doc["layers"]] == ["FAIL", "SKIP", "SKIP", "SKIP", "SKIP"]
    failed = [c for c in doc["layers"][0]["checks"] if c["status"] == "FAIL"]
    assert failed[0]["name"] == "system status" and "maintenance" in failed[0]["detail"]
    assert doc["passed"] == 0
    assert doc["first_failure"]["layer"] == 1 and doc["first_failure"]["check"] == "system status"
    assert "maintenance" in doc["first_failure"]["detail"]


def test_layer_times_measure_the_checks(capsys: pytest.CaptureFixture[str]) -> None:
    """A layer's time is its checks' time plus little (imports and TLS setup happen before the clock)."""
    code = main(["rollout", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["first_failure"] is None and doc["passed"] == 5
    for layer in doc["layers"]:
        in_checks = sum(c["seconds"] for c in layer["checks"])
        assert layer["seconds"] - in_checks < 0.5, layer


def test_unexpected_error_in_a_layer_is_a_fail_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from krakenkit.cli import rollout

    async def broken(self: object, layer: object) -> None:
        raise AttributeError("something is missing")

    monkeypatch.setattr(rollout.Rollout, "layer_public_ws", broken)
    assert main(["rollout"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] setup: AttributeError: something is missing" in out
    assert "failed at layer 2 public WS, check 'setup': AttributeError: something is missing" in out


def test_until_stops_early(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rollout", "--until", "1"]) == 0
    out = capsys.readouterr().out
    assert "PASS  layer 1 public REST" in out and "SKIP  layer 2 public WS: --until 1" in out

"""``krakenkit-sandbox`` (console script of the krakenkit-sandbox distribution) and its ``python -m`` forms."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from krakenkit import DerivativesClient, Environment, SpotClient

SCRIPT = Path(sys.executable).with_name("krakenkit-sandbox")

pytestmark = pytest.mark.filterwarnings("ignore::krakenkit.rest.derivatives.KrakenDeprecationWarning")


def test_console_script_prints_urls_and_working_keys_then_stops_on_stdin_eof() -> None:
    assert SCRIPT.exists(), "krakenkit-sandbox console script not installed"
    proc = subprocess.Popen(
        [str(SCRIPT), "--port", "0", "--no-market", "--seed", "4", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        doc = json.loads(proc.stdout.readline())
        assert doc["pid"] == proc.pid and doc["rest"].startswith("http://127.0.0.1:")
        assert doc["ws"]["spotPublicV2"] == doc["rest"].replace("http", "ws") + "/v2"
        env = Environment(spot_rest_url=doc["rest"], futures_rest_url=doc["rest"], ws_urls=doc["ws"], name="sandbox")
        spot = doc["spot_key"]
        with SpotClient(spot["api_key"], spot["api_secret"], environment=env) as client:
            assert client.get_account_balance()["ZUSD"] > Decimal(0)
        fut = doc["futures_key"]
        with DerivativesClient(fut["api_key"], fut["api_secret"], environment=env) as dclient:
            assert dclient.get_accounts().available_margin() > Decimal(0)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


@pytest.mark.parametrize(
    ("argv", "prog"),
    [
        ([str(SCRIPT)], "krakenkit-sandbox"),
        ([sys.executable, "-m", "krakenkit_sandbox"], "python -m krakenkit_sandbox"),
        ([sys.executable, "-m", "krakenkit.sandbox"], "python -m krakenkit.sandbox"),
    ],
)
def test_every_form_takes_the_same_flags(argv: list[str], prog: str) -> None:
    proc = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: {prog} ")
    for flag in ("--port", "--host", "--seed", "--fast", "--no-market", "--no-rate-limits", "--exit-on-stdin-eof"):
        assert flag in proc.stdout

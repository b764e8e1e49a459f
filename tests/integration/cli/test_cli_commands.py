"""ticker / book / balance / order / doctor / sandbox against the sandbox; exit codes; --json."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from krakenkit._core.credentials import Credentials
from krakenkit._core.secrets import Secret
from krakenkit.cli.doctor import key_permissions, run_doctor
from krakenkit.cli.main import main
from krakenkit.cli.output import Output
from krakenkit.cli.target import Target
from krakenkit.sandbox import Sandbox

PYTHON = sys.executable


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("API_SPOT_KEY", "API_SPOT_SECRET", "API_FUTURES_KEY", "API_FUTURES_SECRET"):
        monkeypatch.delenv(var, raising=False)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_ticker_json_any_notation(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "ticker", "BTC/USD", "XXBTZUSD", "DOGE/USD", "--sandbox")
    assert code == 0
    assert [t["symbol"] for t in doc["tickers"]] == ["BTC/USD", "BTC/USD", "DOGE/USD"]
    assert [t["rest"] for t in doc["tickers"]] == ["XBTUSD", "XBTUSD", "XDGUSD"]
    for t in doc["tickers"]:
        assert Decimal(t["bid"]) < Decimal(t["ask"])


def test_unknown_symbol_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ticker", "FOO/BAR", "--sandbox"]) == 2
    assert "unknown Spot pair 'FOO/BAR'" in capsys.readouterr().err


def test_book_once_and_updates(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "book", "BTC/USD", "--once", "--sandbox")
    assert code == 0 and doc["verified"] is True and doc["updates"] == 0
    assert len(doc["bids"]) == 10 and Decimal(doc["bids"][0][0]) < Decimal(doc["asks"][0][0])
    code, doc = run_json(capsys, "book", "XBTUSD", "--updates", "3", "--sandbox")
    assert code == 0 and doc["updates"] == 3 and doc["symbol"] == "BTC/USD"
    assert main(["book", "ETH/USD", "--once", "--sandbox"]) == 0
    text = capsys.readouterr().out
    assert "ETH/USD  depth 10" in text and "checksum ok" in text and "spread" in text


def test_balance(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "balance", "--futures", "--sandbox")
    assert code == 0
    assert Decimal(doc["spot"]["ZUSD"]) == Decimal(100000) and Decimal(doc["spot"]["XXBT"]) == 10
    assert "accounts" in doc["futures"]


def test_order_validates_unless_execute(capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(seed=2) as sb:
        code, doc = run_json(
            capsys, "order", "buy", "0.001", "BTC/USD", "--price", "1000", "--sandbox-url", sb.rest_url
        )
        assert code == 0 and doc["validated_only"] is True and doc["txid"] == []
        assert "buy 0.00100000 XBTUSD @ limit 1000" in doc["descr"]
        code, doc = run_json(
            capsys,
            "order",
            "buy",
            "0.001",
            "XBTUSD",
            "--price",
            "1000",
            "--execute",
            "--cl-ord-id",
            "cli-test-1",
            "--sandbox-url",
            sb.rest_url,
        )
        assert code == 0 and doc["validated_only"] is False and len(doc["txid"]) == 1
    assert main(["order", "buy", "0.001", "BTC/USD", "--sandbox"]) == 2  # limit without price
    assert "--price" in capsys.readouterr().err


def test_live_private_command_without_credentials_names_the_variables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["order", "buy", "0.001", "XBTUSD", "--price", "1", "--live"]) == 2
    assert "API_SPOT_KEY" in capsys.readouterr().err


def test_doctor_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = run_json(capsys, "doctor", "--sandbox")
    assert code == 0 and doc["ok"] is True
    by_name = {c["name"]: c for c in doc["checks"]}
    assert by_name["clock skew vs Kraken"]["status"] == "PASS"
    assert by_name["Spot key permissions (GetApiKeyInfo)"]["status"] == "PASS"
    assert "withdraw" not in by_name["Spot key permissions (GetApiKeyInfo)"]["detail"]


def test_doctor_warns_when_a_trading_key_can_withdraw() -> None:
    async def scenario() -> tuple[bool, list]:
        async with Sandbox(seed=4) as sb:
            key, secret = sb.create_key(permissions=["query_funds", "trade", "cancel", "withdraw"])
            target = Target("sandbox", sb.environment, sandbox=sb, spot=Credentials(key, Secret(secret)))
            return await run_doctor(target, Output(json_mode=True))

    ok, checks = asyncio.run(scenario())
    perm = next(c for c in checks if c.name.startswith("Spot key permissions"))
    assert perm.status == "WARN" and "WITHDRAW" in perm.detail
    assert ok  # a warning, not a failure
    assert key_permissions({"permissions": {"withdraw": True, "trade": False}}) == {"withdraw"}


def test_sandbox_command_foreground() -> None:
    proc = subprocess.Popen(
        [PYTHON, "-m", "krakenkit.cli", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("ready:"):
                break
        text = "".join(lines)
        assert "ready: http://127.0.0.1:" in text, text
        assert "api_key" in text and "api_secret" in text and "spotPublicV2" in text
        url = text.split("ready: ", 1)[1].split()[0]
        assert main(["ticker", "BTC/USD", "--sandbox-url", url]) == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0

"""sandbox/README.md cannot rot: its ``# test: run`` blocks (a ``sh`` block with curl and openssl, a plain
``websockets`` script) run against a real sandbox, as a user of another client would run them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from krakenkit_sandbox import Sandbox

README = Path(__file__).resolve().parents[3] / "sandbox" / "README.md"
FENCE = re.compile(r"^```(python|sh)\n(.*?)^```", re.DOTALL | re.MULTILINE)
MARKER = "# test: run\n"


def blocks(language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(README.read_text(encoding="utf-8")) if lang == language]


def run_blocks(language: str) -> list[str]:
    return [code for code in blocks(language) if code.startswith(MARKER)]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=3, market=False) as sb:
        yield sb


def _env(sb: Sandbox) -> dict[str, str]:
    return {**os.environ, "KRAKEN_SANDBOX_URL": sb.rest_url}


def test_the_readme_keeps_its_checked_programs() -> None:
    assert len(run_blocks("sh")) == 1 and len(run_blocks("python")) == 1


@pytest.mark.skipif(not all(shutil.which(t) for t in ("curl", "openssl", "od", "base64")), reason="curl/openssl")
def test_the_curl_example_makes_a_public_and_a_signed_private_call(sandbox: Sandbox) -> None:
    (code,) = run_blocks("sh")
    proc = subprocess.run(["bash", "-e", "-c", code], env=_env(sandbox), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ticker, balance = (json.loads(line) for line in proc.stdout.splitlines() if line.strip())
    assert ticker["error"] == [] and "XXBTZUSD" in ticker["result"]
    assert balance == {"error": [], "result": {"XXBT": "10.0000000000", "ZUSD": "100000.0000"}}
    assert [r["errors"] for r in sandbox.requests if r["path"] == "/0/private/Balance"] == [[]]


def test_the_websockets_script_reads_the_book_and_places_an_order(sandbox: Sandbox) -> None:
    (code,) = run_blocks("python")
    proc = subprocess.run([sys.executable, "-c", code], env=_env(sandbox), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("best bid: {") and lines[1].startswith("placed: True ")
    order_id = lines[1].split()[-1]
    placed = [o for o in sandbox.placed_orders() if o["order_id"] == order_id]
    assert len(placed) == 1 and placed[0]["side"] == "buy" and placed[0]["symbol"] in ("XBT/USD", "BTC/USD")


@pytest.mark.parametrize(("module", "needle"), [("kraken", "from kraken."), ("ccxt", "import ccxt")])
def test_the_other_clients_examples_work_where_those_clients_are_installed(
    sandbox: Sandbox, module: str, needle: str
) -> None:
    """python-kraken-sdk and ccxt are not krakenkit's dependencies: this runs only where they are installed."""
    pytest.importorskip(module)
    (code,) = [c for c in blocks("python") if needle in c]
    ws_base = sandbox.rest_url.replace("http://", "ws://", 1)
    code = code.replace("ws://127.0.0.1:8787", ws_base).replace("http://127.0.0.1:8787", sandbox.rest_url)
    spot_key, spot_secret = sandbox.create_key()
    fut_key, fut_secret = sandbox.create_futures_key()
    names = {"API_KEY": spot_key, "API_SECRET": spot_secret, "FUTURES_KEY": fut_key, "FUTURES_SECRET": fut_secret}
    exec(compile(code, f"README.md ({module})", "exec"), dict(names))
    placed = sandbox.placed_orders()
    assert {o["product"] for o in placed if o["api_key"] in (spot_key, fut_key)} == {"spot", "derivatives"}

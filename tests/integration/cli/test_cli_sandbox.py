"""``krakenkit sandbox``: the flags reach ``serve()`` and change what the running sandbox does."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets

import krakenkit_sandbox
from krakenkit._core.ratelimit import NoRateLimit
from krakenkit.cli.main import main
from krakenkit.rest import SpotClient
from krakenkit_sandbox import Sandbox

PYTHON = sys.executable


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], {"seed": 1, "fast_mode": False, "market": True, "rate_limits": True}),
        (
            ["--fast", "--no-market", "--no-rate-limits", "--seed", "9"],
            {"seed": 9, "fast_mode": True, "market": False, "rate_limits": False},
        ),
        (["--no-market"], {"seed": 1, "fast_mode": False, "market": False, "rate_limits": True}),
    ],
)
def test_flags_are_passed_to_serve(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flags: list[str], expected: dict[str, Any]
) -> None:
    calls: list[dict[str, Any]] = []

    def fake_serve(
        port: int, seed: int = 1, *, on_ready: Callable[[Sandbox], None] | None = None, **kwargs: Any
    ) -> None:
        calls.append({"port": port, "seed": seed, **kwargs})
        with Sandbox(
            seed=seed, market=kwargs["market"], rate_limits=kwargs["rate_limits"], fast_mode=kwargs["fast_mode"]
        ) as sb:
            assert on_ready is not None
            on_ready(sb)

    monkeypatch.setattr(krakenkit_sandbox, "serve", fake_serve)
    assert main(["sandbox", "--port", "0", *flags, "--json"]) == 0
    assert calls == [
        {
            "port": 0,
            "seed": expected["seed"],
            "host": "127.0.0.1",
            "fast_mode": expected["fast_mode"],
            "market": expected["market"],
            "rate_limits": expected["rate_limits"],
        }
    ]
    doc = json.loads(capsys.readouterr().out)
    assert doc["ready"] is True and doc["settings"] == expected
    assert doc["ws_urls"]["spotPublicV2"].endswith("/v2")


def test_human_output_names_the_settings(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def fake_serve(
        port: int, seed: int = 1, *, on_ready: Callable[[Sandbox], None] | None = None, **kwargs: Any
    ) -> None:
        with Sandbox(seed=seed, market=False) as sb:
            assert on_ready is not None
            on_ready(sb)

    monkeypatch.setattr(krakenkit_sandbox, "serve", fake_serve)
    assert main(["sandbox", "--port", "0", "--fast", "--no-rate-limits", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "Settings: seed 3, fast mode ON (synthetic book streams), simulated market ON, rate limits OFF" in out
    assert "ready: http://127.0.0.1:" in out and out.rstrip().endswith("sandbox stopped")


def test_without_the_sandbox_distribution_the_command_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "krakenkit_sandbox", None)  # import krakenkit_sandbox -> ModuleNotFoundError
    assert main(["sandbox", "--port", "0", "--json"]) == 2
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["ok"] is False and doc["error"] == "SandboxNotInstalled"
    assert "pip install krakenkit-sandbox" in doc["message"] and "pip install ./sandbox" in doc["message"]
    assert "pip install krakenkit-sandbox" in captured.err


def test_without_the_sandbox_distribution_an_in_process_sandbox_target_exits_with_the_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "krakenkit_sandbox", None)
    with pytest.raises(SystemExit) as exited:
        main(["ticker", "BTC/USD", "--sandbox"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "pip install krakenkit-sandbox" in err and "--sandbox-url" in err


def test_the_reexport_names_the_distribution_when_the_sandbox_is_absent() -> None:
    script = """
import sys
sys.modules["krakenkit_sandbox"] = None
import krakenkit, krakenkit.sandbox
for get in (lambda: krakenkit.sandbox.Sandbox, lambda: krakenkit.Sandbox):
    try:
        get()
    except ImportError as exc:
        assert "pip install krakenkit-sandbox" in str(exc) and exc.name == "krakenkit_sandbox", exc
    else:
        raise AssertionError("no ImportError")
try:
    from krakenkit.sandbox import Sandbox
except ImportError as exc:
    assert "pip install ./sandbox" in str(exc), exc
else:
    raise AssertionError("no ImportError")
print("ok")
"""
    proc = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_the_reexport_is_the_sandbox_distribution() -> None:
    import krakenkit
    import krakenkit.sandbox

    assert krakenkit.sandbox.Sandbox is Sandbox and krakenkit.Sandbox is Sandbox
    assert krakenkit.sandbox.FaultInjector is krakenkit_sandbox.FaultInjector
    assert krakenkit.sandbox.describe is krakenkit_sandbox.describe


def _read_json_document(proc: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, Any]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.rstrip("\n") == "}":  # the document is indented: its last line is a lone brace
            return json.loads("".join(lines))  # type: ignore[no-any-return]
    raise AssertionError("no JSON document from `krakenkit sandbox --json`: " + "".join(lines))


async def _count_book_updates(url: str, want: int, timeout: float) -> int:
    seen = 0
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(
            json.dumps({"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 10}})
        )

        async def read() -> None:
            nonlocal seen
            async for frame in ws:
                if '"channel":"book"' in str(frame).replace(" ", "") and '"update"' in str(frame):
                    seen += 1
                    if seen >= want:
                        return

        await asyncio.wait_for(read(), timeout)
    return seen


def test_fast_no_market_no_limits_seed_in_a_real_process() -> None:
    """The flags change the running sandbox: fast book stream, no rate limits, seeded keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "krakenkit.cli",
            "sandbox",
            "--port",
            "0",
            "--fast",
            "--no-market",
            "--no-rate-limits",
            "--seed",
            "7",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        doc = _read_json_document(proc)
        assert doc["settings"] == {"seed": 7, "fast_mode": True, "market": False, "rate_limits": False}

        # --seed: the same seed makes the same first key
        printed_key = re.search(r"Spot key:\s+api_key\s+=\s+(\S+)", doc["describe"])
        assert printed_key is not None
        with Sandbox(seed=7, market=False) as same_seed:
            assert same_seed.create_key()[0] == printed_key.group(1)

        # --fast: a book subscription gets a synthetic stream (no market runs, so otherwise ~nothing)
        n = asyncio.run(_count_book_updates(doc["ws_urls"]["spotPublicV2"], 2000, timeout=20))
        assert n >= 2000

        # --no-rate-limits: 40 quick private calls (the intermediate tier allows 20) all succeed
        made = httpx.post(doc["rest_url"] + "/_sandbox/keys", json={"kind": "spot"}, timeout=10).json()
        with SpotClient(
            made["api_key"], made["api_secret"], environment=_env_of(doc), rate_limiter=NoRateLimit(), max_retries=0
        ) as spot:
            for _ in range(40):
                spot.get_account_balance()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def _env_of(doc: dict[str, Any]) -> Any:
    from krakenkit.cli.target import sandbox_environment

    return sandbox_environment(doc["rest_url"])


def test_rate_limits_are_enforced_by_default() -> None:
    """The counterpart of --no-rate-limits: the same 40 calls hit EAPI:Rate limit exceeded."""
    from krakenkit import RateLimitError

    with Sandbox(seed=7, market=False) as sb:
        key, secret = sb.create_key()
        with (
            SpotClient(key, secret, environment=sb.environment, rate_limiter=NoRateLimit(), max_retries=0) as spot,
            pytest.raises(RateLimitError),
        ):
            for _ in range(40):
                spot.get_account_balance()

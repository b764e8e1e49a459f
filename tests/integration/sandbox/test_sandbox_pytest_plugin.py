"""The ``kraken_sandbox`` fixture reaches user test suites through krakenkit-sandbox's pytest11 entry point,
and a pytest session that does not use it imports neither aiohttp nor the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path

from krakenkit.rest import SpotClient
from krakenkit_sandbox import Sandbox


def test_only_the_sandbox_distribution_registers_a_pytest_plugin() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("krakenkit_sandbox") == "krakenkit_sandbox.pytest_plugin"
    assert not [v for v in plugins.values() if v == "krakenkit" or v.startswith("krakenkit.")]


def test_fixture_gives_a_running_sandbox(kraken_sandbox: Sandbox) -> None:
    key, secret = kraken_sandbox.create_key(balances={"ZUSD": "1234.5"})
    with SpotClient(key, secret, environment=kraken_sandbox.environment) as client:
        assert client.get_account_balance()["ZUSD"] == Decimal("1234.5")


_CONFTEST = """
import json, os, sys

HEAVY = ("aiohttp", "krakenkit_sandbox.app", "krakenkit_sandbox.spot", "krakenkit_sandbox.futures")


def pytest_sessionfinish(session):
    with open(os.environ["KK_PLUGIN_REPORT"], "w") as f:
        json.dump({"loaded": sorted(m for m in sys.modules if m.startswith(HEAVY)),
                   "plugin": "krakenkit_sandbox.pytest_plugin" in sys.modules}, f)
"""

_PLAIN_TEST = """
import sys


def test_nothing_heavy_was_imported():
    assert "krakenkit_sandbox.pytest_plugin" in sys.modules  # the plugin is loaded ...
    assert "aiohttp" not in sys.modules  # ... and cost nothing
    assert "krakenkit_sandbox.app" not in sys.modules
"""

_FIXTURE_TEST = """
import json
import urllib.request


def test_uses_the_fixture(kraken_sandbox):
    with urllib.request.urlopen(kraken_sandbox.rest_url + "/0/public/Time", timeout=10) as resp:
        body = json.load(resp)
    assert body["error"] == [] and isinstance(body["result"]["unixtime"], int)
"""


def _run_project(tmp_path: Path, test_source: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Run pytest in a fresh, unrelated project (no config of ours) and return what its conftest saw."""
    project = tmp_path / "someproject"
    project.mkdir()
    (project / "conftest.py").write_text(textwrap.dedent(_CONFTEST))
    (project / "test_it.py").write_text(textwrap.dedent(test_source))
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(project), str(project)],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "KK_PLUGIN_REPORT": str(report)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, json.loads(report.read_text())


def test_a_session_that_does_not_use_the_fixture_imports_no_aiohttp(tmp_path: Path) -> None:
    proc, seen = _run_project(tmp_path, _PLAIN_TEST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    assert seen == {"loaded": [], "plugin": True}


def test_the_fixture_works_in_an_unrelated_project(tmp_path: Path) -> None:
    proc, seen = _run_project(tmp_path, _FIXTURE_TEST)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    assert "aiohttp" in seen["loaded"] and "krakenkit_sandbox.app" in seen["loaded"]  # type: ignore[operator]

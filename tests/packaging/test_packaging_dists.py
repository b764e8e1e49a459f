"""The two distributions as built: krakenkit (the SDK) needs no aiohttp and ships no sandbox; krakenkit-sandbox
ships the sandbox, its CLI and its pytest plugin and needs nothing of krakenkit.

Both wheels and sdists are built here (offline: ``--no-isolation`` with the dev extra's hatchling). A fresh
venv then gets the krakenkit wheel alone, plus exactly the packages its ``Requires-Dist`` resolves to
(linked from this environment, so no index is needed): there krakenkit imports and its clients work, and
aiohttp is not even importable.
"""

from __future__ import annotations

import email.parser
import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SDK_RUNTIME = {"httpx", "websockets", "msgspec"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for project in (ROOT, ROOT / "sandbox"):
        proc = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(project)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _one(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def _wheel_meta(wheel: Path) -> tuple[list[str], email.message.Message, str]:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(z.read(f"{info}/METADATA").decode())
        entry_points = z.read(f"{info}/entry_points.txt").decode() if f"{info}/entry_points.txt" in names else ""
    return names, meta, entry_points


def _runtime_requirements(meta: email.message.Message) -> list[Requirement]:
    reqs = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_the_sdk_wheel_requires_no_aiohttp_and_registers_no_pytest_plugin(dist: Path) -> None:
    _, meta, entry_points = _wheel_meta(_one(dist, "krakenkit-*.whl"))
    assert {canonicalize_name(r.name) for r in _runtime_requirements(meta)} == SDK_RUNTIME
    assert not [r for r in meta.get_all("Requires-Dist") or [] if "aiohttp" in r.lower()]
    extras = {str(Requirement(r)) for r in meta.get_all("Requires-Dist") or [] if "sandbox" in r}
    assert extras == {'krakenkit-sandbox>=0.1; extra == "sandbox"'}
    assert "sandbox" in (meta.get_all("Provides-Extra") or [])
    assert "[pytest11]" not in entry_points and "krakenkit = krakenkit.cli.main:main" in entry_points


def test_the_sdk_wheel_ships_no_sandbox_and_no_internal_notes(dist: Path) -> None:
    names, _, _ = _wheel_meta(_one(dist, "krakenkit-*.whl"))
    assert "krakenkit/__init__.py" in names and "krakenkit/py.typed" in names
    assert not [n for n in names if n.startswith("krakenkit_sandbox")]
    assert sorted(n for n in names if n.startswith("krakenkit/sandbox/")) == [
        "krakenkit/sandbox/__init__.py",  # the thin re-export
        "krakenkit/sandbox/__main__.py",
    ]
    assert not [n for n in names if "TEAM.md" in n or n.startswith(("docs/", "tests/"))]


def test_the_sandbox_wheel_ships_the_package_its_cli_and_its_pytest_plugin(dist: Path) -> None:
    names, meta, entry_points = _wheel_meta(_one(dist, "krakenkit_sandbox-*.whl"))
    assert meta["Name"] == "krakenkit-sandbox" and meta["Version"] == "0.1.0"
    for module in ("__init__.py", "py.typed", "app.py", "pytest_plugin.py", "cli.py", "spot/rest.py", "futures/ws.py"):
        assert f"krakenkit_sandbox/{module}" in names
    assert not [n for n in names if n.startswith("krakenkit/")]
    assert {canonicalize_name(r.name) for r in _runtime_requirements(meta)} == {"aiohttp", "msgspec"}
    assert "krakenkit-sandbox = krakenkit_sandbox.cli:main" in entry_points
    assert "[pytest11]\nkrakenkit_sandbox = krakenkit_sandbox.pytest_plugin" in entry_points
    assert "krakenkit_sandbox-0.1.0.dist-info/licenses/LICENSE" in names
    assert "python-kraken-sdk" in (meta.get_payload() or "")  # the README is the long description


def test_the_sdists_hold_their_own_distribution_only(dist: Path) -> None:
    with tarfile.open(_one(dist, "krakenkit-*.tar.gz")) as t:
        sdk = [n.split("/", 1)[1] for n in t.getnames() if "/" in n]
    assert "src/krakenkit/__init__.py" in sdk and "docs/sandbox.md" in sdk
    assert not [n for n in sdk if n.startswith(("sandbox/", "src/krakenkit_sandbox")) or n.endswith("TEAM.md")]
    with tarfile.open(_one(dist, "krakenkit_sandbox-*.tar.gz")) as t:
        sb = [n.split("/", 1)[1] for n in t.getnames() if "/" in n]
    assert {"src/krakenkit_sandbox/__init__.py", "README.md", "LICENSE", "pyproject.toml"} <= set(sb)
    assert not [n for n in sb if n.startswith("src/krakenkit/")]


def _closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """The installed distributions that ``requirements`` resolve to, transitively (no extras)."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(requirements)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in found:
            continue
        found[name] = d = metadata.distribution(req.name)
        todo += _runtime_requirements(d.metadata)  # type: ignore[arg-type]
    return found


def _link_into(site: Path, dists: dict[str, metadata.Distribution]) -> None:
    """Make the distributions' files visible in ``site`` (one symlink per top-level entry)."""
    for d in dists.values():
        for f in d.files or []:
            top = f.parts[0]
            if top in ("..", "__pycache__") or (site / top).exists():
                continue
            (site / top).symlink_to(Path(str(d.locate_file(top))))


@pytest.fixture(scope="module")
def fresh_sdk_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    home = tmp_path_factory.mktemp("fresh") / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    wheel = _one(dist, "krakenkit-*.whl")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    _, meta, _ = _wheel_meta(wheel)
    deps = _closure(_runtime_requirements(meta))
    _link_into(site, deps)
    yield python, sorted(deps)


def test_a_fresh_venv_with_the_sdk_wheel_alone_has_no_aiohttp(fresh_sdk_venv: tuple[Path, list[str]]) -> None:
    python, deps = fresh_sdk_venv
    assert "aiohttp" not in deps and len(deps) < 12, deps
    script = """
import importlib.metadata, json, sys
import krakenkit
from krakenkit import (AsyncDerivativesClient, AsyncSpotClient, DerivativesClient, SpotClient, WebsocketAPIClient,
                       WebsocketClient)
SpotClient().close()
DerivativesClient().close()
AsyncSpotClient(); AsyncDerivativesClient(); WebsocketClient(); WebsocketAPIClient("key", "c2VjcmV0")
try:
    import aiohttp
except ImportError:
    has_aiohttp = False
else:
    has_aiohttp = True
try:
    krakenkit.Sandbox
except ImportError as exc:
    hint = str(exc)
dists = sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions())
print(json.dumps({"aiohttp": has_aiohttp, "loaded": "aiohttp" in sys.modules, "file": krakenkit.__file__,
                  "hint": hint, "dists": dists}))
"""
    proc = subprocess.run([str(python), "-I", "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["aiohttp"] is False and seen["loaded"] is False
    assert str(python.parents[1]) in seen["file"]  # the wheel's copy, not this checkout
    assert "pip install krakenkit-sandbox" in seen["hint"]
    assert "krakenkit" in seen["dists"] and "aiohttp" not in seen["dists"]


def test_the_sdk_cli_without_the_sandbox_says_how_to_install_it(fresh_sdk_venv: tuple[Path, list[str]]) -> None:
    python, _ = fresh_sdk_venv
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}  # only the fresh venv
    proc = subprocess.run(
        [str(python.with_name("krakenkit")), "sandbox", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install krakenkit-sandbox" in proc.stderr and "pip install ./sandbox" in proc.stderr

"""The docs cannot rot: every ```python block in docs/*.md whose first line is ``# test: run`` is a
complete program, run here against the sandbox (each in its own interpreter, with a timeout)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs"
MARKER = "# test: run"
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
# pages that must keep at least one checked program
PAGES_WITH_PROGRAMS = (
    "spot-rest.md",
    "derivatives.md",
    "websockets.md",
    "books.md",
    "toolkit.md",
    "sandbox.md",
    "rate-limits.md",
    "errors.md",
)


def snippets() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            code = match.group(1)
            if code.startswith(MARKER + "\n"):
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{page.name}:{line}", code))
    return found


SNIPPETS = snippets()


def test_the_pages_have_checked_programs() -> None:
    pages = {name.split(":")[0] for name, _ in SNIPPETS}
    assert set(PAGES_WITH_PROGRAMS) <= pages, sorted(set(PAGES_WITH_PROGRAMS) - pages)


def test_index_links_resolve() -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    targets = set(re.findall(r"\]\(([\w.-]+\.md)\)", index))
    assert set(PAGES_WITH_PROGRAMS) <= targets
    missing = [t for t in targets if not (DOCS / t).is_file()]
    assert not missing, missing


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Start every snippet at once (each has its own sandbox on a free port): the module takes as
    long as the slowest snippet, not their sum."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_SPOT", "API_FUTURES"))}
    procs: dict[str, subprocess.Popen[str]] = {}
    for where, code in SNIPPETS:
        workdir = tmp_path_factory.mktemp("snippet")
        script = workdir / "snippet.py"
        script.write_text(code, encoding="utf-8")
        procs[where] = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=workdir,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("where", [name for name, _ in SNIPPETS])
def test_snippet_runs(where: str, started: dict[str, subprocess.Popen[str]]) -> None:
    proc = started[where]
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{where} did not finish within 90 s:\n{out}\n{err}")
    assert proc.returncode == 0, f"{where} failed:\n{out}\n{err}"
    assert "Traceback" not in err, f"{where}:\n{err}"

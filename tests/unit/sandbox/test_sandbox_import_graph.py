"""krakenkit_sandbox: every module imports, nothing needs the krakenkit SDK, and the import graph has no
cycle, counting every import (module level, under ``TYPE_CHECKING`` and inside functions)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import krakenkit_sandbox

ROOT = Path(krakenkit_sandbox.__file__).parent
PACKAGE = "krakenkit_sandbox"


def module_names(root: Path, package: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a ``from x import name`` of a submodule counts as
    importing that submodule; importing a package counts as importing its ``__init__``)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        here = name if is_pkg else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join([*base, node.module] if node.module else base)
                else:
                    mod = node.module or ""
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
            for target in targets:
                while target and target not in modules:  # `import pkg.sub.name` -> the module part
                    target = target.rpartition(".")[0]
                if target:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, and modules importing themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_sandbox_has_no_import_cycle() -> None:
    graph = import_graph(ROOT, PACKAGE)
    assert len(graph) > 30  # the whole package was read
    assert "krakenkit_sandbox.spot.rest_extra" in graph["krakenkit_sandbox.spot.rest"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles_hidden_behind_type_checking_and_functions(tmp_path: Path) -> None:
    pkg = tmp_path / "demo"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\n")
    (pkg / "sub" / "c.py").write_text("from ..sub import d\n")
    (pkg / "sub" / "d.py").write_text("import demo.sub.c\n")
    (pkg / "e.py").write_text("from .a import x\nfrom .sub.c import y\n")
    graph = import_graph(pkg, "demo")
    assert graph["demo.e"] == {"demo.a", "demo.sub.c"}
    assert sorted(cycles(graph)) == [["demo.a", "demo.b"], ["demo.sub.c", "demo.sub.d"]]


def test_every_module_imports() -> None:
    for name in module_names(ROOT, PACKAGE):
        importlib.import_module(name)


def test_the_sandbox_runs_without_the_krakenkit_sdk() -> None:
    """Nothing in the package imports krakenkit except ``Sandbox.environment`` (an SDK convenience),
    and with krakenkit hidden a sandbox starts, serves and stops."""
    sdk_imports = []
    for name, path in module_names(ROOT, PACKAGE).items():
        for node in ast.walk(ast.parse(path.read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                mods = [node.module or ""]
            sdk_imports += [(name, m) for m in mods if m == "krakenkit" or m.startswith("krakenkit.")]
    assert sdk_imports == [("krakenkit_sandbox.app", "krakenkit")]  # the lazy one in Sandbox.environment
    script = """
import sys, json, urllib.request
sys.modules["krakenkit"] = None  # import krakenkit -> ImportError
from krakenkit_sandbox import Sandbox
with Sandbox(seed=1, market=False) as sb:
    key, secret = sb.create_key()
    with urllib.request.urlopen(sb.rest_url + "/0/public/Time", timeout=10) as r:
        assert json.load(r)["error"] == []
    try:
        sb.environment
    except ImportError as exc:
        assert "krakenkit SDK" in str(exc), exc
    else:
        raise AssertionError("environment without the SDK")
assert not [m for m in sys.modules if m.startswith("krakenkit.")]
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"

"""The folders are the architecture: imports point only the ways ../shared/DESIGN.md draws.

Every import in the project's packages — at module top or inside a function — is read with
`ast` and mapped to the room it lands in (evalcli/run, evalcli/store, ..., engines, ipc,
profiles). The test fails on an import a room may not make, on any cycle between rooms, and
on any cycle between modules.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("evalcli", "engines", "ipc", "profiles")
ROOMS = ("cli", "run", "analysis", "store", "science", "report", "inputs", "doctor")

# room -> the rooms it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "__main__": {"cli", "errors"},
    "cli": {"run", "analysis", "store", "science", "report", "inputs", "doctor", "engines",
            "ipc", "profiles", "errors", "environment"},
    "run": {"ipc", "engines", "store", "science", "report", "inputs", "errors", "environment"},
    # analyze and compare read files only: no run machinery, no engine, no process
    "analysis": {"science", "report", "store", "inputs", "errors"},
    "doctor": {"inputs", "engines", "ipc", "store", "errors", "environment", "profiles"},
    "report": {"science", "store", "inputs", "errors"},
    "science": {"store", "inputs", "errors"},
    "inputs": {"profiles", "engines", "store", "errors"},
    "store": {"errors"},
    "environment": {"inputs", "store", "errors"},
    "errors": set(),
    "evalcli": set(),  # evalcli/__init__.py
    "ipc": {"engines"},
    "engines": set(),
    "profiles": set(),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    if parts[0] != "evalcli":
        return parts[0]
    if len(parts) == 1:
        return "evalcli"
    return parts[1]  # a room, or a top-level module (errors, environment, __main__)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


MODULES = project_modules()


def imports_of(module: str, path: Path) -> set[str]:
    """Project modules imported anywhere in the file (relative imports resolved)."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports pkg.mod; `from mod import name` imports mod
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            # the longest prefix that is a project module: `from a.b import C` -> a.b
            parts = name.split(".")
            for i in range(len(parts), 0, -1):
                candidate = ".".join(parts[:i])
                if candidate in MODULES:
                    if candidate != module:
                        out.add(candidate)
                    break
    return out


GRAPH = {module: imports_of(module, path) for module, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_rooms_exist_and_evalcli_top_level_holds_only_them():
    top = sorted(p.name for p in (ROOT / "evalcli").iterdir() if p.name != "__pycache__")
    assert top == sorted([*ROOMS, "__init__.py", "__main__.py", "errors.py", "environment.py"])
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((ROOT / "evalcli" / room / "__init__.py").read_text()))
        assert doc and "import" in doc, f"evalcli/{room}/__init__.py must say what it may import"


def test_every_import_follows_the_design_directions():
    bad = []
    for module, targets in GRAPH.items():
        source = room_of(module)
        assert source in ALLOWED, f"{module}: room {source!r} has no rule in this test"
        for target in targets:
            dest = room_of(target)
            # evalcli/__init__.py holds only the version: anyone may read it
            if dest not in (source, "evalcli") and dest not in ALLOWED[source]:
                bad.append(f"{module} imports {target} ({source} -> {dest})")
    assert not bad, "\n".join(sorted(bad))


def test_no_cycle_between_rooms():
    rooms: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        source = room_of(module)
        rooms.setdefault(source, set()).update(
            room_of(t) for t in targets if room_of(t) != source)
    assert find_cycle(rooms) is None, find_cycle(rooms)


def test_no_cycle_between_modules():
    # a package's __init__ re-exporting its own modules is not a cycle of design
    graph = {m: {t for t in ts if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))
                 and not (MODULES[m].name == "__init__.py" and t.startswith(m + "."))}
             for m, ts in GRAPH.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("module, target, allowed", [
    ("evalcli.science.scoring", "evalcli.run.plan", False),
    ("evalcli.store.results", "evalcli.run.supervisor", False),
    ("evalcli.inputs.config", "evalcli.science.costs", False),
    ("engines.mock", "evalcli.errors", False),
    ("evalcli.run.stages", "evalcli.science.scoring", True),
    ("evalcli.analysis.compare", "evalcli.run.pipeline", False),
    ("evalcli.analysis.analyze", "ipc.worker", False),
    ("evalcli.run.gate", "evalcli.analysis.compare", False),
    ("evalcli.cli.compare", "evalcli.analysis.compare", True),
])
def test_the_rule_itself_tells_allowed_from_forbidden(module, target, allowed):
    assert (room_of(target) in ALLOWED[room_of(module)]) is allowed


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def private_imports(source: str) -> list[str]:
    """`from <project module> import _name`: a helper private to its module used elsewhere."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and room_of(node.module):
            found += [f"{node.module}.{alias.name}" for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")]
    return found


def test_private_helpers_stay_in_their_module():
    """A name that starts with `_` is its module's own; shared helpers are public (issue #24:
    report/markdown.py used to import five `_` helpers from verdict.py)."""
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for path in project_modules().values()
                 for name in private_imports(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_private_import_check_sees_one():
    assert private_imports("from evalcli.report.verdict import _ci, verdict\n") == \
        ["evalcli.report.verdict._ci"]
    assert private_imports("from numpy import _core\nfrom evalcli.errors import RunError\n") == []


def test_the_analysis_room_loads_no_run_machinery_engine_or_process_code():
    """`evalcli analyze` and `compare` read files: in a fresh interpreter, importing them
    loads nothing of run/, ipc/, multiprocessing or an engine module (engines/base.py's value
    types come with the profile structs)."""
    code = "import sys, evalcli.analysis.analyze, evalcli.analysis.compare; print(*sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.split()
    assert "evalcli.analysis.compare" in loaded
    assert sorted(m for m in loaded if m.startswith(("evalcli.run", "ipc", "multiprocessing",
                                                     "llama_cpp", "httpx"))
                  or (m.startswith("engines.") and m != "engines.base")) == []

"""The layout keeps its layers (docs/architecture.md): suites → gate and views → engines → core.

Every import in releasegate/ is read with ``ast`` — at module level, inside functions and under
``if TYPE_CHECKING`` alike, since each is a dependency a reader has to follow — and the test fails
on an import circle between files, on a module outside the gate importing pytest or the gate,
and on a module over the size one reading holds. A fresh interpreter importing each protocol
package must not load pytest.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "releasegate"
# the layer that turns checks into a decision, and the command line that drives pytest
GATE = ("releasegate.gate", "releasegate.cli")
PYTEST = ("pytest", "_pytest", "pluggy", "pytest_html", "pytest_metadata", "xdist")
MAX_LINES = 400
ENGINE_PACKAGES = ("core", "http", "health", "readapi", "versioning", "mcp", "postgres", "net",
                   "redis", "prometheus", "logs", "sentry", "pilot", "backup", "servers", "watch",
                   "fleet", "ci", "init")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "_bundle" not in p.parts}


def _resolve(name: str) -> str | None:
    """The releasegate module a dotted name refers to (a package's __init__ if it is one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> list[tuple[str, int, str]]:
    """(imported name, line, source text) of every import in ``module``, resolved to absolute."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, ast.unparse(node)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module pkg.mod when there is one
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in MODULES else base, node.lineno, ast.unparse(node)))
    return found


def internal_graph() -> dict[str, dict[str, tuple[int, str]]]:
    graph: dict[str, dict[str, tuple[int, str]]] = {m: {} for m in MODULES}
    for module in MODULES:
        for name, line, text in imports_of(module):
            if name == "releasegate" or not name.startswith("releasegate."):
                continue
            target = _resolve(name)
            if target and target != module:
                graph[module].setdefault(target, (line, text))
    return graph


def circles(graph: dict[str, dict[str, tuple[int, str]]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _is_gate(module: str) -> bool:
    return any(module == g or module.startswith(g + ".") for g in GATE)


def test_no_import_circles() -> None:
    graph = internal_graph()
    problems = []
    for component in circles(graph):
        edges = [f"{a}:{graph[a][b][0]} `{graph[a][b][1]}`" for a in component for b in graph[a]
                 if b in component]
        problems.append(" ↔ ".join(component) + " via " + "; ".join(edges))
    assert not problems, "import circles:\n" + "\n".join(problems)


def test_only_the_gate_imports_pytest_or_the_gate() -> None:
    offending = []
    for module in MODULES:
        if _is_gate(module):
            continue
        for name, line, text in imports_of(module):
            top = name.split(".")[0]
            if top in PYTEST or _is_gate(name):
                offending.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: `{text}`")
    assert not offending, ("engines, views, core and the reference stack import neither pytest "
                           "nor the gate:\n" + "\n".join(offending))


def test_core_imports_no_protocol_area() -> None:
    offending = [f"{MODULES[m].relative_to(PACKAGE.parent)}:{line}: `{text}`"
                 for m in MODULES if m.startswith("releasegate.core")
                 for name, line, text in imports_of(m)
                 if name.startswith("releasegate.") and not name.startswith("releasegate.core")]
    assert not offending, "core is the sink of the layers:\n" + "\n".join(offending)


def test_no_module_over_the_size_one_reading_holds() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in MODULES.values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by job): {long}"


def test_the_analysis_sees_a_circle_and_a_pytest_import(tmp_path: Path) -> None:
    """The checks above can fail: a planted circle and a planted pytest import are found."""
    graph = {"a": {"b": (1, "import b")}, "b": {"c": (1, "import c")}, "c": {"a": (1, "import a")},
             "d": {"a": (1, "import a")}}
    assert circles(graph) == [["a", "b", "c"]]
    probe = PACKAGE / "net" / "_layout_probe.py"
    probe.write_text("def f():\n    import pytest\n    from releasegate.gate import plugin\n")
    try:
        MODULES["releasegate.net._layout_probe"] = probe
        names = [n for n, _, _ in imports_of("releasegate.net._layout_probe")]
        assert names == ["pytest", "releasegate.gate.plugin"]
        with pytest.raises(AssertionError, match=r"_layout_probe\.py:2"):
            test_only_the_gate_imports_pytest_or_the_gate()
    finally:
        MODULES.pop("releasegate.net._layout_probe", None)
        probe.unlink()


@pytest.mark.parametrize("area", ENGINE_PACKAGES)
def test_an_engine_package_loads_without_pytest(area: str) -> None:
    """`watch`, `init` and fleets drive the engines outside pytest: importing every module of an
    area in a fresh interpreter loads no pytest."""
    modules = sorted(m for m in MODULES if m == f"releasegate.{area}"
                     or m.startswith(f"releasegate.{area}."))
    modules = [m for m in modules if not m.endswith("__main__")]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}:\n    importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{PYTEST!r} or m.startswith('releasegate.gate'))\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"importing releasegate.{area} loaded {out.stdout.strip()}"

"""The lean install holds (issue 16 §1): public APIs of other packages only, and the libraries of
the extras imported only where their check runs, so the core install collects and runs.

The one private attribute releasegate still reaches (httpx's HTTPTransport pool, the seam for the
total deadline) is pinned in pyproject.toml and checked here, so an httpx that moves it fails
this test rather than a gate.
"""

from __future__ import annotations

import ast
import re
from importlib.metadata import requires
from pathlib import Path

import httpx

from tests.support import REPO

CODE = [p for root in ("releasegate", "suites") for p in sorted((REPO / root).rglob("*.py"))
        if "_bundle" not in p.parts]
# the extras' top-level modules -> where a module-level import of them is allowed
EXTRAS = {"mcp": "mcp", "httpx2": "mcp", "sentry_sdk": "sentry", "testcontainers": "containers",
          "docker": "containers", "alembic": "migrations", "starlette": "demo", "uvicorn": "demo",
          "pydantic": "demo"}
MAY_IMPORT_AT_TOP = ("releasegate/reference/",)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module, line, at module level) of every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    top |= {id(n) for node in tree.body if isinstance(node, ast.If) for n in node.body}  # TYPE_CHECKING
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, node.lineno, id(node) in top))
    return found


def test_no_private_module_of_another_package_is_imported():
    private = [f"{p.relative_to(REPO)}:{line} {name}" for p in CODE for name, line, _ in _imports(p)
               if not name.startswith("releasegate") and any(part.startswith("_") and part != "__future__"
                                                             for part in name.split("."))]
    assert not private, private


def test_the_extras_libraries_load_only_where_their_check_runs():
    eager = [f"{p.relative_to(REPO)}:{line} {name}" for p in CODE for name, line, top in _imports(p)
             if top and name.split(".")[0] in EXTRAS
             and not str(p.relative_to(REPO)).startswith(MAY_IMPORT_AT_TOP)
             and not _under_type_checking(p, line)]
    assert not eager, f"import these inside the check that needs them (core.extras.require): {eager}"


def _under_type_checking(path: Path, line: int) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
               and n.lineno <= line <= (n.end_lineno or n.lineno) for n in tree.body)


def test_the_core_install_holds_none_of_the_extras():
    declared = requires("releasegate") or []  # the installed metadata of this checkout
    core = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() for d in declared if "extra ==" not in d}
    heavy = {"mcp", "httpx2", "sentry-sdk", "testcontainers", "alembic", "starlette", "uvicorn", "pydantic"}
    assert core and not core & heavy, core & heavy
    assert any(d.startswith("releasegate[all]") and 'extra == "dev"' in d for d in declared), declared


def test_the_deadline_seam_in_httpx_is_where_releasegate_reaches_it():
    transport = httpx.HTTPTransport()
    try:
        assert hasattr(transport._pool, "_network_backend"), "httpx moved its pool's network backend"
    finally:
        transport.close()


def test_a_check_whose_extra_is_missing_is_not_applicable_with_the_pip_line():
    import pytest

    from releasegate.core.errors import NotApplicable
    from releasegate.core.extras import require

    with pytest.raises(NotApplicable) as caught:
        require("mcp", "the official MCP SDK client check", "rg_not_installed_module")
    assert str(caught.value) == ("the official MCP SDK client check needs rg_not_installed_module, which "
                                 "is not installed: pip install 'releasegate[mcp]'")
    require("mcp", "the official MCP SDK client check", "json")  # installed: nothing raised

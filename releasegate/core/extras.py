"""Optional dependencies: a check whose library is not installed is N/A with the line to fix it.

`pip install releasegate` brings what checking a target needs; libraries only some teams use are
extras (pyproject.toml): the official MCP SDK client check (``mcp``), the Sentry test event
(``sentry``), throwaway servers in Docker (``containers``), Alembic rehearsals (``migrations``)
and the reference stack (``demo``). ``releasegate[all]`` installs them all.
"""

from __future__ import annotations

from importlib.util import find_spec

from releasegate.core.errors import NotApplicable


def installed(*modules: str) -> bool:
    return all(find_spec(module) is not None for module in modules)


def require(extra: str, what: str, *modules: str) -> None:
    """N/A for this check unless every module of ``extra`` is importable."""
    __tracebackhide__ = True
    missing = [m for m in modules if find_spec(m) is None]
    if missing:
        raise NotApplicable(f"{what} needs {', '.join(missing)}, which is not installed: "
                            f"pip install 'releasegate[{extra}]'")

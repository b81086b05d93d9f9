"""Plain `pytest --target PROFILE` from any directory: the installed suites come along.

A team runs `pytest -m smoke --target profile.yaml` in its own repository (as with
pytest-postgresql: installed, then just pytest). Without explicit paths pytest would collect
only that directory, find none of releasegate's checks and report "nothing was verified"; the
plugin adds the installed suites beside the team's own checks. A marker expression naming no
registered marker is a usage error (64 with --verdict-exit-codes), not an empty selection that
reads as INVESTIGATE, and a second --target is refused rather than silently dropped.
"""

from __future__ import annotations

import os
import re

import pytest

from releasegate.gate.selection import reaches_suites, suites_for

_OPERATORS = {"and", "or", "not"}


def add_installed_suites(config: pytest.Config) -> None:
    """Collect the installed suites too when no path was given on the command line."""
    if config.args_source == pytest.Config.ArgsSource.ARGS or reaches_suites(config.args):
        return
    options = ["--expect-build"] if config.getoption("expect_build") else []
    found = suites_for(options, marker_expr=config.getoption("markexpr") or None)
    config.args.extend(str(path) for path in found)


def the_target(config: pytest.Config) -> str | None:
    """The one profile of this run (--target or $RELEASEGATE_TARGET); two are a usage error."""
    given = config.getoption("target") or []
    if len(given) > 1:
        raise pytest.UsageError(
            f"--target given {len(given)} times ({', '.join(given)}): a pytest run checks one "
            "target; run one pytest per target (or releasegate run for a fleet)")
    return given[0] if given else os.environ.get("RELEASEGATE_TARGET") or None


def unknown_markers(config: pytest.Config) -> list[str]:
    """The names in -m that no plugin or ini registered (pytest checks only under --strict-markers,
    which a team's own directory does not set)."""
    expr = config.getoption("markexpr") or ""
    known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    names = set(re.findall(r"[A-Za-z_]\w*(?!\s*=)", re.sub(r"\([^)]*\)", "", expr)))
    return sorted(names - _OPERATORS - known)


def marker_error(names: list[str]) -> pytest.UsageError:
    """pytest's own wording, so usage_reason() names the mistake and a close marker."""
    return pytest.UsageError(f"Unknown marker(s) in '-m' expression: {', '.join(names)}. "
                             "Use 'pytest --markers' to see available markers.")

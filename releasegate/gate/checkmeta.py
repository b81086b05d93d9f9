"""A check's markers read into its checklist record: area, runbook line, severity, remedy."""

from __future__ import annotations

import pytest

from releasegate.core.errors import FAILURE_KINDS
from releasegate.gate import waivers
from releasegate.gate.results import AREAS, CheckMeta


def closest_marker(item: pytest.Item, name: str) -> pytest.Mark | None:
    """The marker that applies to this checklist line: a parameter's own beats its function's.

    pytest lists a function's marks before its parameters' (so `get_closest_marker` returns the
    function's default), but a `pytest.param(..., marks=...)` from the profile — a declared
    assertion's severity, runbook line or remedy — is the more specific one.
    """
    callspec = getattr(item, "callspec", None)
    own = next((m for m in getattr(callspec, "marks", ()) if m.name == name), None)
    return own or item.get_closest_marker(name)


def check_meta(item: pytest.Item, overrides: dict[str, str]) -> CheckMeta | None:
    """Read a check's markers; None for tests that are not releasegate checks."""
    names = {m.name for m in item.iter_markers()}
    areas = [a for a in AREAS if a in names]
    if not areas:
        return None
    runbook = closest_marker(item, "runbook")
    severity = closest_marker(item, "severity")
    if runbook is None or len(runbook.args) != 3 or severity is None or not severity.args:
        raise pytest.UsageError(
            f"{item.nodeid}: a check needs @pytest.mark.runbook(file, section, item) and "
            f"@pytest.mark.severity('blocker'|'warning')")
    original = getattr(item, "originalname", item.name)
    level = next((v for k, v in overrides.items() if waivers.matches(k, item.nodeid, original)),
                 severity.args[0])
    if level not in ("blocker", "warning"):
        raise pytest.UsageError(f"{item.nodeid}: severity must be blocker or warning, not {level!r}")
    file, section, text = runbook.args
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        text = f"{text} [{callspec.id}]"  # one checklist line per parameter
    remedy = closest_marker(item, "remedy")
    remedies = {str(k): str(v) for k, v in (remedy.kwargs if remedy else {}).items()}
    unknown = set(remedies) - set(FAILURE_KINDS)
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.remedy(…, {sorted(unknown)[0]}=…) names no "
                                f"failure kind; one of {', '.join(FAILURE_KINDS)}")
    return CheckMeta(area=areas[0], runbook=f"{file} {section}", item=text, severity=level,
                     gate=severity.kwargs.get("gate"), smoke="smoke" in names,
                     remedy=str(remedy.args[0]) if remedy and remedy.args else None, name=original,
                     remedies=remedies)

"""Waivers (after Chef InSpec): accept a known failure until a date, with a justification.

A profile's ``waivers:`` list names checks as severity overrides do: the function name
(``test_ready_returns_200``), one parameter (``test_probe_answers_within_timeout[ready]``) or a
node id. An active waiver turns the check's failure into WAIVED — shown with its justification,
not deciding the verdict; an expired one is ignored and the report says so; one on a check that
passed is stale ("remove it"), so a list of accepted failures cannot rot.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Waiver:
    check: str
    justification: str
    expires: date

    def active(self, today: date) -> bool:
        return today <= self.expires

    def as_dict(self, state: str) -> dict[str, Any]:
        return {"check": self.check, "justification": self.justification,
                "expires": self.expires.isoformat(), "state": state}


def parse(entries: Iterable[Mapping[str, Any]]) -> list[Waiver]:
    """The profile's waivers (already schema-checked: check, justification, expires)."""
    out = []
    for entry in entries:
        expires = entry["expires"]
        if not isinstance(expires, date):
            expires = date.fromisoformat(str(expires))
        out.append(Waiver(str(entry["check"]), str(entry["justification"]), expires))
    return out


def matches(name: str, nodeid: str, originalname: str) -> bool:
    """Does a severity override or waiver key ``name`` select this check?"""
    check_name = nodeid.rsplit("::", 1)[-1]
    return name in (originalname, check_name, nodeid)


def base_name(name: str) -> str:
    """'suites/x.py::test_a[p]' → 'test_a'."""
    return name.rsplit("::", 1)[-1].split("[", 1)[0]


@cache
def check_names(suites: Path) -> frozenset[str]:
    """Every check function defined under ``suites`` (read from the source, not collected), so a
    name can be validated whatever subset of the suites a run selects."""
    names = set()
    for path in suites.rglob("test_*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        names |= {node.name for node in ast.walk(tree)
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.name.startswith("test")}
    return frozenset(names)


def unknown(names: Iterable[str], known: frozenset[str]) -> list[str]:
    """The names (of waivers or severity overrides) that name no check."""
    return sorted({n for n in names if base_name(n) not in known})

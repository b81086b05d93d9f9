"""The fault matrix as data: for each fault set, exactly which checks fail and why.

One module per area (tests/fault_matrix/<area>.py) defines ``ROWS``; ``MATRIX`` is all of them.
tests/test_fault_matrix.py proves every row against the running reference stack, and
scripts/gen_fault_matrix_doc.py renders docs/fault-matrix.md from it, so the table in the docs
is the one the tests check.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    faults: str  # "" is the healthy stack
    exit_code: int
    verdict: str
    failing: dict[str, str] = field(default_factory=dict)  # check -> substring of its reason
    markers: str = "health"  # the -m expression the row runs: its area, usually
    args: tuple[str, ...] = ()  # more pytest arguments, e.g. ("--allow-mutations",)
    parts: tuple[str, ...] | None = ("health",)  # reference stack parts to start (None: all)
    never_shown: tuple[str, ...] = ()  # data the fault plants that no output may repeat
    # check -> substring of its reason, for checks that must come out Inconclusive (never passed)
    inconclusive: dict[str, str] = field(default_factory=dict)
    signal_absent: bool = False  # the fault removes what checks read: none of them may pass
    headline: str = ""  # a substring of the verdict's reason: the failure that must lead it
    remedies: dict[str, str] = field(default_factory=dict)  # check -> substring of its remedy

    @property
    def id(self) -> str:
        return f"{self.markers}:{self.faults or 'healthy'}"


def _rows() -> list[Row]:
    rows: list[Row] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: (i.name != "health", i.name)):
        rows += importlib.import_module(f"{__name__}.{info.name}").ROWS
    return rows


MATRIX: list[Row] = _rows()

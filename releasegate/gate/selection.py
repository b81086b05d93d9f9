"""Which of the installed suites a run collects: every suite, or only the areas -m names.

Shared by `releasegate run` and plain `pytest --target` from another directory, so both collect
the same checks for the same selection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from releasegate.core.paths import SUITES
from releasegate.gate.results import AREAS


def suites_for(args: Sequence[str], marker_expr: str | None = None) -> list[Path]:
    """The suites/ folders a selection can reach: for `-m "data or redis"` only suites/data and
    suites/redis (and suites/health with --expect-build), so a one-area gate run does not import
    every other area's engine; anything else (smoke, `and`, `not`, -k) collects every suite."""
    expr = marker_expr if marker_expr is not None else next(
        (args[i + 1] for i, a in enumerate(args[:-1]) if a == "-m"), None)
    words = re.findall(r"[A-Za-z_]\w*", expr or "")
    areas = [w for w in words if w != "or"]
    if not areas or not all((SUITES / area).is_dir() and area in AREAS for area in areas):
        return [SUITES]
    if any(a.startswith("--expect-build") for a in args):
        areas.append("health")
    return [SUITES / area for area in sorted(set(areas))]  # pytest's own order: a full run's


def reaches_suites(args: Sequence[str]) -> bool:
    """Does an argument name releasegate's suites (or a folder or file inside them)?"""
    for arg in args:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        if path == SUITES or SUITES in path.parents:
            return True
    return False

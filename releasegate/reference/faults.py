"""The named faults of the reference stack: every part's, in one table.

``releasegate stack faults`` prints it; the fault matrix (tests/fault_matrix/) proves each one.
"""

from __future__ import annotations

from releasegate.reference.parts import Fault, parts

FAULTS: dict[str, Fault] = {f.name: f for part in parts() for f in part.faults}


def parse_faults(text: str | None) -> tuple[str, ...]:
    """'a,b' → ('a', 'b'); an unknown name raises ValueError naming the known ones."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {', '.join(unknown)}; known faults: {', '.join(FAULTS)}"
                         " (see: releasegate stack faults)")
    return names


__all__ = ["FAULTS", "Fault", "parse_faults"]

"""The release verdict and exit code from check results (after runbook 002 §4.2).

0 GO — every blocker and warning check passed; 1 ROLLBACK — readiness failed; 2 ROLLBACK —
another blocker failed; 3 INVESTIGATE — the feedback loop failed; 4 INVESTIGATE — only warnings
failed. A run in which no check passed at all is not a GO: nothing was verified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    GO = 0
    ROLLBACK_READINESS = 1
    ROLLBACK_BLOCKER = 2
    INVESTIGATE_FEEDBACK = 3
    INVESTIGATE_WARNINGS = 4


VERDICT_OF = {
    ExitCode.GO: "GO",
    ExitCode.ROLLBACK_READINESS: "ROLLBACK",
    ExitCode.ROLLBACK_BLOCKER: "ROLLBACK",
    ExitCode.INVESTIGATE_FEEDBACK: "INVESTIGATE",
    ExitCode.INVESTIGATE_WARNINGS: "INVESTIGATE",
}

FAILED_OUTCOMES = frozenset({"failed", "error"})


@dataclass(frozen=True)
class Decision:
    verdict: str
    exit_code: ExitCode
    reason: str


@dataclass(frozen=True)
class Judged:
    """The part of a check result the verdict needs."""

    severity: str  # blocker | warning
    gate: str | None  # readiness | feedback | None
    outcome: str  # passed | failed | skipped | error
    item: str


def decide(results: Iterable[Judged]) -> Decision:
    """Worst failure decides: readiness, other blocker, feedback, other warning; else GO."""
    results = list(results)
    failed = [r for r in results if r.outcome in FAILED_OUTCOMES]

    def first(pred) -> Judged | None:
        return next((r for r in failed if pred(r)), None)

    ordered = [
        (ExitCode.ROLLBACK_READINESS, lambda r: r.severity == "blocker" and r.gate == "readiness",
         "readiness failed"),
        (ExitCode.ROLLBACK_BLOCKER, lambda r: r.severity == "blocker", "a blocker check failed"),
        (ExitCode.INVESTIGATE_FEEDBACK, lambda r: r.gate == "feedback", "the feedback loop failed"),
        (ExitCode.INVESTIGATE_WARNINGS, lambda r: True, "only warning checks failed"),
    ]
    inconclusive = [r for r in results if r.outcome == "inconclusive"]
    for code, pred, why in ordered:
        hit = first(pred)
        if hit is not None:
            count = sum(1 for r in failed if pred(r))
            more = f" (+{count - 1} more)" if count > 1 else ""
            return Decision(VERDICT_OF[code], code, f"{why}: {hit.item}{more}")
    if inconclusive:
        more = f" (+{len(inconclusive) - 1} more)" if len(inconclusive) > 1 else ""
        return Decision("INVESTIGATE", ExitCode.INVESTIGATE_WARNINGS,
                        f"inconclusive, not verified: {inconclusive[0].item}{more}")
    if not any(r.outcome == "passed" for r in results):
        return Decision("INVESTIGATE", ExitCode.INVESTIGATE_WARNINGS,
                        "no check ran against the target: nothing was verified")
    return Decision("GO", ExitCode.GO, "all blocker and warning checks passed")

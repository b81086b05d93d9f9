"""The release verdict and exit code from check results (after runbook 002 §4.2).

0 GO — every blocker and warning check passed; 1 ROLLBACK — readiness failed; 2 ROLLBACK —
another blocker failed; 3 INVESTIGATE — the feedback loop failed; 4 INVESTIGATE — only warnings
failed, or a check was inconclusive. A run in which no check passed at all is not a GO: nothing
was verified. Waived failures are shown but do not decide.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from releasegate.core.errors import FAILURE_KINDS


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
class Judged:
    """The part of a check result the verdict needs."""

    severity: str  # blocker | warning
    gate: str | None  # readiness | feedback | None
    outcome: str  # passed | failed | error | inconclusive | waived | skipped
    item: str
    id: str = ""
    area: str = ""
    runbook: str = ""
    message: str = ""
    follows: bool = False  # its failure follows from another's (releasegate/gate/causes.py)
    kind: str | None = None  # how it failed (core.errors.FAILURE_KINDS)


@dataclass(frozen=True)
class Decision:
    verdict: str
    exit_code: ExitCode
    reason: str
    deciding: str | None = None  # the id of the check that decided, when one did
    counts: dict[str, int] = field(default_factory=dict)


# Worst first: the first rule a failed check matches decides the exit code.
RULES: tuple[tuple[ExitCode, Callable[[Judged], bool], str], ...] = (
    (ExitCode.ROLLBACK_READINESS, lambda r: r.severity == "blocker" and r.gate == "readiness",
     "readiness failed"),
    (ExitCode.ROLLBACK_BLOCKER, lambda r: r.severity == "blocker", "a blocker failed"),
    (ExitCode.INVESTIGATE_FEEDBACK, lambda r: r.gate == "feedback", "the feedback loop failed"),
    (ExitCode.INVESTIGATE_WARNINGS, lambda r: True, "only warnings failed"),
)


KIND_RANK = {kind: rank for rank, kind in enumerate(FAILURE_KINDS)}  # most specific first
_ANSWERED = re.compile(r"\b(?:returned|answered)\s+(\d{3})\b")
_EXPECTED = re.compile(r"\bexpected\s+(?:the service's own\s+)?(\d{3}(?:(?:,\s*|\s+or\s+)\d{3})*)")
_NO_ANSWER = re.compile(r"\bno answer\b|no complete response|timed out|\btimeout\b|could not reach|"
                        r"connection refused|ConnectError|ConnectTimeout|ReadTimeout|ReadError|"
                        r"RemoteProtocolError|Connection reset", re.IGNORECASE)


def kind_of(kind: str | None, message: str) -> str:
    """A failure's kind: the one the check named, else read from its one-line reason — "answered
    200, expected 400" or "returned 503" is a wrong status, "answered 400 …, expected 400 with …"
    a wrong body, a transport error no answer; any other judgement of an answer is a wrong body."""
    if kind:
        return kind
    answered, expected = _ANSWERED.search(message), _EXPECTED.search(message)
    if answered and expected:
        wanted = re.findall(r"\d{3}", expected.group(1))
        return "wrong_body" if answered.group(1) in wanted else "wrong_status"
    if answered and int(answered.group(1)) >= 400:  # an error where an answer was wanted
        return "wrong_status"
    if _NO_ANSWER.search(message):
        return "no_answer"
    return "wrong_body"


def headline_rank(r: Judged) -> tuple[bool, int]:
    """Which failure leads (docs/report.md "The headline"): a root before what follows from it,
    then the most specific kind — other build, wrong status, wrong body, stale, missing, no answer;
    among equals the run order decides (the sort is stable)."""
    return r.follows, KIND_RANK[kind_of(r.kind, r.message)]


def count(results: Iterable[Judged]) -> dict[str, int]:
    """The numbers a release manager reads first."""
    counts: Counter[str] = Counter()
    for r in results:
        if r.outcome in FAILED_OUTCOMES:
            counts["blockers_failed" if r.severity == "blocker" else "warnings_failed"] += 1
        else:
            counts[{"passed": "passed", "skipped": "not_applicable", "waived": "waived",
                    "inconclusive": "inconclusive"}.get(r.outcome, r.outcome)] += 1
    return {k: counts.get(k, 0) for k in ("blockers_failed", "warnings_failed", "inconclusive",
                                          "passed", "not_applicable", "waived")}


def _tally(failed: list[Judged]) -> str:
    """'2 blockers and 1 warning failed (health 2, mcp 1)'."""
    blockers = sum(1 for r in failed if r.severity == "blocker")
    warnings = len(failed) - blockers
    parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((blockers, "blocker"),
                                                                 (warnings, "warning")) if n]
    areas = Counter(r.area for r in failed if r.area)
    where = f" ({', '.join(f'{a} {n}' for a, n in areas.most_common())})" if areas else ""
    return f"{' and '.join(parts)} failed{where}"


def _name(r: Judged) -> str:
    return f"{r.item} [{r.runbook}]" if r.runbook else r.item


def decide(results: Iterable[Judged]) -> Decision:
    """Worst failure decides: readiness, other blocker, feedback, other warning; within the
    worst, the most specific root cause (``headline_rank``) is named; then inconclusive; else
    GO — unless nothing passed at all."""
    results = list(results)
    counts = count(results)
    failed = [r for r in results if r.outcome in FAILED_OUTCOMES]
    roots_first = sorted(failed, key=headline_rank)  # a specific root cause decides, not what follows
    for code, matches, why in RULES:
        hit = next((r for r in roots_first if matches(r)), None)
        if hit is not None:
            detail = f": {hit.message}" if hit.message else ""
            return Decision(VERDICT_OF[code], code,
                            f"{why} — {_name(hit)}{detail}; {_tally(failed)}", hit.id or None, counts)
    inconclusive = [r for r in results if r.outcome == "inconclusive"]
    if inconclusive:  # the weightiest one names the reason: a blocker, then a root cause
        first = min(inconclusive, key=lambda r: (r.severity != "blocker", r.follows))
        more = f" (+{len(inconclusive) - 1} more)" if len(inconclusive) > 1 else ""
        detail = f": {first.message}" if first.message else ""
        return Decision("INVESTIGATE", ExitCode.INVESTIGATE_WARNINGS,
                        f"inconclusive, not verified — {_name(first)}{detail}{more}",
                        first.id or None, counts)
    if not any(r.outcome == "passed" for r in results):
        return Decision("INVESTIGATE", ExitCode.INVESTIGATE_WARNINGS,
                        "no check ran against the target: nothing was verified", None, counts)
    waived = f" ({counts['waived']} waived failure{'s' if counts['waived'] != 1 else ''} shown)" \
        if counts["waived"] else ""
    return Decision("GO", ExitCode.GO, f"all blocker and warning checks passed{waived}", None, counts)

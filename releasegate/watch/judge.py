"""Judging a series sample by sample, and the series over the window, with Argo's counters.

One ``Tracker`` per observation and per watched check. Per sample (Argo Rollouts
utils/evaluate + analysis/analysis.go): a value that breaks the assertion is Failed, no data is
Inconclusive, a sample that could not be taken is Error (``consecutive_errors`` resets on any
other outcome). The metric fails when ``failed > failure_limit``, errs when
``consecutive_errors > consecutive_error_limit`` and is inconclusive when
``inconclusive > inconclusive_limit`` — Argo's comparisons, so failure_limit 0 means the first
failure decides. Two things Argo's users still ask for are built in: no data never passes
(argo-rollouts#180, #4479), and every breach names its sample and cycle (kayenta#521).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from releasegate.watch.spec import Assertion, Limits, show_s

SUCCESSFUL, FAILED, INCONCLUSIVE, ERROR = "Successful", "Failed", "Inconclusive", "Error"
GO, INVESTIGATE, ROLLBACK = "GO", "INVESTIGATE", "ROLLBACK"
UNDECIDED = "INCONCLUSIVE"  # no data, too few samples, a source that stopped answering
# worst last: an open breach outranks missing data; GO only when every series says so
ORDER = {GO: 0, UNDECIDED: 1, INVESTIGATE: 2, ROLLBACK: 3}
MAX_POINTS = 300  # points kept per series for a 640-pixel chart; counters stay exact beyond it


@dataclass
class Sample:
    cycle: int
    t: float  # seconds since the window started
    value: float | None
    phase: str
    reason: str = ""


def judge(assertion: Assertion, value: float | None, first: float | None,
          previous: float | None) -> tuple[str, str]:
    """One sample against the assertion → (phase, reason)."""
    if value is None or math.isnan(value):
        return INCONCLUSIVE, "no data"
    a = assertion
    if a.kind == "rises" and previous is not None and value < previous:
        return FAILED, f"fell from {previous:g} to {value:g}"
    if a.kind == "not_rises" and first is not None and value > first + a.tolerance:
        return FAILED, f"{value:g} rose above {first:g} + tolerance {a.tolerance:g}"
    if a.low is not None and (value < a.low if a.kind == "within" else value <= a.low):
        return FAILED, f"{value:g} {'below' if a.kind == 'within' else 'not above'} {a.low:g}"
    if a.high is not None and (value > a.high if a.kind == "within" else value >= a.high):
        return FAILED, f"{value:g} {'above' if a.kind == 'within' else 'not below'} {a.high:g}"
    return SUCCESSFUL, ""


@dataclass
class Tracker:
    """One series: its counters, its grace clock, its decision so far and the chart's points."""

    name: str
    limits: Limits
    assertion: Assertion | None = None  # None for a check: its samples arrive judged
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    errors: int = 0
    consecutive_errors: int = 0
    first: float | None = None
    previous: float | None = None
    breach_since: float | None = None  # investigate: when the open breach began
    episodes: list[dict[str, Any]] = field(default_factory=list)
    decision: str = GO
    decided_by: dict[str, Any] | None = None  # the sample that set the decision
    points: list[Sample] = field(default_factory=list)
    thinned: int = 0

    def add(self, cycle: int, t: float, value: float | None, *, error: str | None = None,
            phase: str | None = None, reason: str = "") -> Sample:
        """Record one sample; update the counters and the decision."""
        if error is not None:
            phase, reason = ERROR, error
        elif phase is None:
            assert self.assertion is not None
            phase, reason = judge(self.assertion, value, self.first, self.previous)
        sample = Sample(cycle, t, value, phase, reason)
        if phase == ERROR:
            self.errors += 1
            self.consecutive_errors += 1
        else:
            self.consecutive_errors = 0
            if phase == SUCCESSFUL:
                self.successful += 1
            elif phase == FAILED:
                self.failed += 1
            else:
                self.inconclusive += 1
        if value is not None and not math.isnan(value) and phase != ERROR:
            self.first = value if self.first is None else self.first
            self.previous = value
        self._decide(sample)
        self.keep(sample)
        return sample

    def _decide(self, s: Sample) -> None:
        if self.decision == ROLLBACK:
            return
        lim = self.limits
        if lim.action == "investigate":
            if s.phase == FAILED:
                if self.breach_since is None:
                    self.breach_since = s.t
                    self.episodes.append({"start_cycle": s.cycle, "start_t": s.t})
                held = s.t - self.breach_since
                if lim.grace_s is not None and held >= lim.grace_s:
                    return self._set(ROLLBACK, s, f"{s.reason}; still breached after "
                                     f"{show_s(round(held, 3))} (grace {show_s(lim.grace_s)})")
                return self._set(INVESTIGATE, s, s.reason + (
                    f"; ROLLBACK if it still holds after {show_s(lim.grace_s)}"
                    if lim.grace_s is not None else ""))
            if s.phase == SUCCESSFUL and self.breach_since is not None:
                self.episodes[-1].update(end_cycle=s.cycle, end_t=s.t, recovered=True)
                self.breach_since = None
                lasted = round(s.t - self.episodes[-1]["start_t"], 3)
                return self._set(GO, s, f"recovered after {show_s(lasted)}")
        elif s.phase == FAILED and lim.failure_limit >= 0 and self.failed > lim.failure_limit:
            return self._set(ROLLBACK, s, s.reason + (f" ({self.failed} failed samples, limit "
                                                      f"{lim.failure_limit})" if lim.failure_limit else ""))
        if self.consecutive_errors > lim.consecutive_error_limit and self.decision == GO:
            return self._set(UNDECIDED, s, f"{self.consecutive_errors} consecutive samples could not "
                             f"be taken (limit {lim.consecutive_error_limit}): {s.reason}")
        if self.inconclusive > lim.inconclusive_limit and s.phase == INCONCLUSIVE \
                and self.decision == GO:
            return self._set(UNDECIDED, s, f"{self.inconclusive} samples without data "
                             f"(limit {lim.inconclusive_limit}): {s.reason}")
        return None

    def _set(self, decision: str, s: Sample, reason: str) -> None:
        self.decision = decision
        self.decided_by = {"cycle": s.cycle, "t": round(s.t, 3), "value": s.value, "reason": reason}

    def keep(self, sample: Sample) -> None:
        """Add a point to the chart (bounded)."""
        self.points.append(sample)
        if len(self.points) > MAX_POINTS:  # thin the older half; keep every breach
            half = len(self.points) // 2
            old = [p for i, p in enumerate(self.points[:half])
                   if i % 2 == 0 or p.phase != SUCCESSFUL]
            self.thinned += half - len(old)
            self.points = old + self.points[half:]

    @property
    def stops(self) -> bool:
        """A ROLLBACK ends the watch at once (002 §6.3: 'hemen rollback')."""
        return self.decision == ROLLBACK

    def final(self, complete: bool) -> tuple[str, str]:
        """The decision at the window's end (``complete``) or when it was cut short."""
        if self.decision in (ROLLBACK, INVESTIGATE, UNDECIDED):
            return self.decision, self.decided_by["reason"] if self.decided_by else ""
        measured = self.successful + self.failed
        if measured < self.limits.min_samples:
            return UNDECIDED, (f"{measured} sample{'s' if measured != 1 else ''} with data, "
                               f"{self.limits.min_samples} needed")
        if complete and self.assertion is not None and self.assertion.kind == "rises" \
                and self.first is not None and self.previous is not None \
                and self.previous <= self.first:
            return INVESTIGATE, f"did not rise over the window ({self.first:g} → {self.previous:g})"
        if not complete:
            return UNDECIDED, "window incomplete"
        return GO, ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for summary.json, without the chart's points: they are the window's cycles
        (summary.json has those), rebuilt from them on --resume. A window rewrites the file every
        cycle, so it holds each sample once (dataclasses.asdict would dominate the cycle)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "points"}
        data["limits"] = asdict(self.limits)
        data["assertion"] = asdict(self.assertion) if self.assertion else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tracker:
        data = dict(data)
        data["limits"] = Limits(**data["limits"])
        data["assertion"] = Assertion(**data["assertion"]) if data.get("assertion") else None
        data.pop("points", None)
        return cls(**data)


def worst(decisions: list[str]) -> str:
    return max(decisions, key=ORDER.__getitem__, default=GO)

"""One observation window: cycles on a fixed schedule, every tracker fed, the decision kept.

The state is plain data written to summary.json after every cycle (atomically), so ``--resume``
continues a window after the process was killed: the counters, grace clocks and first values
come back exactly, and the schedule is the original one (slots that passed while nothing ran are
recorded as missed, not sampled late). Memory is bounded for a day-long window: each chart keeps
at most judge.MAX_POINTS points and the cycle list at most MAX_CYCLES (older ones thinned), while
every cycle's values also go to cycles.jsonl, one line each, never held in memory.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from releasegate.core.profile import Target
from releasegate.watch.checks import CheckSet
from releasegate.watch.judge import ERROR, GO, ROLLBACK, UNDECIDED, Sample, Tracker, worst
from releasegate.watch.sources import SampleError, Sources
from releasegate.watch.spec import Limits, WatchSpec

FORMAT = "releasegate-watch/1"
MAX_CYCLES = 600
EXIT = {GO: 0, ROLLBACK: 2, "INVESTIGATE": 3, UNDECIDED: 4}
READINESS = {"ready", "release_ready", "ready_503"}  # a ROLLBACK they decide exits 1, as `run`


@dataclass
class WindowState:
    """Everything a window knows; what summary.json holds."""

    target: str
    window_s: float
    every_s: float
    started_at: float  # epoch seconds of cycle 0's slot
    markers: str | None = None
    cycles_done: int = 0
    missed: int = 0
    cycles: list[dict[str, Any]] = field(default_factory=list)
    thinned_cycles: int = 0
    trackers: dict[str, Tracker] = field(default_factory=dict)
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → what it is, for the report
    decision: str | None = None
    decided_by: dict[str, Any] | None = None
    complete: bool = False
    stopped_early: bool = False
    interrupted: bool = False
    deploy: dict[str, Any] | None = None
    resumed: int = 0

    @property
    def slots(self) -> int:
        """Cycles in a full window: one at the start and one every interval up to its end."""
        return math.floor(self.window_s / self.every_s + 1e-9) + 1

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "trackers"}
        data["trackers"] = {n: t.to_dict() for n, t in self.trackers.items()}
        return {"format": FORMAT, **data, "exit_code": self.exit_code}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowState:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a releasegate watch summary (format {data.get('format')!r})")
        fields = {k: v for k, v in data.items() if k not in ("format", "exit_code", "trackers")}
        state = cls(**fields)
        state.trackers = {n: Tracker.from_dict(t) for n, t in data["trackers"].items()}
        for row in state.cycles:  # the charts' points are the cycles' values
            for name, phase in row["phases"].items():
                if name in state.trackers:
                    state.trackers[name].keep(Sample(row["cycle"], row["t"], row["values"].get(name),
                                                     phase, row["reasons"].get(name, "")))
        return state

    @property
    def exit_code(self) -> int | None:
        if self.decision is None:
            return None
        if self.decision == ROLLBACK and (self.decided_by or {}).get("name") in READINESS:
            return 1
        return EXIT[self.decision]


def write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a kill mid-write leaves the previous file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def new_state(target: Target, spec: WatchSpec, checks: CheckSet, markers: str | None,
              now: float) -> WindowState:
    """A window about to start; what the report shows of each series is masked here, once."""
    mask = target.redactor().text
    clash = {c.name for c in checks.checks} & {o.name for o in spec.observations}
    if clash:
        raise ValueError(f"watch.observations: {', '.join(sorted(clash))} is also the name of a "
                         "watched check; name the observation differently")
    state = WindowState(target.name, spec.window_s, spec.every_s, now, markers)
    for check in checks.checks:
        state.trackers[check.name] = Tracker(check.name, check.limits)
        state.kinds[check.name] = {"kind": "check", "runbook": check.runbook}
    for obs in spec.observations:
        state.trackers[obs.name] = Tracker(obs.name, obs.limits, obs.assertion)
        state.kinds[obs.name] = {"kind": "observation", "runbook": mask(obs.runbook), "unit": obs.unit,
                                 "source": mask(obs.describe_source()),
                                 "assert": obs.assertion.describe()}
    return state


class Window:
    """Runs the cycles of one window; ``on_cycle`` writes the outputs after each."""

    def __init__(self, target: Target, spec: WatchSpec, checks: CheckSet, state: WindowState, *,
                 on_cycle: Callable[[WindowState], None] = lambda _: None,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.target, self.spec, self.checks, self.state = target, spec, checks, state
        self.sources = Sources(target)
        self.redact = target.redactor().text  # reasons quote answers: masked when recorded
        self.on_cycle, self.clock, self.sleep = on_cycle, clock, sleep

    def run(self) -> WindowState:
        """Cycle until the window ends or a ROLLBACK stops it; KeyboardInterrupt (Ctrl-C,
        SIGTERM) ends it with the decision so far, marked window incomplete."""
        st = self.state
        try:
            while st.cycles_done < st.slots and not st.stopped_early:
                slot = st.started_at + st.cycles_done * st.every_s
                now = self.clock()
                if now > slot + st.every_s:  # resumed after a gap: skip the slots that passed
                    skip = min(int((now - slot) // st.every_s), st.slots - st.cycles_done)
                    st.missed += skip
                    st.cycles_done += skip
                    continue
                if now < slot:
                    self.sleep(slot - now)
                self.cycle(st.cycles_done, self.clock() - st.started_at)
                st.cycles_done += 1
                st.stopped_early = any(t.stops for t in st.trackers.values())
                if st.cycles_done < st.slots and not st.stopped_early:
                    self.on_cycle(st)
            st.complete = st.cycles_done >= st.slots and not st.stopped_early
        except KeyboardInterrupt:
            st.interrupted = True
        finally:
            self.sources.close()
        self.decide()
        self.on_cycle(st)
        return st

    def cycle(self, n: int, t: float) -> dict[str, Any]:
        st = self.state
        row: dict[str, Any] = {"cycle": n, "t": round(t, 3), "at": round(st.started_at + t, 3),
                               "values": {}, "phases": {}, "reasons": {}}
        measures: dict[str, dict[str, float | None] | None] = {}
        for check in self.checks.checks:
            try:
                out = check.run()
            except Exception as exc:  # an engine bug must not end an hour-long watch
                out = _error_outcome(f"{type(exc).__name__}: {exc}")
            measures[check.name] = None if out.phase == ERROR else out.measures
            sample = st.trackers[check.name].add(n, t, out.measures.get("value"), phase=out.phase,
                                                 reason=self.redact(out.reason) if out.reason else "")
            _record(row, check.name, sample)
        for obs in self.spec.observations:
            try:
                value, error = self.sources.read(obs, measures), None
            except SampleError as exc:
                value, error = None, str(exc)
            except Exception as exc:  # the same: one bad sample, not a crash
                value, error = None, f"{type(exc).__name__}: {exc}"
            sample = st.trackers[obs.name].add(n, t, value,
                                               error=self.redact(error) if error else None)
            _record(row, obs.name, sample)
        st.cycles.append(row)
        if len(st.cycles) > MAX_CYCLES:
            half = len(st.cycles) // 2
            keep = [c for i, c in enumerate(st.cycles[:half])
                    if i % 2 == 0 or any(p != "Successful" for p in c["phases"].values())]
            st.thinned_cycles += half - len(keep)
            st.cycles = keep + st.cycles[half:]
        return row

    def decide(self) -> None:
        st = self.state
        finals = {n: t.final(st.complete) for n, t in st.trackers.items()}
        if not finals:
            st.decision = UNDECIDED
            st.decided_by = {"name": None, "reason": "nothing to watch: no check selected and no "
                             "observations in the profile's watch section"}
            return
        st.decision = worst([d for d, _ in finals.values()])
        if not st.complete and st.decision == GO:
            st.decision = UNDECIDED
        deciding = [n for n, (d, _) in finals.items() if d == st.decision] or list(finals)
        name = min(deciding, key=lambda n: (st.trackers[n].decided_by or {}).get("cycle", math.inf))
        by = dict(st.trackers[name].decided_by or {})
        by.update(name=name, reason=finals[name][1] or by.get("reason", ""))
        if st.decision == UNDECIDED and not st.complete:
            by["reason"] = "window incomplete" + (f"; {by['reason']}" if by["reason"] and
                                                  by["reason"] != "window incomplete" else "")
        if st.decision == GO:
            by = {"name": None, "reason": "every check and observation held over the whole window"}
        st.decided_by = by


def _error_outcome(reason: str) -> Any:
    from releasegate.watch.checks import Outcome

    return Outcome(ERROR, reason)


def _record(row: dict[str, Any], name: str, sample: Any) -> None:
    row["values"][name] = sample.value
    row["phases"][name] = sample.phase
    if sample.reason:
        row["reasons"][name] = sample.reason


def limits_text(limits: Limits) -> str:
    grace = f", grace {limits.grace_s:g}s" if limits.grace_s is not None else ""
    return (f"{limits.action}{grace}; failure_limit {limits.failure_limit}, consecutive_error_limit "
            f"{limits.consecutive_error_limit}, inconclusive_limit {limits.inconclusive_limit}, "
            f"min_samples {limits.min_samples}")

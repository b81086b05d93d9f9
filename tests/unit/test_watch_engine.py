"""The watch engine on a compressed, fake clock: Argo's limits, 002 §6.3's grace, resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from releasegate.core.profile import Target
from releasegate.watch.checks import Outcome, WatchedCheck
from releasegate.watch.judge import (
    ERROR,
    FAILED,
    GO,
    INCONCLUSIVE,
    INVESTIGATE,
    ROLLBACK,
    SUCCESSFUL,
    UNDECIDED,
    Tracker,
    judge,
)
from releasegate.watch.spec import Assertion, Limits, read_spec, seconds
from releasegate.watch.window import Window, WindowState, new_state


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


class Checks:
    """A CheckSet stand-in: one check whose outcomes come from a script of values."""

    def __init__(self, values: Iterator[float | None]) -> None:
        def run() -> Outcome:
            v = next(values)
            if v is None:
                return Outcome(ERROR, "no answer")
            return Outcome(SUCCESSFUL, "", {"value": v})
        self.checks = [WatchedCheck("probe", "test", Limits(min_samples=1), run)]


def target(watch: dict[str, Any]) -> Target:
    return Target(path=Path("t.yaml"), data={"name": "t", "watch": watch})


def run_window(watch: dict[str, Any], values: list[float | None], *,
               state: WindowState | None = None, clock: FakeClock | None = None,
               interrupt_at: int | None = None) -> WindowState:
    tgt = target(watch)
    spec = read_spec(watch)
    clock = clock or FakeClock()
    checks = Checks(iter(values))
    state = state or new_state(tgt, spec, checks, None, clock())  # type: ignore[arg-type]

    def on_cycle(st: WindowState) -> None:
        if interrupt_at is not None and st.cycles_done == interrupt_at and not st.interrupted:
            raise KeyboardInterrupt

    return Window(tgt, spec, checks, state, on_cycle=on_cycle, clock=clock,  # type: ignore[arg-type]
                  sleep=clock.sleep).run()


def obs(assertion: dict[str, Any], **limits: Any) -> dict[str, Any]:
    return {"name": "series", "source": {"check": {"name": "probe"}}, "assert": assertion, **limits}


def test_durations() -> None:
    assert seconds("5m") == 300 and seconds("1h30m") == 5400 and seconds("0.2s") == 0.2
    with pytest.raises(ValueError):
        seconds("5 minutes")


@pytest.mark.parametrize(("assertion", "value", "first", "previous", "phase"), [
    ({"rises": True}, 5, 1, 6, FAILED),
    ({"rises": True}, 6, 1, 6, SUCCESSFUL),
    ({"not_rises": {"tolerance": 1}}, 2, 1, 1, SUCCESSFUL),
    ({"not_rises": {"tolerance": 1}}, 2.5, 1, 1, FAILED),
    ({"within": [1, 3]}, 3, None, None, SUCCESSFUL),
    ({"within": [1, 3]}, 3.1, None, None, FAILED),
    ({"above": 1}, 1, None, None, FAILED),
    ({"below": 1}, 0.5, None, None, SUCCESSFUL),
    ({"below": 1}, None, None, None, INCONCLUSIVE),
])
def test_judge_one_sample(assertion: dict[str, Any], value: float | None, first: float | None,
                          previous: float | None, phase: str) -> None:
    assert judge(Assertion.read(assertion), value, first, previous)[0] == phase


def test_healthy_window_is_go_only_at_its_end() -> None:
    st = run_window({"for": "4s", "every": "1s", "observations": [obs({"below": 10})]}, [1, 2, 3, 2, 1])
    assert (st.decision, st.complete, st.cycles_done) == (GO, True, 5)
    assert st.exit_code == 0


def test_breach_stops_at_once_with_rollback_naming_cycle() -> None:
    st = run_window({"for": "10s", "every": "1s", "observations": [obs({"below": 10})]},
                    [1, 2, 11, 1, 1, 1, 1, 1, 1, 1, 1])
    assert st.decision == ROLLBACK and st.stopped_early and not st.complete
    assert st.decided_by["name"] == "series" and st.decided_by["cycle"] == 2
    assert "11 not below 10" in st.decided_by["reason"]
    assert st.cycles_done == 3 and st.exit_code == 2


def test_failure_limit_tolerates_that_many() -> None:
    st = run_window({"for": "5s", "every": "1s", "observations": [obs({"below": 10}, failure_limit=2)]},
                    [11, 1, 11, 1, 11, 1])
    assert st.decision == ROLLBACK and st.decided_by["cycle"] == 4


def test_breach_that_recovers_within_grace_is_not_rollback() -> None:
    s1 = obs({"below": 10}, action="investigate", grace="3s")
    st = run_window({"for": "8s", "every": "1s", "observations": [s1]}, [1, 11, 11, 1, 1, 1, 1, 1, 1])
    assert st.decision == GO and st.complete
    assert st.trackers["series"].episodes[0]["recovered"] is True


def test_breach_that_outlasts_grace_is_rollback_after_it() -> None:
    s1 = obs({"below": 10}, action="investigate", grace="3s")
    st = run_window({"for": "8s", "every": "1s", "observations": [s1]}, [1, 11, 11, 11, 11, 11, 1, 1, 1])
    assert st.decision == ROLLBACK and st.decided_by["cycle"] == 4  # breach from t=1, grace 3s
    assert "grace 3s" in st.decided_by["reason"]


def test_open_investigation_at_the_end_is_investigate() -> None:
    s1 = obs({"below": 10}, action="investigate", grace="30s")
    st = run_window({"for": "3s", "every": "1s", "observations": [s1]}, [1, 1, 11, 11])
    assert st.decision == INVESTIGATE and st.exit_code == 3


def test_source_that_stops_answering_is_inconclusive_never_go() -> None:
    st = run_window({"for": "9s", "every": "1s", "observations": [obs({"below": 10})]},
                    [1, 1, 1, 1, None, None, None, None, None, None])
    assert st.decision == UNDECIDED and st.exit_code == 4
    assert "consecutive" in st.decided_by["reason"]


def test_no_data_and_too_few_samples_are_inconclusive() -> None:
    tracker = Tracker("x", Limits(min_samples=3), Assertion.read({"below": 1}))
    tracker.add(0, 0, 0.5)
    tracker.add(1, 1, 0.5)
    assert tracker.final(True)[0] == UNDECIDED
    tracker.add(2, 2, None)
    assert tracker.decision == UNDECIDED  # inconclusive_limit 0: the first sample without data


def test_interrupted_window_keeps_the_decision_so_far_marked_incomplete() -> None:
    st = run_window({"for": "9s", "every": "1s", "observations": [obs({"below": 10})]},
                    [1] * 10, interrupt_at=3)
    assert st.interrupted and not st.complete
    assert st.decision == UNDECIDED and st.decided_by["reason"].startswith("window incomplete")


def test_resume_continues_the_same_window_to_the_same_decision() -> None:
    watch = {"for": "6s", "every": "1s",
             "observations": [obs({"below": 10}, action="investigate", grace="2s")]}
    values = [1, 1, 11, 11, 11, 1, 1]
    whole = run_window(watch, list(values))
    clock = FakeClock()
    first = run_window(watch, list(values), clock=clock, interrupt_at=3)
    saved = WindowState.from_dict(json.loads(json.dumps(first.to_dict())))
    saved.interrupted, saved.decision = False, None
    resumed = run_window(watch, values[3:], state=saved, clock=clock)
    assert (resumed.decision, resumed.decided_by["cycle"]) == (whole.decision, whole.decided_by["cycle"])
    assert whole.decision == ROLLBACK


def test_long_window_memory_is_bounded() -> None:
    st = run_window({"for": "2000s", "every": "1s", "observations": [obs({"below": 10})]},
                    [1.0] * 2001)
    assert st.decision == GO and st.cycles_done == 2001
    assert len(st.cycles) <= 600 and len(st.trackers["series"].points) <= 600
    assert st.trackers["series"].successful == 2001


def test_grace_needs_investigate() -> None:
    with pytest.raises(ValueError, match="grace needs action: investigate"):
        read_spec({"observations": [obs({"below": 1}, grace="1m")]})


def test_day_long_window_report_is_bounded() -> None:
    from releasegate.watch.report import html_report

    small = run_window({"for": "100s", "every": "1s", "observations": [obs({"below": 10})]}, [1.0] * 101)
    big = run_window({"for": "2880s", "every": "1s", "observations": [obs({"below": 10})]},
                     [1.0] * 2881)
    assert big.decision == GO
    assert len(html_report(big, final=True)) < 12 * len(html_report(small, final=True))
    assert len(html_report(big, final=True)) < 400_000


def test_the_002_clocks_of_the_watched_checks() -> None:
    from releasegate.prometheus.triggers import BUILTIN
    from releasegate.watch.checks import READY_LIMITS, _limits_for_action

    clocks = {n: _limits_for_action(BUILTIN[n].action) for n in
              ("ready_503", "queue_stuck", "error_5xx", "s1_spike", "latency_spike")}
    assert {n: (c.action, c.grace_s) for n, c in clocks.items()} == {
        "ready_503": ("rollback", None), "queue_stuck": ("rollback", None),
        "error_5xx": ("rollback", None), "s1_spike": ("investigate", 900.0),
        "latency_spike": ("investigate", 1800.0)}
    assert (READY_LIMITS.action, READY_LIMITS.grace_s) == ("investigate", 300.0)  # 002 §6.1 > 5 dk


@pytest.mark.parametrize(("path", "where", "expect"), [
    ("jobs.*.completed", None, 7.0),
    ("jobs.0.total", None, 10.0),
    ("errors.*.count", {"status_code": [429, 503]}, 5.0),
    ("errors.*.count", {"status_code": 500}, 0.0),
])
def test_mcp_fields_index_sum_and_filter(path: str, where: Any, expect: float) -> None:
    from releasegate.watch.sources import field_of, number

    data = {"jobs": [{"total": 10, "completed": 3}, {"total": 5, "completed": 4}],
            "errors": [{"status_code": 429, "count": 3}, {"status_code": 404, "count": 9},
                       {"status_code": 503, "count": 2}]}
    assert number(field_of(data, path, where), path) == expect


def test_a_missing_field_is_an_error_sample_not_no_data() -> None:
    from releasegate.watch.sources import SampleError, field_of

    with pytest.raises(SampleError, match=r"no jobs\.0\.done"):
        field_of({"jobs": [{"total": 1}]}, "jobs.0.done")

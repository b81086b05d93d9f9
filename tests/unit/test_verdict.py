"""releasegate.gate.verdict.decide: exit codes 0-4 and their precedence (runbook 002 §4.2)."""

from __future__ import annotations

import pytest

from releasegate.gate.verdict import ExitCode, Judged, decide


def j(item: str, outcome: str = "passed", severity: str = "blocker", gate: str | None = None) -> Judged:
    return Judged(severity=severity, gate=gate, outcome=outcome, item=item)


READY = j("ready 200", "failed", gate="readiness")
BLOCKER = j("live 200", "failed")
FEEDBACK = j("alerts fire", "failed", severity="warning", gate="feedback")
WARNING = j("legacy endpoint", "failed", severity="warning")
PASSED = j("something passed")


@pytest.mark.parametrize(("results", "code", "verdict"), [
    ([PASSED], 0, "GO"),
    ([PASSED, READY], 1, "ROLLBACK"),
    ([PASSED, BLOCKER], 2, "ROLLBACK"),
    ([PASSED, FEEDBACK], 3, "INVESTIGATE"),
    ([PASSED, WARNING], 4, "INVESTIGATE"),
])
def test_each_exit_code(results, code, verdict):
    decision = decide(results)
    assert int(decision.exit_code) == code
    assert decision.verdict == verdict


@pytest.mark.parametrize(("results", "code"), [
    ([WARNING, FEEDBACK, BLOCKER, READY], ExitCode.ROLLBACK_READINESS),
    ([WARNING, FEEDBACK, BLOCKER], ExitCode.ROLLBACK_BLOCKER),
    ([WARNING, FEEDBACK], ExitCode.INVESTIGATE_FEEDBACK),
    ([WARNING], ExitCode.INVESTIGATE_WARNINGS),
])
def test_precedence_regardless_of_order(results, code):
    assert decide([PASSED, *results]).exit_code == code
    assert decide([PASSED, *reversed(results)]).exit_code == code


def test_readiness_gate_on_a_warning_does_not_roll_back():
    decision = decide([PASSED, j("ready flaps", "failed", severity="warning", gate="readiness")])
    assert decision.exit_code == ExitCode.INVESTIGATE_WARNINGS


def test_feedback_gate_on_a_blocker_rolls_back():
    decision = decide([PASSED, j("metrics scraped", "failed", gate="feedback")])
    assert decision.exit_code == ExitCode.ROLLBACK_BLOCKER


def test_error_counts_as_failure():
    decision = decide([PASSED, j("ready 200", "error", gate="readiness")])
    assert decision.exit_code == ExitCode.ROLLBACK_READINESS
    assert "ready 200" in decision.reason


def test_skipped_checks_do_not_count():
    results = [PASSED, j("mcp tools", "skipped"), j("ready", "skipped", gate="readiness"),
               j("warn", "skipped", severity="warning")]
    decision = decide(results)
    assert decision.exit_code == ExitCode.GO
    assert decision.verdict == "GO"


@pytest.mark.parametrize("results", [
    [],
    [j("a", "skipped"), j("b", "skipped", severity="warning")],
])
def test_nothing_passed_is_investigate_not_go(results):
    decision = decide(results)
    assert decision.verdict == "INVESTIGATE"
    assert decision.exit_code == ExitCode.INVESTIGATE_WARNINGS
    assert "nothing was verified" in decision.reason


def test_all_failed_is_decided_by_the_failures_not_by_nothing_passed():
    assert decide([BLOCKER]).exit_code == ExitCode.ROLLBACK_BLOCKER


def test_reason_names_the_deciding_check_and_counts_failures_by_severity_and_area():
    results = [PASSED, Judged("blocker", "readiness", "failed", "first ready", "t::first", "health",
                              "001 §6.1", "GET /healthz/ready returned 503"),
               BLOCKER, j("second ready", "error", gate="readiness"),
               Judged("warning", None, "failed", "pool", "t::pool", "observability", "004", "x")]
    decision = decide(results)
    assert decision.deciding == "t::first"
    assert decision.reason.startswith("readiness failed — first ready [001 §6.1]: GET /healthz/ready "
                                      "returned 503; ")
    assert decision.reason.endswith("3 blockers and 1 warning failed (health 1, observability 1)")
    assert "second ready" not in decision.reason
    assert decision.counts == {"blockers_failed": 3, "warnings_failed": 1, "inconclusive": 0,
                               "passed": 1, "not_applicable": 0, "waived": 0}


def test_waived_failures_do_not_decide_and_are_counted():
    decision = decide([PASSED, j("accepted", "waived")])
    assert (decision.verdict, decision.counts["waived"]) == ("GO", 1)
    assert "1 waived failure shown" in decision.reason


def test_the_weightiest_inconclusive_check_names_the_reason():
    """A blocker's 'too little traffic' says more than a warning's missing log line."""
    results = [PASSED, j("run_summary lines valid", "inconclusive", severity="warning"),
               j("5xx rate within 5 %", "inconclusive")]
    decision = decide(results)
    assert decision.reason.startswith("inconclusive, not verified — 5xx rate within 5 %")
    assert decision.reason.endswith("(+1 more)")


def test_inconclusive_is_investigate_never_go():
    decision = decide([PASSED, j("p95 vs baseline", "inconclusive", severity="warning")])
    assert (decision.verdict, int(decision.exit_code)) == ("INVESTIGATE", 4)
    assert decision.reason.startswith("inconclusive, not verified — p95 vs baseline")
    assert decide([PASSED, BLOCKER, j("x", "inconclusive")]).exit_code == ExitCode.ROLLBACK_BLOCKER


def test_reason_without_more_when_single():
    reason = decide([PASSED, BLOCKER, WARNING]).reason
    assert "live 200" in reason
    assert "more)" not in reason


def test_go_reason():
    assert decide([PASSED, j("other")]).reason == "all blocker and warning checks passed"


def test_accepts_a_generator():
    assert decide(r for r in [PASSED, WARNING]).exit_code == ExitCode.INVESTIGATE_WARNINGS


@pytest.mark.parametrize(("expected", "reported", "same"), [
    ("git:abc1234", "git:abc1234", True),
    ("git:abc1234", "git:abc1234def5678901234567890abcdef1234567", True),  # short given, full served
    ("git:abc1234def5678901234567890abcdef1234567", "git:abc1234", True),  # either way
    ("git:ABC1234", "git:abc1234ff", True),
    ("abc1234", "git:abc1234ff", True),  # a scheme on one side only
    ("git:abc1234", "git:abc1235ff", False),
    ("git:abc123", "git:abc1234ff", False),  # under 7 hex digits is no SHA
    ("git:abc1234", "svn:abc1234ff", False),
    ("v1.2", "v1.2.3", False),  # not SHAs: exact only
    ("git:abc1234", None, False),
])
def test_build_ids_match_git_shas_by_prefix(expected, reported, same):
    from releasegate.health.release import same_build

    assert same_build(expected, reported) is same

"""DESIGN rule 3: every check passes on the healthy reference stack and fails, for the expected
reason, on the fault it exists to catch — and nothing else fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from releasegate.reference.faults import FAULTS
from releasegate.reference.stack import running_stack
from tests.fault_matrix import MATRIX, Row
from tests.support import REPO, SUITES, run_suites


@pytest.mark.parametrize("row", MATRIX, ids=[r.id for r in MATRIX])
def test_fault_makes_exactly_the_expected_checks_fail(row: Row, tmp_path):
    with running_stack(row.faults, only=row.parts) as stack:
        run = run_suites(stack.profile_path, tmp_path / "reports", "-m", row.markers, *row.args)
    assert "INTERNALERROR" not in run.stdout + run.stderr
    failed = run.failed()
    assert set(failed) == set(row.failing), run.stdout[-3000:]
    for check, reason in row.failing.items():
        assert reason in failed[check], f"{check}: {failed[check]!r} lacks {reason!r}"
        assert "\n" not in failed[check]
    outcomes = run.outcomes()
    for check, reason in row.inconclusive.items():
        assert outcomes.get(check) == "inconclusive", f"{check}: {outcomes.get(check)}"
        assert reason in run.messages()[check], f"{check}: {run.messages()[check]!r} lacks {reason!r}"
    outputs = run.outputs()
    for planted in row.never_shown:
        assert planted not in outputs, f"{planted!r} reached an output"
    assert run.summary["verdict"] == row.verdict
    assert row.headline in run.summary["reason"], run.summary["reason"]
    remedies = {c["id"].split("::", 1)[1]: c.get("remedy") or "" for c in run.summary["checks"]}
    for check, remedy in row.remedies.items():
        assert remedy in remedies[check], f"{check}: remedy {remedies[check]!r} lacks {remedy!r}"
    assert run.returncode == row.exit_code == run.summary["exit_code"]
    if not row.faults:
        assert outcomes and set(outcomes.values()) == {"passed"}, outcomes


def test_every_fault_is_in_the_matrix():
    covered = {f for row in MATRIX for f in row.faults.split(",") if f}
    assert covered == set(FAULTS)


def test_every_check_is_caught_by_some_fault(tmp_path):
    """A check no fault makes fail is not proven (DESIGN rule 3)."""
    with running_stack() as stack:
        listed = subprocess.run([sys.executable, "-m", "pytest", str(SUITES), "--collect-only", "-q",
                                 f"--target={stack.profile_path}", f"--report-dir={tmp_path}"],
                                capture_output=True, text=True, cwd=REPO)
    checks = {line.split("::", 1)[1] for line in listed.stdout.splitlines() if "::" in line}
    assert len(checks) > 20, listed.stdout + listed.stderr
    caught = {c for row in MATRIX for c in row.failing}
    assert checks - caught == set()


def test_docs_table_is_generated_from_this_matrix():
    result = subprocess.run([sys.executable, "scripts/gen_fault_matrix_doc.py", "--check"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# Checks that read no signal of the target's own (they probe, or judge the profile), and the
# declared assertions, whose expectations (e.g. "no rows") are the user's to state.
NOT_SIGNAL_READING = {
    "data": {"test_database_reachable_and_read_only", "test_role_cannot_write",
             "test_postgres_port_not_public"},
    "redis": {"test_redis_ping", "test_redis_set_get_del", "test_redis_latency_p95",
              "test_redis_requires_auth", "test_redis_port_not_public"},
    "rollback or observability": {
        "test_sentry_dsn_well_formed", "test_previous_stable_revision_recorded",
        "test_feedback_stats_reachable", "test_system_health_reachable", "test_kill_switch_stops_pilot_jobs",
        "test_rate_limit_answers_429", "test_pilot_tenant_isolated"},
}


@pytest.mark.parametrize("markers", sorted(NOT_SIGNAL_READING))
def test_every_signal_reading_check_has_a_signal_absent_row(markers):
    """Issue 17: each check that reads a metric, series, log line, table, row or key is in a
    "signal absent" row, where it fails or is Inconclusive — never passes."""
    rows = [r for r in MATRIX if r.markers == markers]
    checks = {c for r in rows for c in (*r.failing, *r.inconclusive)}
    covered = {c for r in rows if r.signal_absent for c in (*r.failing, *r.inconclusive)}
    readers = {c for c in checks if not c.startswith("test_declared_assertion[")}
    readers -= NOT_SIGNAL_READING[markers]
    assert readers - covered == set()

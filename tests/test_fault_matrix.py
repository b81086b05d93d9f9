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
        outcomes = run.outcomes()
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

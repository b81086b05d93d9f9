"""The data checks say what runbook 000 says (issue 17, item 5), against a real Postgres.

One reference stack (data part) for the module; each test changes the data as a collector that
follows the runbook but was written elsewhere would leave it, and runs the one check it is about:

- §5.3: coverage in a fraction column (0-1), judged as a drop against the previous run's
  summary.json in the same report directory; the message shows the unit.
- §5.7: more than 50 standings tasks still open with missing_teams_in_core:N are counted exactly,
  completed ones are not counted.
- §6.2: a job whose queued tasks wait while another of its tasks moved is not stuck; a job none
  of whose tasks moved over the window is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from releasegate.reference.stack import Stack, running_stack
from tests.support import run_suites, write_profile


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack(only=("data",)) as running:
        yield running


def execute(stack: Stack, sql: str) -> None:
    with psycopg.connect(stack.postgres.dsn("reference"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def profile(stack: Stack, tmp_path: Path, **database: Any) -> Path:
    data = yaml.safe_load(stack.profile_path.read_text())
    data["database"].update(database)
    return write_profile(tmp_path / "target.yaml", data)


def check(path: Path, reports: Path, name: str) -> tuple[str, str]:
    run = run_suites(path, reports, "-m", "data", "-k", name)
    checks = {c["id"].split("::", 1)[1]: c for c in run.summary["checks"]}
    return checks[name]["outcome"], checks[name]["message"]


def test_coverage_in_a_fraction_column_drops_against_the_previous_run(stack, tmp_path):
    execute(stack, "UPDATE mart.coverage_status SET overall_coverage = overall_coverage / 100")
    path = profile(stack, tmp_path, coverage={"max_age_s": 86400})  # no profile baseline
    reports = tmp_path / "reports"
    outcome, message = check(path, reports, "test_coverage_not_dropped")
    assert outcome == "inconclusive" and "no baseline for overall_coverage" in message
    assert "unit fraction, detected: no value over 1 (highest 0.99)" in message
    assert check(path, reports, "test_coverage_not_dropped")[0] == "passed"  # same values
    execute(stack, "UPDATE mart.coverage_status SET overall_coverage = 0.43 "
                   "WHERE league_id = 3 AND endpoint = 'injuries'")
    outcome, message = check(path, reports, "test_coverage_not_dropped")
    assert outcome == "failed", message
    assert message.startswith("overall_coverage dropped in 1 of 30 rows against the baseline "
                              "(previous run's summary.json")
    assert message.endswith("league 3 season 2025 injuries 0.43 (43 %), was 0.93 (93 %)")
    again = check(path, reports, "test_coverage_not_dropped")  # still low: still reported
    assert again[0] == "failed" and again[1].endswith("injuries 0.43 (43 %), was 0.93 (93 %)")


def test_standings_tasks_still_open_are_counted_exactly_past_50(stack, tmp_path):
    execute(stack, """
        INSERT INTO core.backfill_progress (job_id, task_key, completed, last_error, updated_at)
        SELECT 'standings_backfill', 'league:' || (100 + g) || ':season:2025', g > 60,
               'missing_teams_in_core:2', now() - interval '5 minutes'
        FROM generate_series(1, 65) g""")
    outcome, message = check(profile(stack, tmp_path), tmp_path / "reports",
                             "test_no_missing_teams_in_core")
    assert outcome == "failed"
    assert message.startswith("60 standings tasks still open with last_error missing_teams_in_core:N "
                              "(of 75 standings tasks, 120 teams missing in all): ")


def test_a_job_is_stuck_only_when_none_of_its_tasks_moved(stack, tmp_path):
    execute(stack, """
        INSERT INTO core.backfill_progress (job_id, task_key, completed, updated_at)
        SELECT 'injuries_backfill', 'queued:' || g, false, now() - interval '2 days'
        FROM generate_series(1, 30) g;
        INSERT INTO core.backfill_progress (job_id, task_key, completed, updated_at)
        VALUES ('injuries_backfill', 'running:1', false, now() - interval '1 minute');
        INSERT INTO core.backfill_progress (job_id, task_key, completed, updated_at)
        SELECT 'teams_backfill', 'league:' || g, false, now() - interval '3 hours'
        FROM generate_series(1, 4) g""")
    outcome, message = check(profile(stack, tmp_path), tmp_path / "reports",
                             "test_backfill_not_stuck")
    assert outcome == "failed"
    assert message.startswith("1 backfill job(s) made no progress over 1h 0m "
                              "(database.backfill.stuck_after_s=3600 (default; 000 §6.2")
    assert "teams_backfill (4 of 4 tasks open, none moved for 3h 0m" in message
    assert "injuries_backfill" not in message

"""Runbook 000 §2.5 / §6.2 (backfill progress), §5.7 (standings skipped for missing teams) and
§6.3 (team bootstrap), read from core.backfill_progress and core.team_bootstrap_progress.

What the runbook says is what is judged: a job is stuck when it made no progress (§6.2: over
the observation the completed ratio must rise), not when a queued task waits its turn; §5.7 is
about *standings* tasks still open with ``missing_teams_in_core:N``, counted exactly. Every
threshold the runbook does not give is a named default (releasegate/core/defaults.py), shown in
the evidence and in the message it decides.
"""

from __future__ import annotations

import pytest

from releasegate.core.defaults import Default, resolve
from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.core.profile import require_section
from releasegate.postgres.view import human_age, show

pytestmark = pytest.mark.data

BACKFILL_BY_JOB = """\
SELECT job_id, COUNT(*) AS total, SUM(CASE WHEN completed THEN 1 ELSE 0 END) AS completed
FROM core.backfill_progress
GROUP BY job_id
ORDER BY job_id"""
STUCK_AFTER = Default("database.backfill.stuck_after_s", 3600,
                      "000 §6.2: over a 30-60 min observation the completed ratio must rise; its upper end")
STANDINGS_JOBS = Default("database.backfill.standings_jobs", "%standings%",
                         "releasegate default: a job_id LIKE pattern for 000 §5.7's standings tasks")
MISSING_PREFIX = Default("database.backfill.missing_teams_prefix", "missing_teams_in_core:", "000 §5.7")
BOOTSTRAP_MIN = Default("database.team_bootstrap.min_completed_ratio", 1.0,
                        "000 §6.3: the wave's leagues are bootstrapped")
NO_TASKS = "core.backfill_progress has no tasks: no backfill progress to watch (000 §2.5)"


@pytest.mark.runbook("000", "§6.2", "each backfill job's completed ratio is at least the minimum")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §6.2: get_backfill_progress() — the completed ratio must rise; if it does not, "
                    "get_recent_log_errors() for the failing tasks and the 429 trend (000 §5.2)")
def test_backfill_completion(db, target, evidence):
    cfg = require_section(target, "database.backfill")
    if "min_completed_ratio" not in cfg:
        pytest.skip("database.backfill.min_completed_ratio: not configured in target " + target.name)
    minimum = float(cfg["min_completed_ratio"])
    jobs = db.query(BACKFILL_BY_JOB, what="backfill progress").dicts()
    ratios = {j["job_id"]: (int(j["completed"]), int(j["total"])) for j in jobs}
    evidence.note(min_completed_ratio=minimum, jobs={k: f"{c}/{t}" for k, (c, t) in ratios.items()})
    if not jobs:
        raise CheckFailed(NO_TASKS)
    behind = [f"{job} {c}/{t} ({c / t:.0%})" for job, (c, t) in ratios.items() if c / t < minimum]
    if behind:
        raise CheckFailed(f"backfill below {minimum:.0%} completed: {', '.join(behind)}")


@pytest.mark.runbook("000", "§6.2", "no backfill job with open tasks went without progress over the window")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §5.2: a rate-limited backfill stalls — check get_raw_error_summary("
                    "since_minutes=60) for 429s and lower BACKFILL_FIXTURES_MAX_TASKS_PER_RUN / "
                    "MAX_PAGES_PER_TASK / WINDOW_DAYS; otherwise restart the collector's backfill job")
def test_backfill_not_stuck(db, target, evidence):
    cfg = require_section(target, "database.backfill")
    window, window_said = resolve(cfg, STUCK_AFTER)
    # A job's progress is its newest updated_at: a task completed or moved. Queued tasks that
    # wait their turn keep old timestamps and are not a stall while another task of the job moves.
    jobs = db.query("SELECT job_id, count(*) AS total, count(*) FILTER (WHERE NOT completed) AS open, "
                    "max(updated_at) AS last_moved, "
                    "extract(epoch FROM now() - max(updated_at))::float8 AS idle_s "
                    "FROM core.backfill_progress GROUP BY job_id ORDER BY job_id",
                    what="backfill progress per job").dicts()
    evidence.note(stuck_after=window_said, jobs={j["job_id"]: {
        "open": j["open"], "total": j["total"], "last_moved": show(j["last_moved"]),
        "idle_s": round(j["idle_s"])} for j in jobs})
    if not jobs:
        raise CheckFailed(NO_TASKS)
    stuck = [j for j in jobs if j["open"] and j["idle_s"] > float(window)]
    if stuck:
        shown = ", ".join(f"{j['job_id']} ({j['open']} of {j['total']} tasks open, none moved for "
                          f"{human_age(j['idle_s'])}, last {show(j['last_moved'])})" for j in stuck[:3])
        raise CheckFailed(f"{len(stuck)} backfill job(s) made no progress over {human_age(float(window))} "
                          f"({window_said}): {shown}")


@pytest.mark.runbook("000", "§5.7", "no standings task is still open with missing_teams_in_core")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §5.7: the dependencies layer must fall back to GET /teams?id=<team_id> and "
                    "upsert CORE teams/venues; the next standings backfill run then completes the task")
def test_no_missing_teams_in_core(db, target, evidence):
    cfg = require_section(target, "database.backfill")
    jobs, jobs_said = resolve(cfg, STANDINGS_JOBS)
    prefix, _ = resolve(cfg, MISSING_PREFIX)
    params = {"jobs": jobs, "prefix": prefix}
    missing = "starts_with(last_error, %(prefix)s)"
    counts = db.query(f"SELECT count(*) AS standings_tasks, "
                      f"count(*) FILTER (WHERE NOT completed AND {missing}) AS open_missing, "
                      f"count(*) FILTER (WHERE completed AND {missing}) AS completed_missing, "
                      f"sum(substring(last_error FROM '([0-9]+)$')::int) "
                      f"FILTER (WHERE NOT completed AND {missing}) AS teams_missing "
                      f"FROM core.backfill_progress WHERE job_id LIKE %(jobs)s", params,
                      what="standings tasks with missing_teams_in_core").dicts()[0]
    evidence.note(standings_jobs=jobs_said, prefix=prefix, **counts)
    if not counts["standings_tasks"]:
        raise Inconclusive(f"core.backfill_progress has no standings task (job_id LIKE {jobs!r}): 000 §5.7 "
                           "cannot be judged", remedy="set database.backfill.standings_jobs to the job_id "
                           "pattern of the standings backfill")
    if counts["open_missing"]:
        first = db.query(f"SELECT job_id, task_key, last_error FROM core.backfill_progress "
                         f"WHERE job_id LIKE %(jobs)s AND NOT completed AND {missing} "
                         f"ORDER BY updated_at DESC, task_key LIMIT 3", params, what="first of them").dicts()
        teams = f", {counts['teams_missing']} teams missing in all" if counts["teams_missing"] else ""
        shown = ", ".join(f"{t['task_key']} ({t['last_error']})" for t in first)
        raise CheckFailed(f"{counts['open_missing']} standings tasks still open with last_error {prefix}N "
                          f"(of {counts['standings_tasks']} standings tasks{teams}): {shown}")


@pytest.mark.runbook("000", "§6.3", "team bootstrap is completed for the wave's leagues")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §5.2: core.team_bootstrap_progress is the /teams dependency cache — leagues "
                    "not bootstrapped call /teams again; check the 429 trend with "
                    "get_raw_error_summary(since_minutes=60) and the backfill rate settings")
def test_team_bootstrap_complete(db, target, evidence):
    value, said = resolve(require_section(target, "database.team_bootstrap"), BOOTSTRAP_MIN)
    minimum = float(value)
    counts = {bool(r["completed"]): int(r["count"]) for r in db.query(
        "SELECT completed, COUNT(*) FROM core.team_bootstrap_progress GROUP BY completed",
        what="team bootstrap").dicts()}
    done, total = counts.get(True, 0), sum(counts.values())
    evidence.note(completed=done, total=total, min_completed_ratio=said)
    if not total:
        raise CheckFailed("core.team_bootstrap_progress is empty: no league was bootstrapped")
    if done / total < minimum:
        open_ = db.query("SELECT league_id, season FROM core.team_bootstrap_progress WHERE NOT completed "
                         "ORDER BY league_id, season LIMIT 10", what="leagues not bootstrapped").dicts()
        leagues = ", ".join(f"{r['league_id']}/{r['season']}" for r in open_)
        raise CheckFailed(f"{done} of {total} league-seasons bootstrapped ({done / total:.0%}), expected "
                          f"at least {minimum:.0%}; open: {leagues}")

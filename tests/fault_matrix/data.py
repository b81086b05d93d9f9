"""Fault matrix rows of the data area (runs `-m data` on a stack with the data part)."""

from __future__ import annotations

from releasegate.reference.data import ASSERTIONS
from tests.fault_matrix import Row

PARTS = ("data",)
ENDPOINTS = ("/fixtures", "/standings", "/injuries", "/teams")
CORE = ("fixtures", "standings", "injuries")
# Every data check but the exposure probe needs the database.
NEEDS_DATABASE = [
    "test_database_reachable_and_read_only", "test_role_cannot_write", "test_raw_has_rows",
    *(f"test_raw_endpoint_fresh[{e}]" for e in ENDPOINTS),
    "test_quota_remaining_above_floor[daily]", "test_quota_remaining_above_floor[minute]",
    *(f"test_core_table_filled[core.{t}]" for t in CORE),
    *(f"test_raw_growth_reaches_core[{e}->core.{e[1:]}]" for e in ENDPOINTS),
    "test_coverage_fresh", "test_coverage_not_dropped", "test_backfill_completion",
    "test_backfill_not_stuck", "test_no_missing_teams_in_core", "test_team_bootstrap_complete",
    *(f"test_declared_assertion[{a['name']}]" for a in ASSERTIONS),
]
STALE = "the collector is not fetching it"
NOT_REACHING_CORE = "was not updated (last 3d 0h ago"
NEVER_REACHED_CORE = "was not updated (never): the transform/upsert is not reaching CORE"


NO_TASKS = "core.backfill_progress has no tasks: no backfill progress to watch"
STUCK = "1 backfill job(s) made no progress over 1h 0m (database.backfill.stuck_after_s=3600 (default"


def row(faults: str, exit_code: int, verdict: str, failing: dict[str, str] | None = None,
        inconclusive: dict[str, str] | None = None, signal_absent: bool = False) -> Row:
    return Row(faults, exit_code, verdict, failing or {}, markers="data", parts=PARTS,
               inconclusive=inconclusive or {}, signal_absent=signal_absent or bool(inconclusive))


ROWS: list[Row] = [
    row("", 0, "GO"),
    row("raw_stale", 2, "ROLLBACK", {
        "test_raw_endpoint_fresh[/fixtures]": "newest RAW fetch of /fixtures is 3d 0h old",
        "test_raw_endpoint_fresh[/standings]": "over its max age 6h 0m: " + STALE,
        "test_raw_endpoint_fresh[/injuries]": "over its max age 6h 0m: " + STALE,
        "test_raw_endpoint_fresh[/teams]": "over its max age 1d 0h: " + STALE,
        "test_declared_assertion[raw_newest_fetch]": "raw_newest_fetch: newest = ",
        "test_declared_assertion[raw_rows_last_hour]": "raw_rows_last_hour: 0 rows, expected at least 1",
    }),
    # Postgres stopped: every check that needs it fails with the same one line, the rest still runs.
    row("db_down", 2, "ROLLBACK",
        dict.fromkeys(NEEDS_DATABASE, "connection to server at")),
    row("raw_empty", 2, "ROLLBACK", {
        "test_raw_has_rows": "raw.api_responses is empty: the collector has never stored an API response",
        **{f"test_raw_endpoint_fresh[{e}]": f"raw.api_responses has no fetch of {e} at all"
           for e in ENDPOINTS},
        "test_quota_remaining_above_floor[daily]": "no recent RAW response carries "
                                                   "x-ratelimit-requests-remaining",
        "test_quota_remaining_above_floor[minute]": "no recent RAW response carries X-RateLimit-Remaining",
        "test_declared_assertion[raw_newest_fetch]": "raw_newest_fetch: newest is empty (NULL)",
        "test_declared_assertion[raw_rows_last_hour]": "raw_rows_last_hour: 0 rows, expected at least 1",
    }, {f"test_raw_growth_reaches_core[{e}->core.{e[1:]}]": f"raw.api_responses got no {e} rows in the "
        f"last 1h 0m: whether they reach core.{e[1:]} cannot be seen" for e in ENDPOINTS}),
    # Signal absent: the progress tables are empty; nothing that reads them passes.
    row("data_progress_absent", 4, "INVESTIGATE", {
        "test_coverage_fresh": "mart.coverage_status has no rows: coverage was never calculated",
        "test_coverage_not_dropped": "mart.coverage_status has 0 rows: no coverage to compare",
        "test_backfill_completion": NO_TASKS,
        "test_backfill_not_stuck": NO_TASKS,
        "test_team_bootstrap_complete": "core.team_bootstrap_progress is empty: no league was bootstrapped",
    }, {"test_no_missing_teams_in_core": "core.backfill_progress has no standings task (job_id LIKE "
                                         "'%standings%'): 000 §5.7 cannot be judged"}),
    row("raw_without_core", 2, "ROLLBACK", {
        "test_raw_growth_reaches_core[/fixtures->core.fixtures]": "but core.fixtures " + NOT_REACHING_CORE,
        "test_raw_growth_reaches_core[/standings->core.standings]": "but core.standings " + NOT_REACHING_CORE,
        "test_raw_growth_reaches_core[/injuries->core.injuries]": "but core.injuries " + NOT_REACHING_CORE,
        "test_raw_growth_reaches_core[/teams->core.teams]": "but core.teams " + NOT_REACHING_CORE,
    }),
    row("core_empty", 2, "ROLLBACK", {
        "test_core_table_filled[core.fixtures]": "core.fixtures has 0 rows, expected at least 1",
        "test_core_table_filled[core.standings]": "core.standings has 0 rows",
        "test_core_table_filled[core.injuries]": "core.injuries has 0 rows",
        "test_raw_growth_reaches_core[/fixtures->core.fixtures]": NEVER_REACHED_CORE,
        "test_raw_growth_reaches_core[/standings->core.standings]": NEVER_REACHED_CORE,
        "test_raw_growth_reaches_core[/injuries->core.injuries]": NEVER_REACHED_CORE,
        "test_declared_assertion[fixtures_loaded]": "fixtures_loaded: fixtures is 0, expected at least 1000",
    }, signal_absent=True),
    row("quota_low", 4, "INVESTIGATE", {
        "test_quota_remaining_above_floor[daily]": "x-ratelimit-requests-remaining is 120 in the newest "
                                                   "response",
        "test_quota_remaining_above_floor[minute]": "X-RateLimit-Remaining is 2 in the newest response",
        "test_declared_assertion[raw_errors_last_hour]": "raw_errors_last_hour: 8 rows, expected at most 5",
    }),
    row("coverage_stale", 4, "INVESTIGATE", {
        "test_coverage_fresh": "mart.coverage_status was last calculated 3d 0h ago",
    }),
    row("coverage_drop", 4, "INVESTIGATE", {
        "test_coverage_not_dropped": "unit percent, detected: values up to 99; database.coverage."
                                     "max_drop_points=0 (default; 000 §5.3 names any drop of "
                                     "overall_coverage)): league 3 season 2025 injuries 42.5 %, was 85 %, "
                                     "league 7 season 2025 injuries 42.5 %, was 85 %",
        "test_declared_assertion[no_low_coverage]": "no_low_coverage: 2 rows, expected none (first: "
                                                    "league_id=3",
    }),
    row("backfill_stuck", 4, "INVESTIGATE", {
        "test_backfill_not_stuck": STUCK,
        "test_backfill_completion": "backfill below 70% completed: fixtures_backfill 30/50 (60%)",
        "test_declared_assertion[open_backfill_tasks]": "open_backfill_tasks: count is 20, expected at "
                                                        "most 15",
    }),
    row("missing_teams_in_core", 4, "INVESTIGATE", {
        "test_no_missing_teams_in_core": "2 standings tasks still open with last_error "
                                         "missing_teams_in_core:N (of 10 standings tasks, ",
        "test_declared_assertion[missing_teams_errors]": "missing_teams_errors: count is 2, expected 0",
    }),
    row("team_bootstrap_incomplete", 4, "INVESTIGATE", {
        "test_team_bootstrap_complete": "8 of 10 league-seasons bootstrapped (80%), expected at least "
                                        "100%; open: 9/2025, 10/2025",
    }),
    row("db_role_writable", 2, "ROLLBACK", {
        "test_role_cannot_write": "role releasegate_ro can write (INSERT, UPDATE, DELETE on 8 tables "
                                  "core.backfill_progress",
    }),
    row("db_port_exposed", 2, "ROLLBACK", {
        "test_postgres_port_not_public": "Postgres port answers on a public address: 127.0.0.2:",
    }),
]

"""Data part of the reference stack: the collector's pipeline tables (000 §2) and their faults.

The seed (fixtures/seed/schema.sql, data.sql) is a collector that runs: RAW fetched a minute
ago, CORE upserted in the last hour, coverage computed half an hour ago, a backfill in progress.
readonly_role.sql adds the role the data suite connects as (SELECT only). Each fault below is
what the runbook's incident section describes, done to the data with the owner's connection
after seeding; ``db_port_exposed`` publishes the Postgres port on 127.0.0.2, the "public"
address on one machine.
"""

from __future__ import annotations

from typing import Any

import psycopg

from releasegate.reference.forward import Forwarder
from releasegate.reference.parts import Fault, Part, StackContext

PUBLIC_HOST = "127.0.0.2"  # on one machine: a server bound to 127.0.0.1 refuses here
READ_ONLY_ROLE = "releasegate_ro"

FAULT_SQL: dict[str, str] = {
    # The collector stopped fetching three days ago (000 §2.1).
    "raw_stale": "UPDATE raw.api_responses SET fetched_at = fetched_at - interval '3 days'",
    # The collector never stored a response (a new environment, or RAW wiped by a migration).
    "raw_empty": "TRUNCATE raw.api_responses",
    # RAW keeps growing but no upsert reaches CORE (000 §5.2).
    "raw_without_core": """
        UPDATE core.fixtures SET updated_at = updated_at - interval '3 days';
        UPDATE core.standings SET updated_at = updated_at - interval '3 days';
        UPDATE core.injuries SET updated_at = updated_at - interval '3 days';
        UPDATE core.teams SET updated_at = updated_at - interval '3 days'""",
    # A migration or a bad transform left CORE empty (000 §2.3).
    "core_empty": "TRUNCATE core.injuries, core.standings, core.fixtures",
    # Quota nearly spent and the API answering 429 (000 §5.1, §5.2).
    "quota_low": """
        INSERT INTO raw.api_responses (endpoint, status_code, fetched_at, response_headers, body)
        SELECT '/teams', 429, now() - (g || ' seconds')::interval,
               jsonb_build_object('x-ratelimit-requests-remaining', 140 + g, 'X-RateLimit-Remaining', 0),
               jsonb_build_object('errors', jsonb_build_object('rateLimit', 'Too many requests'))
        FROM generate_series(1, 8) g;
        INSERT INTO raw.api_responses (endpoint, status_code, fetched_at, response_headers, body)
        VALUES ('/fixtures', 200, now(), jsonb_build_object('x-ratelimit-requests-remaining', 120,
                'X-RateLimit-Remaining', 2), jsonb_build_object('results', 3))""",
    # The coverage job has not run for three days (000 §2.4).
    "coverage_stale": "UPDATE mart.coverage_status SET calculated_at = now() - interval '3 days'",
    # Coverage of two leagues' injuries fell (000 §5.3).
    "coverage_drop": """UPDATE mart.coverage_status SET overall_coverage = 42.5
                        WHERE league_id IN (3, 7) AND endpoint = 'injuries'""",
    # The backfill worker died two days ago with 2024 half redone (000 §2.5, §6.2).
    "backfill_stuck": """
        UPDATE core.backfill_progress SET completed = false, updated_at = now() - interval '2 days'
        WHERE job_id = 'fixtures_backfill' AND (NOT completed OR task_key LIKE '%:season:2024')""",
    # Standings tasks skipped for teams missing in CORE (000 §5.7).
    "missing_teams_in_core": """
        UPDATE core.backfill_progress
        SET completed = false, last_error = 'missing_teams_in_core:' || (length(task_key) % 3 + 1),
            updated_at = now() - interval '4 minutes'
        WHERE job_id = 'standings_backfill'
          AND task_key IN ('league:4:season:2025', 'league:8:season:2025')""",
    # /teams bootstrap never finished for two leagues of the wave (000 §6.3).
    "team_bootstrap_incomplete": """
        UPDATE core.team_bootstrap_progress SET completed = false, updated_at = now()
        WHERE league_id IN (9, 10)""",
    # Signal absent: the progress tables the §2.4-§6.3 checks read hold nothing (a new database,
    # a migration that dropped them): every check reading them fails or is Inconclusive.
    "data_progress_absent": "TRUNCATE mart.coverage_status, core.backfill_progress, "
                            "core.team_bootstrap_progress",
    # Someone ran GRANT ALL on CORE to the monitoring role (000 §5.5: minimum privileges).
    "db_role_writable": f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA core TO {READ_ONLY_ROLE}",
}

FAULTS = (
    Fault("raw_stale", "raw.api_responses has no fetch newer than three days", "000 §2.1"),
    Fault("raw_empty", "raw.api_responses is empty", "000 §2.1"),
    Fault("raw_without_core", "RAW keeps growing but no CORE row was upserted for three days", "000 §5.2"),
    Fault("core_empty", "core.fixtures, core.standings and core.injuries are empty", "000 §2.3"),
    Fault("quota_low", "the newest quota headers show 120 daily / 2 per-minute requests left; 429s",
          "000 §2.2, §5.1"),
    Fault("coverage_stale", "mart.coverage_status was last calculated three days ago", "000 §2.4"),
    Fault("coverage_drop", "overall_coverage of two leagues' injuries fell to 42.5", "000 §5.3"),
    Fault("backfill_stuck", "20 fixtures backfill tasks open, none updated for two days",
          "000 §2.5, §6.2"),
    Fault("missing_teams_in_core", "standings backfill tasks fail with missing_teams_in_core:N",
          "000 §5.7"),
    Fault("team_bootstrap_incomplete", "two leagues' /teams bootstrap is not completed", "000 §6.3"),
    Fault("data_progress_absent", "mart.coverage_status, core.backfill_progress and "
          "core.team_bootstrap_progress are empty", "000 §2.4, §2.5, §5.3, §5.7, §6.3"),
    Fault("db_role_writable", "the role releasegate connects as holds INSERT/UPDATE/DELETE on core.*",
          "000 §5.5"),
    Fault("db_port_exposed", "the Postgres port answers on the public address 127.0.0.2", "000 §5.5"),
)


def apply_faults(ctx: StackContext) -> None:
    statements = [FAULT_SQL[name] for name in sorted(ctx.faults) if name in FAULT_SQL]
    if statements:
        with psycopg.connect(ctx.dsn, autocommit=True, connect_timeout=5) as conn:
            for sql in statements:
                conn.execute(sql)
    if "db_port_exposed" in ctx.faults:
        forwarder = Forwarder((PUBLIC_HOST, ctx.postgres.port), (ctx.postgres.host, ctx.postgres.port))
        ctx.exit_stack.callback(forwarder.start().stop)
        ctx.log(f"Postgres published on {PUBLIC_HOST}:{ctx.postgres.port}")


# Declared assertions of the reference profile: one per kind of expectation (docs/profile.md).
ASSERTIONS: list[dict[str, Any]] = [
    {"name": "raw_newest_fetch", "description": "the newest RAW fetch is under an hour old",
     "sql": "SELECT max(fetched_at) AS newest FROM raw.api_responses",
     "expect": {"max_age_s": 3600, "column": "newest"}, "severity": "blocker"},
    {"name": "raw_rows_last_hour", "description": "the collector wrote RAW rows in the last hour",
     "sql": "SELECT id FROM raw.api_responses WHERE fetched_at > now() - interval '1 hour'",
     "expect": {"min_rows": 1}},
    {"name": "raw_errors_last_hour", "description": "at most 5 RAW responses with 4xx/5xx in the last hour",
     "sql": "SELECT id, endpoint, status_code FROM raw.api_responses "
            "WHERE status_code >= 400 AND fetched_at > now() - interval '1 hour'",
     "expect": {"max_rows": 5}},
    {"name": "fixtures_loaded", "sql": "SELECT count(*) AS fixtures FROM core.fixtures",
     "expect": {"at_least": 1000}},
    {"name": "no_low_coverage", "description": "no league/endpoint under 50 % coverage",
     "sql": "SELECT league_id, season, endpoint, overall_coverage FROM mart.coverage_status "
            "WHERE overall_coverage < 50",
     "expect": {"no_rows": True}},
    {"name": "open_backfill_tasks", "sql": "SELECT count(*) FROM core.backfill_progress WHERE NOT completed",
     "expect": {"at_most": 15}},
    {"name": "missing_teams_errors",
     "sql": "SELECT count(*) FROM core.backfill_progress WHERE last_error LIKE 'missing_teams_in_core:%'",
     "expect": {"equals": 0}},
]


def profile(ctx: StackContext) -> dict[str, Any]:
    pg = ctx.postgres
    dbname = ctx.dsn.rsplit("/", 1)[-1]
    return {"database": {
        "dsn": f"postgresql://{READ_ONLY_ROLE}@{pg.host}:{pg.port}/{dbname}",
        "connect_timeout_s": 2, "statement_timeout_s": 3, "lock_timeout_s": 1,
        "raw": {"max_age_s": {"/fixtures": 3600, "/standings": 21600, "/injuries": 21600,
                              "/teams": 86400}},
        "quota": {"daily_min": 1000, "minute_min": 10},
        "core": {"tables": ["core.fixtures", "core.standings", "core.injuries"]},
        "raw_to_core": {"window_s": 3600, "pairs": [
            {"endpoint": "/fixtures", "table": "core.fixtures"},
            {"endpoint": "/standings", "table": "core.standings"},
            {"endpoint": "/injuries", "table": "core.injuries"},
            {"endpoint": "/teams", "table": "core.teams"}]},
        # §5.3: no previous run in a fresh report directory, so a profile baseline (seed: 90-99 %)
        "coverage": {"max_age_s": 86400, "baseline_percent": 85},
        "backfill": {"min_completed_ratio": 0.7},  # stuck_after_s: the named default (000 §6.2)
        "team_bootstrap": {"min_completed_ratio": 1.0},
        "assertions": ASSERTIONS,
        "exposure": {"public_hosts": [PUBLIC_HOST], "timeout_s": 1},
    }}


PART = Part("data", order=20, faults=FAULTS, seed_sql=("readonly_role.sql",),
            apply_faults=apply_faults, profile=profile)

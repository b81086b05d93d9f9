"""Fault matrix rows of the health area (runs `-m health`)."""

from __future__ import annotations

from tests.fault_matrix import Row

READY_503 = {
    "test_ready_returns_200": "/healthz/ready returned 503, expected 200",
    "test_ready_stable_over_window": "3 of 3 polls of /healthz/ready over 0.6s were not ready "
                                     "(503, 503, 503)",
    "test_release_ready_returns_200": "/health/ready returned 503, expected 200",
}

ROWS: list[Row] = [
    Row("", 0, "GO"),
    Row("db_down", 1, "ROLLBACK", {
        **READY_503,
        "test_ready_reports_db_ok": "reports db status 'error', expected 'ok'",
        "test_release_status_is_ready": "reports status 'not_ready', expected 'ready'; checks: database",
        "test_release_dependency_check_ok[database]": "checks.database is 'error': connection",
    }),
    Row("redis_down", 1, "ROLLBACK", {
        **READY_503,
        "test_ready_reports_redis_ok": "reports redis status 'error', expected 'ok'",
        "test_release_status_is_ready": "reports status 'not_ready', expected 'ready'; checks: queue",
        "test_release_dependency_check_ok[queue]": "checks.queue is 'error'",
    }),
    Row("ready_200_while_db_down", 1, "ROLLBACK", {
        "test_ready_reports_db_ok": "reports db status 'error', expected 'ok'",
        "test_ready_status_code_matches_dependencies": "answered 200 while reporting status 'not_ready'",
        "test_release_ready_returns_200": "/health/ready returned 503, expected 200",
        "test_release_status_is_ready": "reports status 'not_ready'",
        "test_release_dependency_check_ok[database]": "checks.database is 'error'",
    }),
    Row("live_depends_on_db", 4, "INVESTIGATE", {
        "test_live_does_not_check_dependencies": "/healthz/live checks dependencies (db)",
    }),
    Row("db_down,live_depends_on_db", 1, "ROLLBACK", {
        **READY_503,
        "test_live_returns_200": "/healthz/live returned 503, expected 200",
        "test_live_does_not_check_dependencies": "/healthz/live checks dependencies (answers 503)",
        "test_ready_reports_db_ok": "reports db status 'error'",
        "test_release_status_is_ready": "reports status 'not_ready'",
        "test_release_dependency_check_ok[database]": "checks.database is 'error'",
    }),
    Row("wrong_environment", 2, "ROLLBACK", {
        "test_ready_reports_expected_environment":
            "reports environment 'development', expected 'staging'",
    }),
    Row("build_id_missing", 2, "ROLLBACK", {
        "test_release_build_id_is_expected": "has no build_id",
        "test_release_ready_matches_schema": "'build_id' is a required property",
    }),
    Row("build_id_stale", 2, "ROLLBACK", {
        "test_release_build_id_is_expected": "reports build_id 'git:0ld0ld0', expected 'git:ref1234'",
    }),
    Row("config_hash_malformed", 2, "ROLLBACK", {
        "test_release_config_hash_is_expected": "config_hash 'sha256:NOT-A-HASH!' is malformed",
        "test_release_ready_matches_schema": "at config_hash: 'sha256:NOT-A-HASH!' does not match",
    }),
    Row("ready_slow", 1, "ROLLBACK", {
        "test_probe_answers_within_timeout[ready]": "over its probe timeoutSeconds (1s)",
        "test_ready_stable_over_window": "3 of 3 polls of /healthz/ready over 0.6s were not ready "
                                         "(no answer in time",
    }),
    Row("probes_slow", 1, "ROLLBACK", {
        "test_probe_answers_within_timeout[live]": "/healthz/live answered in 2.",
        "test_probe_answers_within_timeout[ready]": "over its probe timeoutSeconds (1s)",
        "test_probe_answers_within_timeout[startup]": "/healthz/startup: no complete response within the",
        "test_startup_returns_200": "/healthz/startup: no complete response within the total timeout",
        "test_probe_body_matches_schema[startup]": "/healthz/startup: no complete response within the",
        "test_ready_stable_over_window": "3 of 3 polls of /healthz/ready over 0.6s were not ready "
                                         "(no answer in time",
    }),
    Row("health_body_malformed", 1, "ROLLBACK", {
        "test_ready_reports_expected_environment": "reports environment None, expected 'staging'",
        "test_ready_reports_db_ok": "does not report db (db.status or database.status missing)",
        "test_ready_reports_redis_ok": "does not report redis (redis.status missing)",
        "test_ready_status_code_matches_dependencies": "does not report db",
        "test_probe_body_matches_schema[live]": "live.schema.json at (top level): 'status' is a required",
        "test_probe_body_matches_schema[ready]": "ready.schema.json at (top level)",
        "test_probe_body_matches_schema[startup]": "startup.schema.json at (top level): 'status' is a",
    }),
    Row("config_invalid", 1, "ROLLBACK", {
        "test_release_ready_returns_200": "/health/ready returned 503, expected 200",
        "test_release_status_is_ready": "reports status 'not_ready', expected 'ready'; checks: config",
        "test_release_dependency_check_ok[config]": "checks.config is 'error': validate_config() failed",
    }),
    Row("ready_flapping", 1, "ROLLBACK", {
        "test_ready_stable_over_window": "2 of 3 polls of /healthz/ready over 0.6s were not ready (503, 503)",
    }),
    Row("startup_stuck", 1, "ROLLBACK", {
        "test_startup_returns_200": "/healthz/startup returned 503, expected 200 "
                                    "(still not started after 1.5s",
    }),
    Row("legacy_healthz_gone", 2, "ROLLBACK", {
        "test_legacy_healthz_answers_as_decided": "/healthz returned 404, expected 200",
        "test_legacy_healthz_body_matches_schema": "/healthz returned 404, expected 200",
    }),
]

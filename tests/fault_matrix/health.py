"""Fault matrix rows of the health area (runs `-m health`)."""

from __future__ import annotations

from tests.fault_matrix import Row

READY_503 = {
    "test_ready_returns_200": "/healthz/ready returned 503, expected 200",
    "test_ready_stable_over_window": "3 of 3 polls of /healthz/ready over 0.6s were not ready "
                                     "(503, 503, 503)",
    "test_release_ready_returns_200": "/health/ready returned 503, expected 200",
}

# /healthz/ready gives no answer within its timeoutSeconds: the kubelet counts the probe failed, and
# every check that reads the readiness answer follows from that.
READY_NO_ANSWER = {
    "test_ready_returns_200": "/healthz/ready: no complete response within the probe's timeoutSeconds (1s)",
    **{check: "follows from GET /healthz/ready → no complete response within the probe's timeoutSeconds"
       for check in ("test_ready_reports_db_ok", "test_ready_reports_expected_environment",
                     "test_ready_reports_redis_ok", "test_ready_status_code_matches_dependencies",
                     "test_probe_body_matches_schema[ready]", "test_ready_stable_over_window")},
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
    }, headline="/health/ready reports the expected build_id [002 §2.1]",
        remedies={"test_release_build_id_is_expected": "nothing reports which build is serving"}),
    Row("build_id_stale", 2, "ROLLBACK", {
        "test_release_build_id_is_expected": "reports build_id 'git:0ld0ld0', expected 'git:ref1234'",
    }),
    Row("config_hash_malformed", 2, "ROLLBACK", {
        "test_release_config_hash_is_expected": "config_hash 'sha256:NOT-A-HASH!' is malformed",
        "test_release_ready_matches_schema": "at config_hash: 'sha256:NOT-A-HASH!' does not match",
    }),
    Row("ready_slow", 1, "ROLLBACK", {
        **READY_NO_ANSWER,
        "test_probe_answers_within_timeout[ready]": "no answer within its probe timeoutSeconds (1s)",
    }, headline="readiness failed — /healthz/ready returns 200 (DB + Redis OK) [001 §6.1]",
        remedies={"test_ready_returns_200": "/healthz/ready gave no answer in time",
                  "test_ready_stable_over_window": "/healthz/ready gave no answer in time"}),
    Row("probes_slow", 1, "ROLLBACK", {
        **READY_NO_ANSWER,
        "test_probe_answers_within_timeout[ready]": "no answer within its probe timeoutSeconds (1s)",
        "test_probe_answers_within_timeout[live]": "/healthz/live gave no answer within its probe "
                                                   "timeoutSeconds (2s)",
        "test_live_returns_200": "follows from GET /healthz/live → no complete response within the "
                                 "probe's timeoutSeconds (2s)",
        "test_live_does_not_check_dependencies": "follows from GET /healthz/live",
        "test_probe_body_matches_schema[live]": "follows from GET /healthz/live",
        "test_probe_answers_within_timeout[startup]": "/healthz/startup gave no answer within its "
                                                      "probe timeoutSeconds (1s)",
        "test_startup_returns_200": "/healthz/startup: not started after",
        "test_probe_body_matches_schema[startup]": "follows from GET /healthz/startup",
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
                                    "(still not started after",
    }),
    Row("legacy_healthz_gone", 2, "ROLLBACK", {
        "test_legacy_healthz_answers_as_decided": "/healthz returned 404, expected 200",
        "test_legacy_healthz_body_matches_schema": "/healthz returned 404, expected 200",
    }),
]

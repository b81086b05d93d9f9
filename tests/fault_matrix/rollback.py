"""Fault matrix rows of the rollback and observability areas (runs `-m "rollback or observability"`).

Every row boots the health, observability and rollback parts: a real Prometheus with the
service's own scrapes backfilled as 16 minutes of history, so the runbook's 5/10/15-minute
windows hold data at once. The rows reach every verdict exit code: 0 (healthy), 1 (readiness
503 for the whole window), 2 (a roll-back-now trigger, a critical alert, a broken guardrail),
3 (the feedback loop) and 4 (investigate-only triggers, warnings, and the quiet service whose
triggers are Inconclusive: no failure, yet no GO).
"""

from __future__ import annotations

from tests.fault_matrix import Row

MARKERS = "rollback or observability"
PARTS = ("health", "observability", "rollback")
MUTATIONS = ("--allow-mutations",)
SUMMARY_ALARM = "test_run_summary_within_alarm_thresholds"


def row(faults: str, exit_code: int, verdict: str, failing: dict[str, str],
        args: tuple[str, ...] = ()) -> Row:
    return Row(faults, exit_code, verdict, failing, markers=MARKERS, args=args, parts=PARTS)


ROWS: list[Row] = [
    row("", 0, "GO", {}, MUTATIONS),
    # --- 002 §6.1 rollback triggers: roll back now (exit 2 / readiness exit 1) ---
    row("config_invalid", 1, "ROLLBACK", {
        "test_ready_not_503_for_5_minutes": "503s among readiness answers over the last 5m is 100 % at "
                                            '{endpoint="/health/ready"}',
        "test_ready_stable_over_the_day": "non-200 readiness answers over the last 15m is 100 %",
    }),
    row("error_5xx_burst", 2, "ROLLBACK", {
        "test_5xx_rate_within_5_percent_over_10_minutes": "the 5xx rate over the last 10m is 2",
        "test_error_rate_within_5_percent": "over the 5 % limit",
        "test_error_rate_below_1_percent": "over the 1 % limit",
        SUMMARY_ALARM: "error_5xx_rate",
    }),
    row("queue_stuck", 2, "ROLLBACK", {
        "test_queue_not_stuck_for_15_minutes": "the queue depth rose while no task was consumed over "
                                               "the last 15m",
        SUMMARY_ALARM: "queue_max_depth",
    }),
    # --- 002 §6.1: investigate for N minutes (exit 4) ---
    row("s1_spike", 4, "INVESTIGATE", {
        "test_s1_rate_within_30_percent": "investigate for 15 minutes",
        SUMMARY_ALARM: "s1_rate",
    }),
    row("latency_spike", 4, "INVESTIGATE", {
        "test_p95_latency_within_2x_baseline": "(2 × baseline 0.25 s)",
        "test_p95_latency_within_1s": "over the 1 s limit",
        "test_p95_latency_below_500ms": "over the 0.5 s limit",
    }),
    row("quiet_service", 4, "INVESTIGATE", {}),  # Inconclusive triggers: see tests/test_rollback_cli.py
    row("ready_flapping", 4, "INVESTIGATE", {
        "test_ready_stable_over_the_day": 'at {endpoint="/healthz/ready"}, over the 0 % limit',
    }),
    # --- 004 alert thresholds and rules ---
    row("task_failures", 4, "INVESTIGATE", {
        "test_celery_failure_rate_within_10_percent": "the Celery task failure rate over the last 5m is 3",
    }),
    row("db_pool_exhausted", 2, "ROLLBACK", {
        "test_no_critical_alert_firing": "1 critical alert(s) firing after the deploy: "
                                         "DBConnectionPoolExhausted",
        "test_db_pool_within_80_percent": "DB connection pool usage over the last 5m is 9",
    }),
    row("metric_family_missing", 4, "INVESTIGATE", {
        "test_db_pool_within_80_percent": "metric db_connection_pool_size has no series matching "
                                          '{job="reference"}',
        "test_metric_families_exported": "/metrics: db_connection_pool_size missing (004 Metrics to Track)",
        "test_alert_rules_loaded": "DBConnectionPoolExhausted reads db_connection_pool_size, which has no "
                                   'series matching {job="reference"} over the last 15m: it can never fire',
    }),
    row("metrics_content_type_wrong", 4, "INVESTIGATE", {
        "test_metrics_endpoint_exposes_prometheus_format": "serves the metrics as 'application/json'",
    }),
    row("alert_rule_missing", 4, "INVESTIGATE", {
        "test_alert_rules_loaded": "no alerting rule HighCeleryTaskFailureRate (6 rules loaded): it "
                                   "can never fire",
    }),
    # --- logs: run_summary (002 §5), build identity (002 §2.1, §7), PII (004) ---
    row("run_summary_malformed", 4, "INVESTIGATE", {
        "test_run_summary_lines_valid": "do not match schemas/logs/run_summary.json; first, line",
    }),
    row("build_id_stale", 2, "ROLLBACK", {
        "test_previous_stable_revision_recorded": "serves build 'git:0ld0ld0', the previous stable "
                                                  "revision itself",
        "test_startup_log_reports_serving_build": "logged build_id 'git:ref1234' (serving 'git:0ld0ld0')",
    }),
    Row("pii_in_logs", 4, "INVESTIGATE", {
        "test_logs_free_of_pii": "field email: b***@",
    }, markers=MARKERS, parts=PARTS, never_shown=("billing@", "-corp.com", "Acme Inc")),
    # --- 002 §3-4 pilot: guardrails (with --allow-mutations) and the feedback loop ---
    row("feedback_stats_down", 3, "INVESTIGATE", {
        "test_feedback_stats_reachable": "/admin/feedback-stats?tenant_id=pilot returned 500",
    }),
    row("system_health_down", 4, "INVESTIGATE", {
        "test_system_health_reachable": "/admin/system-health?tenant_id=pilot returned 500",
    }),
    row("kill_switch_ignored", 2, "ROLLBACK", {
        "test_kill_switch_stops_pilot_jobs": "with status 'processed' while the kill switch is on",
    }, MUTATIONS),
    row("rate_limit_never_429", 2, "ROLLBACK", {
        "test_rate_limit_answers_429": "none answered 429",
    }, MUTATIONS),
    row("pilot_data_leaks", 2, "ROLLBACK", {
        "test_pilot_tenant_isolated": "is visible to tenant 'acme' (expected 404 or 403)",
    }, MUTATIONS),
    # --- 001 §6.2 Sentry ---
    row("sentry_dsn_malformed", 4, "INVESTIGATE", {
        "test_sentry_dsn_well_formed": "the DSN is malformed: Invalid project in DSN",
    }),
    Row("sentry_event_lost", 4, "INVESTIGATE", {  # signal absent: the event never shows up
        "test_sentry_test_event_arrives": "did not appear in Sentry within 3s",
    }, markers=MARKERS, args=MUTATIONS, parts=PARTS, signal_absent=True),
]

# --- signal absent: /metrics exports nothing, the named log stays empty (issue 17) ---
# Every check that reads a metric, a series or a log line fails naming what is missing, or is
# Inconclusive; none passes. Sentry's absent event is the sentry_event_lost row.
NO_SERIES = 'has no series matching {job="reference"} in Prometheus over the last'
ROWS.append(Row("signals_absent", 1, "ROLLBACK", {
    "test_metrics_endpoint_exposes_prometheus_format": "answered 200 with no metric family",
    "test_metric_families_exported": "/metrics: http_requests_total missing",
    "test_alert_rules_loaded": "HighErrorRate reads http_requests_errors_total, which has no series",
    **{check: f"metric {metric} {NO_SERIES}" for check, metric in (
        ("test_ready_not_503_for_5_minutes", "http_requests_total"),
        ("test_queue_not_stuck_for_15_minutes", "queue_depth"),
        ("test_5xx_rate_within_5_percent_over_10_minutes", "http_requests_total"),
        ("test_s1_rate_within_30_percent", "incidents_total"),
        ("test_p95_latency_within_2x_baseline", "http_request_duration_seconds_bucket"),
        ("test_ready_stable_over_the_day", "http_requests_total"),
        ("test_error_rate_within_5_percent", "http_requests_errors_total"),
        ("test_p95_latency_within_1s", "http_request_duration_seconds_bucket"),
        ("test_db_pool_within_80_percent", "db_connection_pool_size"),
        ("test_celery_failure_rate_within_10_percent", "celery_tasks_failed_total"),
        ("test_error_rate_below_1_percent", "http_requests_errors_total"),
        ("test_p95_latency_below_500ms", "http_request_duration_seconds_bucket"))},
    "test_startup_log_reports_serving_build": "no startup line with build_id= in the last 0 lines",
}, markers=MARKERS, parts=PARTS, signal_absent=True, inconclusive={
    "test_no_critical_alert_firing": "every critical rule reads a metric with no series",
    "test_logs_free_of_pii": "has no line to scan: the service logs elsewhere or not at all",
    "test_run_summary_lines_valid": "no run_summary line in the last 0 lines",
    "test_run_summary_within_alarm_thresholds": "no valid run_summary line in the last 0 lines",
}))

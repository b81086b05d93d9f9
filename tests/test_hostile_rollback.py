"""The rollback and observability suites against hostile servers: refused, silent, an HTML
login page, JSON of the wrong shape, a huge body, a missing log file. Every check that reads
them fails with one line (a rollback trigger is Inconclusive: the monitoring failed, not the
release), none errors, the run ends within a bound computed from the profile's timeouts, and
nothing hangs (a dead Prometheus costs one timeout, not one per trigger)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import hostile
from tests.hostile import MB, HostileServer
from tests.support import SuiteRun, run_suites, write_profile

CONNECT_S, READ_S, TOTAL_S = 1, 1, 2
# Prometheus: one timeout, then fail-fast; /metrics, feedback-stats, system-health: one fetch
# each. The bound is on the checks' own time (junit.xml); the wall clock with interpreter, plugin
# and report start-up (a busy runner's, not releasegate's) only sizes the subprocess's timeout.
CHECKS_BOUND_S = 4 * (TOTAL_S + READ_S) + 2
RUN_BOUND_S = CHECKS_BOUND_S + 10
# A trigger Prometheus cannot answer is Inconclusive (the monitoring failed, not the release);
# the checks of Prometheus itself (its rules and alerts) fail.
TRIGGER_CHECKS = ("test_ready_not_503_for_5_minutes", "test_5xx_rate_within_5_percent_over_10_minutes",
                  "test_queue_not_stuck_for_15_minutes", "test_error_rate_below_1_percent")
PROMETHEUS_CHECKS = ("test_alert_rules_loaded", "test_no_critical_alert_firing")
SERVICE_CHECKS = ("test_metrics_endpoint_exposes_prometheus_format", "test_feedback_stats_reachable",
                  "test_system_health_reachable")
LOG_CHECKS = ("test_run_summary_lines_valid", "test_logs_free_of_pii")


@pytest.fixture
def serve() -> Iterator[Callable[..., HostileServer]]:
    servers: list[HostileServer] = []

    def start(handler: hostile.Handler) -> HostileServer:
        servers.append(HostileServer(handler).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def run_against(tmp_path: Path, url: str) -> SuiteRun:
    """Every section of both areas pointed at ``url``; the log file does not exist."""
    missing_log = {"file": str(tmp_path / "no-such.log")}
    path = write_profile(tmp_path / "hostile.yaml", {
        "name": "hostile", "environment": "staging",
        "defaults": {"timeouts": {"connect": CONNECT_S, "read": READ_S, "total": TOTAL_S},
                     "body_limit_bytes": MB},
        "metrics": {"endpoint": {"base_url": url}, "prometheus": {"base_url": url, "selector": 'job="x"'},
                    "logs": missing_log},
        "rollback": {"logs": missing_log, "run_summary": {}},
        "pilot": {"base_url": url, "admin_headers": {"X-Admin-Key": "hostile-admin-key"}},
        "sentry": {"dsn": "https://publickey@sentry.example.com/42"},
    })
    run = run_suites(path, tmp_path / "reports", "-m", "rollback or observability",
                     timeout=RUN_BOUND_S * 3)
    output = run.stdout + run.stderr
    assert "INTERNALERROR" not in output, output[-3000:]
    assert run.checks_s() < CHECKS_BOUND_S, f"checks took {run.checks_s():.1f}s, bound {CHECKS_BOUND_S}s"
    assert run.returncode == run.summary["exit_code"] in (1, 2), output[-3000:]
    errored = {n: o for n, o in run.outcomes().items() if o == "error"}
    assert not errored, f"a misbehaving target must fail checks, not error them: {errored}"
    for name, message in run.failed().items():
        assert message.strip() and "\n" not in message and "Traceback" not in message, (name, message)
    assert "hostile-admin-key" not in run.outputs()
    return run


def failed_with(run: SuiteRun, checks: tuple[str, ...], needle: str) -> None:
    failed = run.failed()
    for check in checks:
        assert needle in failed.get(check, ""), f"{check}: {run.outcomes().get(check)} {failed.get(check)!r}"


def not_judged_with(run: SuiteRun, needle: str) -> None:
    """Every trigger is Inconclusive, its reason naming what Prometheus did."""
    checks = {c["id"].split("::", 1)[1]: c for c in run.summary["checks"]}
    for check in TRIGGER_CHECKS:
        entry = checks[check]
        assert entry["outcome"] == "inconclusive" and needle in entry["message"], (check, entry["message"])
        assert entry["message"].endswith(": not judged") and "do not roll back" in entry["remedy"]


def test_refused(tmp_path):
    with hostile.refused_port() as port:
        run = run_against(tmp_path, f"http://127.0.0.1:{port}")
    failed_with(run, PROMETHEUS_CHECKS + SERVICE_CHECKS, "connection refused")
    not_judged_with(run, "connection refused")
    failed_with(run, LOG_CHECKS, "no-such.log")
    failed_with(run, LOG_CHECKS, "No such file or directory")
    assert run.summary["verdict"] == "ROLLBACK" and run.outcomes()["test_sentry_dsn_well_formed"] == "passed"


def test_silent(tmp_path, serve):
    run = run_against(tmp_path, serve(hostile.silent).url)
    failed_with(run, PROMETHEUS_CHECKS + SERVICE_CHECKS, "read timeout (1s)")
    not_judged_with(run, "read timeout (1s)")
    assert "(not asked again this run)" in run.failed()["test_no_critical_alert_firing"]


def test_html_login_page(tmp_path, serve):
    page = b"<html><head><title>Sign in</title></head><body>SSO</body></html>"
    run = run_against(tmp_path, serve(hostile.respond("200 OK", "text/html", page)).url)
    failed_with(run, PROMETHEUS_CHECKS, "answered 200 with an HTML page 'Sign in' instead of JSON")
    not_judged_with(run, "answered 200 with an HTML page 'Sign in' instead of JSON")
    failed_with(run, ("test_feedback_stats_reachable",), "a login page or proxy stands in front")


def test_json_of_the_wrong_shape(tmp_path, serve):
    run = run_against(tmp_path, serve(hostile.respond("200 OK", "application/json", b'{"hello": 1}')).url)
    failed_with(run, PROMETHEUS_CHECKS, 'without {"status": "success", "data": …}: not its HTTP API')
    not_judged_with(run, "not its HTTP API")
    failed_with(run, ("test_metrics_endpoint_exposes_prometheus_format",),
                "not a valid Prometheus exposition")
    failed_with(run, ("test_feedback_stats_reachable",), "has no feedback_coverage between 0 and 1")


def test_huge_body(tmp_path, serve):
    run = run_against(tmp_path, serve(hostile.huge(50 * MB, declared=False)).url)
    failed_with(run, PROMETHEUS_CHECKS + SERVICE_CHECKS, "body exceeds the 1,048,576-byte cap")
    not_judged_with(run, "body exceeds the 1,048,576-byte cap")


def test_prometheus_error_answer_is_quoted(tmp_path, serve):
    body = (b'{"status": "error", "errorType": "execution", '
            b'"error": "query timed out in expression evaluation"}')
    server = serve(hostile.respond("503 Service Unavailable", "application/json", body))
    run = run_against(tmp_path, server.url)
    failed_with(run, PROMETHEUS_CHECKS, "execution: query timed out in expression evaluation")
    not_judged_with(run, "execution: query timed out in expression evaluation")


@pytest.mark.parametrize("answer", [b"null", b"[1, 2, 3]"])
def test_sentry_api_answering_something_else_than_an_event_fails_the_check(tmp_path, serve, answer):
    """001 §6.2's test event (--allow-mutations): an API that answers 200 with JSON that is no
    event object is a failed check with one line, not a bug in the check; sending stays within
    the profile's total timeout."""
    server = serve(hostile.respond("200 OK", "application/json", answer))
    path = write_profile(tmp_path / "sentry.yaml", {
        "name": "hostile-sentry", "environment": "staging",
        "defaults": {"timeouts": {"connect": CONNECT_S, "read": READ_S, "total": TOTAL_S}},
        "sentry": {"dsn": f"http://publickey@{server.url.split('://', 1)[1]}/42", "wait_s": 2,
                   "poll_s": 1, "api": {"base_url": server.url, "org": "o", "project": "p",
                                        "token": "hostile-sentry-token"}},
    })
    run = run_suites(path, tmp_path / "reports", "-m", "observability", "-k", "sentry_test_event",
                     "--allow-mutations", timeout=60)
    assert run.checks_s() < 4 * TOTAL_S + 2, run.checks_s()  # the check's own time, not start-up
    failed_with(run, ("test_sentry_test_event_arrives",), "instead of an event object: not Sentry's web API")
    assert "hostile-sentry-token" not in run.outputs()

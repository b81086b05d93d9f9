"""Runbook 001 §6.1 and 004 "Health Checks & Probes": /healthz/live, /ready, /startup."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import require_section
from releasegate.core.schema_check import expect_matches_schema
from releasegate.health.probes import (
    LIVE_DEPENDENCY_KEYS,
    READY_STATES,
    REMEDY_DB,
    REMEDY_ENVIRONMENT,
    REMEDY_LIVE,
    REMEDY_LIVE_NO_DEPS,
    REMEDY_PROBE_TIMEOUT,
    REMEDY_READY,
    REMEDY_READY_CONSISTENT,
    REMEDY_READY_NO_ANSWER,
    REMEDY_REDIS,
    REMEDY_SCHEMA,
    REMEDY_STABILITY,
    REMEDY_STARTUP,
    probe_config,
)

pytestmark = pytest.mark.health


@pytest.mark.smoke
@pytest.mark.runbook("001", "§6.1", "/healthz/live returns 200")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(REMEDY_LIVE)
def test_live_returns_200(health):
    health.probe("live").expect_status(200, why="liveness must answer 200 even when DB/Redis are down")


@pytest.mark.smoke
@pytest.mark.runbook("001", "§6.1", "/healthz/ready returns 200 (DB + Redis OK)")
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_READY, no_answer=REMEDY_READY_NO_ANSWER)
def test_ready_returns_200(health):
    health.probe("ready").expect_status(200)


@pytest.mark.smoke
@pytest.mark.runbook("001", "§6.1", "/healthz/startup returns 200")
@pytest.mark.severity("blocker", gate="readiness")  # a pod that never starts never gets traffic
@pytest.mark.remedy(REMEDY_STARTUP)
def test_startup_returns_200(health):
    cfg = probe_config(health.target, "startup")
    poll = health.startup()
    waited = f"{poll.attempts} poll{'s' if poll.attempts != 1 else ''} over wait_s {cfg['wait_s']:g}s"
    if poll.fetch.error:
        raise CheckFailed(f"{poll.fetch.label}: not started after {waited}; last poll: "
                          f"{poll.fetch.error}", cause=poll.fetch.key, kind="no_answer")
    poll.fetch.expect_status(200, why=f"still not started after {waited}")


@pytest.mark.runbook("001", "§6.1", "readiness reports the expected environment")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(REMEDY_ENVIRONMENT)
def test_ready_reports_expected_environment(health, target):
    if not target.environment:
        pytest.skip(f"environment: not configured in target {target.name}")
    fetch = health.probe("ready")
    reported = fetch.json().get("environment") if isinstance(fetch.json(), dict) else None
    health.evidence.note(expected_environment=target.environment, reported_environment=reported)
    if reported != target.environment:
        raise CheckFailed(f"{fetch.label} reports environment {reported!r}, "
                          f"expected {target.environment!r}")


@pytest.mark.runbook("001", "§6.1", 'readiness reports db.status "ok"')
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_DB)
def test_ready_reports_db_ok(health):
    status = health.dependency("db")
    if status != "ok":
        raise CheckFailed(f"{health.probe('ready').label} reports db status {status!r}, expected 'ok'")


@pytest.mark.runbook("001", "§6.1", 'readiness reports redis.status "ok"')
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_REDIS)
def test_ready_reports_redis_ok(health):
    if not probe_config(health.target, "ready").get("expect_redis", True):
        pytest.skip("health.probes.ready.expect_redis is false: the target does not report redis")
    status = health.dependency("redis")
    if status != "ok":
        raise CheckFailed(f"{health.probe('ready').label} reports redis status {status!r}, "
                          "expected 'ok'")


@pytest.mark.runbook("004", "Readiness Probe", "readiness answers 200 only when every dependency is ok")
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_READY_CONSISTENT)
def test_ready_status_code_matches_dependencies(health):
    fetch = health.probe("ready").expect_status(200, 503)
    if fetch.status == 503:
        return  # not ready and saying so is consistent; test_ready_returns_200 reports it
    body = fetch.json()
    state = str(body.get("status", "")) if isinstance(body, dict) else ""
    failing = [d for d in ("db", "redis") if health.dependency(d) != "ok"] if isinstance(
        body, dict) else []
    if failing or state not in READY_STATES:
        raise CheckFailed(f"{fetch.label} answered 200 while reporting status {state!r} and "
                          f"{', '.join(failing) or 'no'} dependency down: traffic would reach a "
                          "broken pod (must be 503)")


@pytest.mark.runbook("004", "Liveness Probe", "liveness does not depend on DB or Redis")
@pytest.mark.severity("warning")
@pytest.mark.remedy(REMEDY_LIVE_NO_DEPS)
def test_live_does_not_check_dependencies(health):
    fetch = health.probe("live").require_response()
    body = fetch.json() if fetch.status == 200 else {}
    reported = [k for k in LIVE_DEPENDENCY_KEYS if isinstance(body, dict) and k in body]
    if reported or fetch.status == 503:
        raise CheckFailed(f"{fetch.label} checks dependencies ({', '.join(reported) or 'answers 503'}): "
                          "a DB or Redis outage would make Kubernetes restart every pod")


@pytest.mark.parametrize("probe", ["live", "ready", "startup"])
@pytest.mark.runbook("004", "Kubernetes probe config", "the probe answers within its timeoutSeconds")
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_PROBE_TIMEOUT)
def test_probe_answers_within_timeout(health, probe):
    cfg = probe_config(health.target, probe)
    fetch = health.startup().fetch if probe == "startup" else health.probe(probe)
    health.evidence.note(latency_s=round(fetch.elapsed_s, 3), timeout_s=cfg["timeout_s"])
    if fetch.error and "no complete response within" in fetch.error:
        raise CheckFailed(f"{fetch.label} gave no answer within its probe timeoutSeconds "
                          f"({cfg['timeout_s']:g}s): the kubelet counts that a failure", cause=fetch.key,
                          kind="no_answer")
    fetch.require_response()
    if fetch.elapsed_s > cfg["timeout_s"]:
        raise CheckFailed(f"{fetch.label} answered in {fetch.elapsed_s:.2f}s, over its probe "
                          f"timeoutSeconds ({cfg['timeout_s']:g}s): the kubelet counts that a failure",
                          kind="no_answer")


@pytest.mark.parametrize("probe", ["live", "ready", "startup"])
@pytest.mark.runbook("001", "§6.1", "the probe body has the documented JSON shape")
@pytest.mark.severity("warning")
@pytest.mark.remedy(REMEDY_SCHEMA)
def test_probe_body_matches_schema(health, probe):
    fetch = health.startup().fetch if probe == "startup" else health.probe(probe)
    expect_matches_schema(fetch.json(), f"health/{probe}.schema.json", f"{fetch.label} body")


@pytest.mark.runbook("002", "§1.3", "/healthz/ready stays ready over the stability window")
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_STABILITY, no_answer=REMEDY_READY_NO_ANSWER)
def test_ready_stable_over_window(health, target):
    window = require_section(target, "health.stability")
    cfg = probe_config(target, "ready")
    polls = health.endpoints.stability(cfg["path"], window["polls"], window["window_s"],
                                       cfg["timeout_s"])
    for fetch in polls:
        health.evidence.http(fetch)
    bad = [f for f in polls if f.error or f.status != 200]
    if bad:
        seen = ", ".join(f"{f.status}" if not f.error else "no answer in time" if "timeout" in f.error
                         else "no answer" for f in bad)
        raise CheckFailed(f"{len(bad)} of {len(polls)} polls of {cfg['path']} over "
                          f"{window['window_s']:g}s were not ready ({seen})")

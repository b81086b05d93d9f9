"""Runbook 002 §6.1–6.3 rollback triggers and 004's alert thresholds, judged in Prometheus.

Each check is one trigger: Successful passes, Failed fails with 002 §6.3's action (roll back now
→ blocker; investigate for N minutes → warning), Inconclusive (too few samples, no data) is
neither. The evidence holds the resolved PromQL, the values seen, the threshold and the
minimum-sample rule.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.rollback

ROLL_BACK = ("002 §6.3 / §7: roll back now — kill switch (PILOT_ENABLED=false), kubectl rollout "
             "undo deployment/api, verify GET /health/ready → 200")


@pytest.mark.runbook("002", "§6.1", "/health/ready not 503 for more than 5 minutes")
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(ROLL_BACK)
def test_ready_not_503_for_5_minutes(triggers):
    triggers.judge("ready_503")


@pytest.mark.runbook("002", "§6.1", "queue not stuck (depth rising, no consumption) for 15 minutes")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(ROLL_BACK + "; 002 §7.1 step 4: wait for the queue to drain (max 5 min), cancel "
                    "stuck jobs by hand")
def test_queue_not_stuck_for_15_minutes(triggers):
    triggers.judge("queue_stuck")


@pytest.mark.runbook("002", "§6.1", "5xx error rate at most 5 % over 10 minutes")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(ROLL_BACK)
def test_5xx_rate_within_5_percent_over_10_minutes(triggers):
    triggers.judge("error_5xx")


@pytest.mark.runbook("002", "§6.1", "S1 rate at most 30 % of at least 20 incidents in 1 hour")
@pytest.mark.severity("warning")
@pytest.mark.remedy("002 §6.3: investigate for 15 minutes (S1 incidents of the pilot tenant); if the "
                    "rate does not come down, roll back (002 §7)")
def test_s1_rate_within_30_percent(triggers):
    triggers.judge("s1_spike")


@pytest.mark.runbook("002", "§6.1", "p95 latency at most 2x baseline (at least 20 samples)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("002 §6.3: investigate for 30 minutes (OpenAI rate limits, queue backlog: "
                    "002 §3.3); if p95 stays over 2x baseline, roll back (002 §7)")
def test_p95_latency_within_2x_baseline(triggers):
    triggers.judge("latency_spike")


@pytest.mark.runbook("002", "§1.3", "/health/ready stays 200 over the day")
@pytest.mark.severity("warning")
@pytest.mark.remedy("002 §8.3: check /health/ready and its checks.* every 2 hours; find the "
                    "dependency that flaps (checks.database / queue / openai_api)")
def test_ready_stable_over_the_day(triggers):
    triggers.judge("ready_stable")


@pytest.mark.runbook("004", "Alerting Rules", "error rate at most 5 % (HighErrorRate)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("004 Incident Response 3 (High Error Rate): find the error pattern in the logs, "
                    "check Sentry, kubectl rollout undo deployment/<api> after a recent deploy")
def test_error_rate_within_5_percent(triggers):
    triggers.judge("error_rate")


@pytest.mark.runbook("004", "Alerting Rules", "p95 latency at most 1 s (HighLatency)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Monitoring & Alerting: find the slow endpoint in http_request_duration_seconds; "
                    "check DB pool and slow queries (004 Incident Response 1)")
def test_p95_latency_within_1s(triggers):
    triggers.judge("latency_p95")


@pytest.mark.runbook("004", "Alerting Rules", "DB connection pool usage at most 80 %")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Incident Response 1: check pg_stat_activity for leaks and long queries, "
                    "raise pool_size temporarily, kubectl rollout restart deployment/<api>")
def test_db_pool_within_80_percent(triggers):
    triggers.judge("db_pool")


@pytest.mark.runbook("004", "Alerting Rules", "Celery task failure rate at most 10 %")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Incident Response 4: kubectl logs of the celery worker, "
                    "kubectl rollout restart deployment/celery-worker")
def test_celery_failure_rate_within_10_percent(triggers):
    triggers.judge("celery_failures")

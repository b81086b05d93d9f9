"""Runbook 004 "Checklist: Production Deployment — Post-Deployment", from Prometheus."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.observability


@pytest.mark.runbook("004", "Post-Deployment", "error rate normal (< 1 %)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Incident Response 3 (High Error Rate): kubectl logs … | grep ERROR | sort | "
                    "uniq -c; check Sentry's stack traces")
def test_error_rate_below_1_percent(triggers):
    triggers.judge("post_deploy_error_rate", section="metrics.post_deploy", key="error_rate")


@pytest.mark.runbook("004", "Post-Deployment", "latency normal (P95 < 500 ms)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Monitoring & Alerting: find the slow endpoint in "
                    "http_request_duration_seconds; check the DB pool and slow queries "
                    "(004 Incident Response 1)")
def test_p95_latency_below_500ms(triggers):
    triggers.judge("post_deploy_latency_p95", section="metrics.post_deploy", key="latency_p95")

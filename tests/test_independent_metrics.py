"""The observability checks against a service we did not instrument (issue 17, item 2).

tests/independent_metrics/service.py is instrumented with prometheus-fastapi-instrumentator's
defaults — route label ``handler``, status codes grouped as ``2xx``/``5xx``, no
``http_requests_errors_total`` — and has its own alerting rules. Its history is its own scrapes
backfilled into a real Prometheus (Debian's package), as the reference stack's is. The profile
maps its names (metrics.prometheus.labels / status_codes); healthy it is GO with zero failed
checks, and each of its faults fails the matching check, naming what is wrong.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from releasegate.reference import prometheus_server
from tests.independent_metrics import service
from tests.support import run_suites, write_profile

ROUNDS, STEP_S = 12, 30.0  # six minutes of history, a scrape every 30 s: inside the 10m windows
# The 004 post-deploy error rate in this service's terms: its 5xx class over all its requests.
# "or vector(0)" reads only "no 5xx answer yet" as 0: http_requests_total itself must have series
# (every metric a profile query names is required), so an unexported counter still fails.
ERROR_RATE = ('(sum(rate(http_requests_total{status="5xx",$selector}[$window])) or vector(0))'
              " / sum(rate(http_requests_total{$selector}[$window]))")


@contextmanager
def serving(faults: frozenset[str]) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(service.build(faults), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def history(base_url: str) -> list[str]:
    """The service's own scrapes, with API traffic and readiness probes between them."""
    snapshots = []
    with httpx.Client(base_url=base_url, timeout=5, trust_env=False) as client:
        for _ in range(ROUNDS):
            for i in range(10):
                client.get("/items" if i % 2 else f"/items/{i}")
            client.get("/health/ready")
            snapshots.append(client.get("/metrics").text)
    return snapshots


def profile(base_url: str, prometheus_url: str) -> dict[str, Any]:
    return {
        "name": "independent-instrumentator",
        "environment": "staging",
        "defaults": {"timeouts": {"connect": 1, "read": 3, "total": 5}},
        "metrics": {
            "endpoint": {"base_url": base_url},
            "families": [
                {"name": "http_requests_total", "type": "counter", "labels": ["handler", "method", "status"]},
                {"name": "http_request_duration_seconds", "type": "histogram",
                 "labels": ["handler", "method"], "counted_by": "http_requests_total"},
            ],
            "prometheus": {"base_url": prometheus_url, "selector": f'job="{service.JOB}"',
                           "labels": {"endpoint": "handler"}, "status_codes": "grouped"},
            "alert_rules": {"required": [r["alert"] for r in service.RULES],
                            "critical": [r["alert"] for r in service.RULES if r["severity"] == "critical"]},
            "post_deploy": {"error_rate": {"query": ERROR_RATE}},
        },
    }


def run(tmp_path: Path, faults: frozenset[str]):
    with serving(faults) as base_url:
        snapshots = history(base_url)
        target = base_url.removeprefix("http://")
        text = prometheus_server.backfill_text(snapshots, time.time(), STEP_S,
                                               {"job": service.JOB, "instance": target})
        prom = prometheus_server.start(tmp_path, target, text, rules=service.RULES, job=service.JOB)
        try:
            path = write_profile(tmp_path / "independent.yaml", profile(base_url, prom.url))
            return run_suites(path, tmp_path / "reports", "-m", "observability")
        finally:
            prom.stop()


def test_healthy_independent_service_is_go_with_zero_failed_checks(tmp_path):
    result = run(tmp_path, frozenset())
    outcomes = result.outcomes()
    judged = {k: v for k, v in outcomes.items() if v != "skipped"}
    assert result.summary["verdict"] == "GO", result.stdout[-3000:]
    assert set(judged.values()) == {"passed"}, outcomes
    assert {"test_error_rate_below_1_percent", "test_p95_latency_below_500ms", "test_alert_rules_loaded",
            "test_metric_families_exported"} <= set(judged)


@pytest.mark.parametrize(("fault", "failing"), [
    ("errors", {"test_error_rate_below_1_percent": "the error rate over the last 10m is 10 %, over the "
                                                   "1 % limit",
                "test_no_critical_alert_firing": "1 critical alert(s) firing after the deploy: "
                                                 "ApiErrorBudgetBurn"}),
    ("latency_unobserved", {
        "test_metric_families_exported": "http_request_duration_seconds has no sample while "
                                         "http_requests_total counted",
        "test_p95_latency_below_500ms": "while http_requests_total counted",
        "test_alert_rules_loaded": "ApiSlow reads http_request_duration_seconds_bucket, which has no series",
    }),
])
def test_each_fault_of_the_independent_service_fails_the_matching_check(tmp_path, fault, failing):
    result = run(tmp_path, frozenset({fault}))
    failed = result.failed()
    assert set(failed) == set(failing), result.stdout[-3000:]
    for check, reason in failing.items():
        assert reason in failed[check], f"{check}: {failed[check]!r} lacks {reason!r}"

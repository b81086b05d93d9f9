"""releasegate/prometheus/api.py and the trigger engine against a real Prometheus (Debian's package).

A synthetic history is backfilled with promtool (reference/prometheus_server.py), so every
answer shape the engine reads — vector, matrix, scalar, empty, NaN, a rejected query, series
lookups bounded in time, rules and alerts, a query at a past instant — comes from the server
itself in well under a second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import Timeouts
from releasegate.http.client import HttpTarget
from releasegate.prometheus import triggers as T
from releasegate.prometheus.api import PrometheusAPI, duration_s
from releasegate.reference import prometheus_server

DAY = 86400
LABELS = 'job="api",instance="a:1"'


def history(now: float) -> str:
    """One day ago: a quiet, fast day (the baseline); the last 10 minutes: errors and slowness."""
    lines: list[str] = []

    def family(name: str, kind: str, points: list[tuple[str, float, float]]) -> None:
        lines.extend([f"# HELP {name} x", f"# TYPE {name} {kind}"])
        lines.extend(f"{series} {value} {ts:.3f}" for series, value, ts in points)

    recent = [now - 600 + 30 * i for i in range(21)]
    first_day = [now - 2 * DAY + 3600 * i for i in range(25)]
    requests = [(f'http_requests_total{{{LABELS},status="{status}"}}', per_step * i, ts)
                for status, per_step in (("200", 100.0), ("500", 20.0)) for i, ts in enumerate(recent)]
    family("http_requests", "counter", requests)
    buckets = []
    for i, ts in enumerate(first_day):  # baseline: everything under 0.1 s
        buckets += [(f'http_request_duration_seconds_bucket{{{LABELS},le="{le}"}}', 10.0 * i, ts)
                    for le in ("0.1", "1.0", "+Inf")]
    for i, ts in enumerate(recent, start=len(first_day)):  # now: half over 0.1 s
        base = 10.0 * (len(first_day) - 1)
        step = i - len(first_day) + 1
        buckets += [(f'http_request_duration_seconds_bucket{{{LABELS},le="0.1"}}', base + 5 * step, ts),
                    (f'http_request_duration_seconds_bucket{{{LABELS},le="1.0"}}', base + 10 * step, ts),
                    (f'http_request_duration_seconds_bucket{{{LABELS},le="+Inf"}}', base + 10 * step, ts)]
    buckets += [(series.replace("_bucket", "_count").replace(',le="+Inf"', ""), value, ts)
                for series, value, ts in list(buckets) if 'le="+Inf"' in series]
    family("http_request_duration_seconds", "histogram", buckets)
    family("db_connection_pool_size", "gauge", [(f"db_connection_pool_size{{{LABELS}}}", 19, ts)
                                                for ts in recent])
    family("db_connection_pool_max", "gauge", [(f"db_connection_pool_max{{{LABELS}}}", 20, ts)
                                               for ts in recent])
    family("gone", "gauge", [(f"gone{{{LABELS}}}", 1, now - 1800)])  # stopped half an hour ago
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[PrometheusAPI]:
    now = time.time()  # here, not at import: xdist may run this module minutes after collecting it
    server = prometheus_server.start(tmp_path_factory.mktemp("prom"), "127.0.0.1:9", history(now))
    http = HttpTarget(server.url, timeouts=Timeouts(1, 3, 5), body_limit=1 << 20)
    try:
        yield PrometheusAPI(http, now=now)
    finally:
        http.close()
        server.stop()


def test_instant_vector_scalar_empty_and_nan(api):
    rate = api.query('sum(increase(http_requests_total{status="500"}[5m]))')
    assert rate.result_type == "vector" and rate.numbers[0] == pytest.approx(200, rel=0.01)
    assert api.query("1 + 1").result_type == "scalar" and api.query("1 + 1").numbers == [2.0]
    assert api.query("no_such_metric").series == []
    assert math.isnan(api.query("0 / 0").numbers[0])
    quiet = api.query('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket'
                      '{le="none"}[5m])))')
    assert quiet.series == []


def test_a_rejected_query_fails_with_prometheus_own_words(api):
    with pytest.raises(CheckFailed, match=r"^Prometheus rejected PromQL sum\(rate\(x\[5m\]\): "
                                          r"bad_data: .*parse error: unclosed left parenthesis$"):
        api.query("sum(rate(x[5m])")


def test_range_query_gives_the_trend(api):
    trend = api.query_range('sum(http_requests_total{status="200"})', api.now - 300, api.now, 60)
    values = [v for _, v in trend.series[0].values]
    assert trend.result_type == "matrix" and len(values) == 6 and values == sorted(values)


def test_metric_exists_only_within_the_window_and_selector(api):
    assert api.metric_exists("http_requests_total", 'job="api"', "10m")[0]
    assert not api.metric_exists("http_requests_total", 'job="other"', "10m")[0]
    assert api.metric_exists("gone", 'job="api"', "1h")[0]
    assert not api.metric_exists("gone", 'job="api"', "10m")[0]  # vanished after the deploy


def test_rules_and_alerts(api):
    rules, _ = api.rules()
    assert {r["name"] for r in rules} == {r["alert"] for r in prometheus_server.RULES}
    assert all(r["health"] == "ok" for r in rules), rules
    alerts, _ = api.alerts()
    firing = {a["labels"]["alertname"]: a for a in alerts if a["state"] == "firing"}
    assert firing["DBConnectionPoolExhausted"]["labels"]["severity"] == "critical"


def test_exchanges_are_recorded_with_a_curl_that_reproduces_them(api):
    with api.recording() as seen:
        api.query("up")
        api.rules()  # cached: still recorded for this check
    assert [e.request for e in seen] == ["PromQL up", "Prometheus alerting rules"]
    assert "--data-urlencode query=up" in seen[0].reproduce
    assert seen[0].status == 200 and seen[0].host.startswith("127.0.0.1:")


def test_triggers_end_to_end(api):
    sel = 'job="api"'
    five = T.evaluate(api, T.configure("error_5xx", {"selector": ""}), sel)
    assert five.outcome == T.FAILED and "16.7 %" in five.reason
    pool = T.evaluate(api, T.configure("db_pool", {}), sel)
    assert pool.outcome == T.FAILED and "95 %" in pool.reason
    celery = T.evaluate(api, T.configure("celery_failures", {}), sel)
    assert celery.outcome == T.FAILED and celery.missing_metric == "celery_tasks_failed_total"
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(api.now - 2 * DAY))
    spike = T.evaluate(api, T.configure("latency_spike", {"selector": "", "window": "10m",
                                                          "baseline": {"since": since}}), sel)
    assert spike.baseline["seconds"] == pytest.approx(0.095, abs=0.01)  # p95 of the first day
    assert spike.outcome == T.FAILED and spike.value > 2 * spike.baseline["seconds"]
    assert duration_s(spike.trigger.window) == 600

"""The built-in triggers: 002 §6.1–6.3's rollback triggers and 004's alert and post-deploy
thresholds, each a PromQL template with its threshold, window and minimum-sample rule.

Every template names only metrics the runbooks name (004 "Metrics to Track", 002 §6.1), and
every metric a template selects is in the trigger's ``metrics``: the engine checks they have
series before any query, so an unexported metric fails naming it instead of reading as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

SUCCESSFUL, FAILED, INCONCLUSIVE = "Successful", "Failed", "Inconclusive"

# 002 §6.3: what each outcome asks of the release manager.
ROLL_BACK_NOW = "roll back now (002 §6.3)"
INVESTIGATE_15 = "investigate for 15 minutes, roll back if it does not recover (002 §6.3)"
INVESTIGATE_30 = "investigate for 30 minutes, roll back if it does not recover (002 §6.3)"
INVESTIGATE = "investigate (004 Incident Response)"

API_TRAFFIC = 'endpoint!~"/health.*|/metrics"'  # requests, not the kubelet's probes or scrapes
READINESS = 'endpoint=~"/health/ready|/healthz/ready"'

# {m} itself is in the trigger's ``metrics`` (checked before any query); "or vector(0)" only
# reads "no answer of that status yet" as 0, never an unexported metric.
_RATIO = ("(sum(increase({m}{{{num},$selector}}[$window])) or vector(0))"
          " / sum(increase({m}{{$selector}}[$window]))")
_REQUESTS = "sum(increase(http_requests_total{$selector}[$window]))"
# The share of answers matching {num} per endpoint, the worst endpoint kept (with its label);
# "or 0 * …" keeps endpoints that never gave such an answer at 0 rather than dropping them.
_SHARE_BY_ENDPOINT = ("topk(1, (sum by (endpoint) (increase(http_requests_total{{{num},$selector}}[$window]))"
                      " or 0 * sum by (endpoint) (increase(http_requests_total{{$selector}}[$window])))"
                      " / sum by (endpoint) (increase(http_requests_total{{$selector}}[$window])))")
_P95 = ("histogram_quantile(0.95, sum by (le) "
        "(rate(http_request_duration_seconds_bucket{$selector}[$window])))")
_LATENCY_SAMPLES = "sum(increase(http_request_duration_seconds_count{$selector}[$window]))"
# 004 "Alerting Rules": the errors counter over the requests counter. No "or vector(0)": an
# errors counter that is not exported must fail naming it (it is in ``metrics``), not read as 0 %.
_ERROR_RATIO_004 = ("sum(rate(http_requests_errors_total{$selector}[$window]))"
                    " / sum(rate(http_requests_total{$selector}[$window]))")
# Triggers that match status codes need the status label to hold codes: a label holding "5xx"
# (or none) would never match status=~"5.." and read as 0 % — a silent pass. The metric with
# matchers is required to have series like any other (metrics.prometheus.status_codes maps it).
_BY_STATUS = ("http_requests_total", 'http_requests_total{status=~"[1-5][0-9][0-9]"}')
_ERROR_METRICS = ("http_requests_errors_total", "http_requests_total")


@dataclass(frozen=True)
class Trigger:
    """One condition to judge. ``value`` is the PromQL template of the judged number."""

    name: str
    condition: str  # in words, for messages: "the 5xx rate"
    value: str
    threshold: float
    window: str
    action: str
    op: str = ">"  # ">" or ">="
    unit: str = "ratio"  # ratio | seconds | flag
    samples: str | None = None  # PromQL template counting what the value is computed from
    min_samples: float = 0
    samples_unit: str = "samples"
    metrics: tuple[str, ...] = ()  # must have series, or the trigger cannot see the service
    selector: str = ""  # matchers of this trigger, added to the profile's
    trend: str | None = None  # PromQL shown over the window when it fails (default: value)
    fired: str = ""  # unit "flag": the condition in words, when it holds
    factor: float | None = None  # latency_spike: threshold = factor × baseline
    baseline_s: float | None = None
    baseline_since: str | None = None  # RFC 3339: measure the baseline over the window after it
    baseline_window: str = "24h"
    # The counter of the same traffic a histogram observes: the histogram seeing nothing while
    # it grew is broken instrumentation (issue 17: a Failed naming both), not "no data".
    counted_by: str | None = None


BUILTIN: dict[str, Trigger] = {t.name: t for t in (
    # --- 002 §6.1 ---
    Trigger("ready_503", "the share of 503s among readiness answers",
            _SHARE_BY_ENDPOINT.format(num='status="503"'),
            threshold=1.0, op=">=", window="5m", action=ROLL_BACK_NOW, samples=_REQUESTS,
            min_samples=5, samples_unit="readiness answers", metrics=_BY_STATUS,
            selector=READINESS),
    Trigger("queue_stuck", "a stuck queue (depth rising, nothing consumed)",
            "(sum(delta(queue_depth{$selector}[$window])) > bool 0)"
            " * (sum(increase(celery_tasks_total{$selector}[$window])) == bool 0)",
            threshold=1.0, op=">=", window="15m", unit="flag", action=ROLL_BACK_NOW,
            samples="sum(count_over_time(queue_depth{$selector}[$window]))", min_samples=5,
            samples_unit="queue depth scrapes", metrics=("queue_depth", "celery_tasks_total"),
            trend="sum(queue_depth{$selector})",
            fired="the queue depth rose while no task was consumed"),
    Trigger("error_5xx", "the 5xx rate", _RATIO.format(m="http_requests_total", num='status=~"5.."'),
            threshold=0.05, window="10m", action=ROLL_BACK_NOW, samples=_REQUESTS, min_samples=20,
            samples_unit="requests", metrics=_BY_STATUS, selector=API_TRAFFIC),
    Trigger("s1_spike", "the S1 share of incidents",
            _RATIO.format(m="incidents_total", num='severity="S1"'), threshold=0.30, window="1h",
            action=INVESTIGATE_15, samples="sum(increase(incidents_total{$selector}[$window]))",
            min_samples=20, samples_unit="incidents", metrics=("incidents_total",)),
    Trigger("latency_spike", "p95 latency", _P95, threshold=6.0, window="30m", unit="seconds",
            action=INVESTIGATE_30, samples=_LATENCY_SAMPLES, min_samples=20,
            samples_unit="requests", metrics=("http_request_duration_seconds_bucket",),
            selector=API_TRAFFIC, factor=2.0, baseline_s=3.0, counted_by=_REQUESTS),
    # --- 002 §1.3: /health/ready stable (200) ---
    Trigger("ready_stable", "the share of non-200 readiness answers",
            _SHARE_BY_ENDPOINT.format(num='status!="200"'),
            threshold=0.0, window="24h",
            action="investigate: readiness must stay 200 for the whole day (002 §1.3)",
            samples=_REQUESTS, min_samples=5,
            samples_unit="readiness answers", metrics=_BY_STATUS, selector=READINESS),
    # --- 004 Alerting Rules thresholds ---
    Trigger("error_rate", "the error rate", _ERROR_RATIO_004, threshold=0.05, window="5m",
            action="roll back: the error rate rose right after a deploy (004 Incident Response 3)",
            samples=_REQUESTS, min_samples=20, samples_unit="requests",
            metrics=_ERROR_METRICS, selector=API_TRAFFIC),
    Trigger("latency_p95", "p95 latency", _P95, threshold=1.0, window="5m", unit="seconds",
            action=INVESTIGATE, samples=_LATENCY_SAMPLES, min_samples=20, samples_unit="requests",
            metrics=("http_request_duration_seconds_bucket",), selector=API_TRAFFIC,
            counted_by=_REQUESTS),
    Trigger("db_pool", "DB connection pool usage",
            "max(avg_over_time(db_connection_pool_size{$selector}[$window])"
            " / avg_over_time(db_connection_pool_max{$selector}[$window]))",
            threshold=0.8, window="5m", action=INVESTIGATE,
            samples="sum(count_over_time(db_connection_pool_size{$selector}[$window]))",
            min_samples=1, samples_unit="scrapes",
            metrics=("db_connection_pool_size", "db_connection_pool_max")),
    Trigger("celery_failures", "the Celery task failure rate",
            "sum(rate(celery_tasks_failed_total{$selector}[$window]))"
            " / sum(rate(celery_tasks_total{$selector}[$window]))",
            threshold=0.10, window="5m", action=INVESTIGATE,
            samples="sum(increase(celery_tasks_total{$selector}[$window]))", min_samples=20,
            samples_unit="tasks", metrics=("celery_tasks_failed_total", "celery_tasks_total")),
    # --- 004 Post-Deployment checklist ---
    Trigger("post_deploy_error_rate", "the error rate", _ERROR_RATIO_004, threshold=0.01,
            window="10m", action=INVESTIGATE, samples=_REQUESTS, min_samples=20,
            samples_unit="requests", metrics=_ERROR_METRICS, selector=API_TRAFFIC),
    Trigger("post_deploy_latency_p95", "p95 latency", _P95, threshold=0.5, window="10m",
            unit="seconds", action=INVESTIGATE, samples=_LATENCY_SAMPLES, min_samples=20,
            samples_unit="requests", metrics=("http_request_duration_seconds_bucket",),
            selector=API_TRAFFIC, counted_by=_REQUESTS),
)}

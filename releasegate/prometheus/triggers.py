"""Rollback triggers (002 §6.1–6.3) and 004's alert and post-deploy thresholds, judged in PromQL.

Each trigger is a PromQL template for the value it judges, a threshold, a window and a
minimum-sample rule; a profile may override any of them (or the whole query). Evaluation
follows Argo Rollouts' analysis semantics, with the two silent passes its and Flagger's users
report closed explicitly:

- a metric the trigger needs that has no series at all → **Failed**, naming the metric (a
  release that stopped exporting it, or a scrape that stopped, must not read as healthy);
- too few samples (the §6.2 "min n ≥ 20" rule), an empty result or NaN → **Inconclusive**:
  neither a pass nor a failure, said as such (the verdict is then at best INVESTIGATE);
- otherwise the value against the threshold → **Successful** or **Failed**.

Durations live in the PromQL (`increase(x[10m])`), not in repeated polls. Templates use
``$selector`` (the profile's label matchers for the service, plus the trigger's own, e.g. the
readiness endpoints) and ``$window``; both end up inside ``{…}`` / ``[…]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from string import Template
from typing import Any

from releasegate.prometheus.api import Answer, PrometheusAPI, Series, duration_s

SUCCESSFUL, FAILED, INCONCLUSIVE = "Successful", "Failed", "Inconclusive"

# 002 §6.3: what each outcome asks of the release manager.
ROLL_BACK_NOW = "roll back now (002 §6.3)"
INVESTIGATE_15 = "investigate for 15 minutes, roll back if it does not recover (002 §6.3)"
INVESTIGATE_30 = "investigate for 30 minutes, roll back if it does not recover (002 §6.3)"
INVESTIGATE = "investigate (004 Incident Response)"

API_TRAFFIC = 'endpoint!~"/health.*|/metrics"'  # requests, not the kubelet's probes or scrapes
READINESS = 'endpoint=~"/health/ready|/healthz/ready"'

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
_ERROR_RATIO_004 = ("(sum(rate(http_requests_errors_total{$selector}[$window])) or vector(0))"
                    " / sum(rate(http_requests_total{$selector}[$window]))")


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


BUILTIN: dict[str, Trigger] = {t.name: t for t in (
    # --- 002 §6.1 ---
    Trigger("ready_503", "the share of 503s among readiness answers",
            _SHARE_BY_ENDPOINT.format(num='status="503"'),
            threshold=1.0, op=">=", window="5m", action=ROLL_BACK_NOW, samples=_REQUESTS,
            min_samples=5, samples_unit="readiness answers", metrics=("http_requests_total",),
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
            samples_unit="requests", metrics=("http_requests_total",), selector=API_TRAFFIC),
    Trigger("s1_spike", "the S1 share of incidents",
            _RATIO.format(m="incidents_total", num='severity="S1"'), threshold=0.30, window="1h",
            action=INVESTIGATE_15, samples="sum(increase(incidents_total{$selector}[$window]))",
            min_samples=20, samples_unit="incidents", metrics=("incidents_total",)),
    Trigger("latency_spike", "p95 latency", _P95, threshold=6.0, window="30m", unit="seconds",
            action=INVESTIGATE_30, samples=_LATENCY_SAMPLES, min_samples=20,
            samples_unit="requests", metrics=("http_request_duration_seconds_bucket",),
            selector=API_TRAFFIC, factor=2.0, baseline_s=3.0),
    # --- 002 §1.3: /health/ready stable (200) ---
    Trigger("ready_stable", "the share of non-200 readiness answers",
            _SHARE_BY_ENDPOINT.format(num='status!="200"'),
            threshold=0.0, window="24h",
            action="investigate: readiness must stay 200 for the whole day (002 §1.3)",
            samples=_REQUESTS, min_samples=5,
            samples_unit="readiness answers", metrics=("http_requests_total",), selector=READINESS),
    # --- 004 Alerting Rules thresholds ---
    Trigger("error_rate", "the error rate", _ERROR_RATIO_004, threshold=0.05, window="5m",
            action="roll back: the error rate rose right after a deploy (004 Incident Response 3)",
            samples=_REQUESTS, min_samples=20, samples_unit="requests",
            metrics=("http_requests_total",), selector=API_TRAFFIC),
    Trigger("latency_p95", "p95 latency", _P95, threshold=1.0, window="5m", unit="seconds",
            action=INVESTIGATE, samples=_LATENCY_SAMPLES, min_samples=20, samples_unit="requests",
            metrics=("http_request_duration_seconds_bucket",), selector=API_TRAFFIC),
    Trigger("db_pool", "DB connection pool usage",
            "max(avg_over_time(db_connection_pool_size{$selector}[$window])"
            " / avg_over_time(db_connection_pool_max{$selector}[$window]))",
            threshold=0.8, window="5m", action=INVESTIGATE,
            samples="sum(count_over_time(db_connection_pool_size{$selector}[$window]))",
            min_samples=1, samples_unit="scrapes",
            metrics=("db_connection_pool_size", "db_connection_pool_max")),
    Trigger("celery_failures", "the Celery task failure rate",
            "(sum(rate(celery_tasks_failed_total{$selector}[$window])) or vector(0))"
            " / sum(rate(celery_tasks_total{$selector}[$window]))",
            threshold=0.10, window="5m", action=INVESTIGATE,
            samples="sum(increase(celery_tasks_total{$selector}[$window]))", min_samples=20,
            samples_unit="tasks", metrics=("celery_tasks_total",)),
    # --- 004 Post-Deployment checklist ---
    Trigger("post_deploy_error_rate", "the error rate", _ERROR_RATIO_004, threshold=0.01,
            window="10m", action=INVESTIGATE, samples=_REQUESTS, min_samples=20,
            samples_unit="requests", metrics=("http_requests_total",), selector=API_TRAFFIC),
    Trigger("post_deploy_latency_p95", "p95 latency", _P95, threshold=0.5, window="10m",
            unit="seconds", action=INVESTIGATE, samples=_LATENCY_SAMPLES, min_samples=20,
            samples_unit="requests", metrics=("http_request_duration_seconds_bucket",),
            selector=API_TRAFFIC),
)}

# profile key -> Trigger field (query/samples_query are the profile's names for the templates)
_OVERRIDES = {"window": "window", "threshold": "threshold", "min_samples": "min_samples",
              "selector": "selector", "query": "value", "samples_query": "samples",
              "metrics": "metrics", "factor": "factor", "baseline_s": "baseline_s"}


def configure(name: str, overrides: Mapping[str, Any] | None) -> Trigger:
    """The built-in trigger ``name`` with the profile's overrides applied."""
    trigger = BUILTIN[name]
    changes: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key in _OVERRIDES:
            changes[_OVERRIDES[key]] = tuple(value) if key == "metrics" else value
    baseline = (overrides or {}).get("baseline")
    if baseline:
        changes["baseline_since"] = baseline["since"]
        changes["baseline_window"] = baseline.get("window", trigger.baseline_window)
    if "query" in (overrides or {}) and "metrics" not in (overrides or {}):
        changes["metrics"] = metric_names(changes["value"])  # a custom query: all it names must exist
    return replace(trigger, **changes)


_METRIC = re.compile(r"(?<![\w:\"])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=[{\[])")


def metric_names(template: str) -> tuple[str, ...]:
    """The metric names a PromQL template selects (``name{…}`` or ``name[…]``), in order."""
    names = _METRIC.findall(template.replace("$selector", "").replace("$window", "1m"))
    return tuple(dict.fromkeys(n for n in names if n not in ("by", "without", "on", "ignoring")))


def join_selectors(*parts: str) -> str:
    return ",".join(p.strip().strip(",") for p in parts if p and p.strip().strip(","))


def render(template: str, selector: str, window: str) -> str:
    """Fill $selector and $window; a template naming anything else is a profile mistake."""
    try:
        return Template(template).substitute(selector=selector, window=window)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"query template {template!r}: only $selector and $window can be "
                         f"used ({type(exc).__name__}: {exc})") from None


@dataclass
class Evaluation:
    """What judging a trigger gave, with everything the report shows."""

    trigger: Trigger
    outcome: str
    reason: str
    promql: str
    samples_promql: str | None = None
    value: float | None = None
    samples: float | None = None
    threshold: float | None = None
    series: str = ""
    baseline: dict[str, Any] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    trend: list[tuple[float, float]] = field(default_factory=list)
    missing_metric: str | None = None

    def observed(self) -> dict[str, Any]:
        """The evidence: resolved PromQL, values seen, threshold and minimum-sample rule."""
        t = self.trigger
        out: dict[str, Any] = {
            "trigger": t.name, "outcome": self.outcome, "promql": self.promql,
            "condition": f"{t.condition} {t.op} {fmt(self.threshold, t.unit)} over {t.window}",
            "value": None if self.value is None else round(self.value, 6),
            "threshold": self.threshold, "window": t.window, "action_if_failed": t.action,
        }
        if self.samples_promql:
            out["min_samples_rule"] = f"at least {t.min_samples:g} {t.samples_unit} over {t.window}"
            out["samples_promql"] = self.samples_promql
            out["samples"] = None if self.samples is None else round(self.samples, 3)
        if self.series:
            out["worst_series"] = self.series
        if self.baseline:
            out["baseline"] = self.baseline
        if self.trend:
            out["trend"] = [[round(ts, 3), _round(v)] for ts, v in self.trend]
        return out


def _round(value: float) -> float | str:
    return value if math.isnan(value) or math.isinf(value) else round(value, 6)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "?"
    if math.isnan(value):
        return "NaN"
    if unit == "ratio":
        return f"{value * 100:.3g} %"
    if unit == "seconds":
        return f"{value:.3g} s"
    return f"{value:g}"


def count_text(count: float) -> str:
    """increase() extrapolates, so counts come back fractional: show them whole."""
    return f"{count:.0f}" if count >= 1 else f"{count:.2g}"


def _compare(value: float, op: str, threshold: float) -> bool:
    return value >= threshold if op == ">=" else value > threshold


def _scalar(answer: Answer) -> float | None:
    """A single-number answer: None when empty; the sum when several series came back."""
    numbers = [n for n in answer.numbers]
    if not numbers:
        return None
    return math.fsum(numbers) if not any(math.isnan(n) for n in numbers) else math.nan


def evaluate(api: PrometheusAPI, trigger: Trigger, selector: str) -> Evaluation:
    """Judge one trigger at the API's instant. CheckFailed propagates when Prometheus misbehaves."""
    __tracebackhide__ = True
    sel = join_selectors(selector, trigger.selector)
    promql = render(trigger.value, sel, trigger.window)
    ev = Evaluation(trigger, INCONCLUSIVE, "", promql, threshold=trigger.threshold)
    if trigger.samples:
        ev.samples_promql = render(trigger.samples, sel, trigger.window)
    for metric in trigger.metrics:
        exists, answer = api.metric_exists(metric, selector, trigger.window)
        ev.answers.append(answer)
        if not exists:
            ev.outcome, ev.missing_metric = FAILED, metric
            ev.reason = (f"metric {metric} has no series matching {{{selector}}} in Prometheus over "
                         f"the last {trigger.window}: {trigger.condition} cannot be judged — the "
                         "release stopped exporting it or Prometheus stopped scraping it")
            return ev
    if trigger.factor is not None:
        _resolve_baseline(api, trigger, sel, ev)
    if ev.samples_promql:
        answer = api.query(ev.samples_promql)
        ev.answers.append(answer)
        count = _scalar(answer)
        ev.samples = 0.0 if count is None else count
        if math.isnan(ev.samples) or ev.samples < trigger.min_samples:
            seen = "none" if not ev.samples or math.isnan(ev.samples) else f"only {count_text(ev.samples)}"
            ev.reason = (f"{trigger.samples_unit} over the last {trigger.window}: {seen}, and judging "
                         f"{trigger.condition} needs at least {trigger.min_samples:g}: not judged "
                         "(Inconclusive)")
            return ev
    answer = api.query(promql)
    ev.answers.append(answer)
    usable = [s for s in answer.series if not math.isnan(s.value)]
    if not answer.series or not usable:
        what = "an empty result" if not answer.series else "NaN"
        ev.reason = (f"{trigger.condition} over the last {trigger.window} gave {what} "
                     "(no data to judge): not judged (Inconclusive)")
        return ev
    worst: Series = max(usable, key=lambda s: s.value)
    ev.value = worst.value
    ev.series = worst.describe() if worst.labels else ""
    assert ev.threshold is not None
    gate = (f"; {count_text(ev.samples)} {trigger.samples_unit}, at least {trigger.min_samples:g} needed"
            if ev.samples_promql and ev.samples is not None else "")
    fired = _compare(ev.value, trigger.op, ev.threshold)
    ev.outcome = FAILED if fired else SUCCESSFUL
    if trigger.unit == "flag":
        seen = (f"{trigger.fired} over the last {trigger.window}" if fired
                else f"no sign of {trigger.condition} over the last {trigger.window}")
        ev.reason = f"{seen}{gate}" + (f": {trigger.action}" if fired else "")
        return ev
    seen = f"{trigger.condition} over the last {trigger.window} is {fmt(ev.value, trigger.unit)}"
    if ev.series:
        seen += f" at {ev.series}"
    limit = f"the {fmt(ev.threshold, trigger.unit)} limit"
    if ev.baseline:
        limit += f" ({ev.baseline['factor']:g} × baseline {fmt(ev.baseline['seconds'], 'seconds')})"
    if fired:
        ev.reason = (f"{seen}, {'at or over' if trigger.op == '>=' else 'over'} {limit}{gate}: "
                     f"{trigger.action}")
    else:
        ev.reason = f"{seen}, within {limit}{gate}"
    return ev


def _resolve_baseline(api: PrometheusAPI, trigger: Trigger, selector: str, ev: Evaluation) -> None:
    """002 §6.2: baseline = p95 of the first 24 h, else the fixed baseline; threshold = factor × it."""
    __tracebackhide__ = True
    assert trigger.factor is not None
    baseline, source = trigger.baseline_s, "fixed (profile baseline_s, 002 §6.2: 3000 ms)"
    if trigger.baseline_since:
        start = datetime.fromisoformat(trigger.baseline_since.replace("Z", "+00:00")).timestamp()
        end = start + duration_s(trigger.baseline_window)
        if end <= api.now:
            expr = render(trigger.value, selector, trigger.baseline_window)
            answer = api.query(expr, at=end)
            ev.answers.append(answer)
            measured = _scalar(answer)
            if measured is not None and not math.isnan(measured):
                baseline = measured
                source = f"p95 over the {trigger.baseline_window} from {trigger.baseline_since}"
            ev.baseline["promql"] = expr
        else:
            source += f"; the {trigger.baseline_window} from {trigger.baseline_since} are not over yet"
    if baseline is None:
        baseline = BUILTIN[trigger.name].baseline_s or 0.0
    ev.baseline.update({"seconds": round(baseline, 6), "source": source, "factor": trigger.factor})
    ev.threshold = trigger.factor * baseline


def trend(api: PrometheusAPI, ev: Evaluation, selector: str, points: int = 6) -> None:
    """The trigger's value (or its trend query) across its window, for the report."""
    __tracebackhide__ = True
    t = ev.trigger
    expr = render(t.trend, join_selectors(selector, t.selector), t.window) if t.trend else ev.promql
    window = duration_s(t.window)
    answer = api.query_range(expr, api.now - window, api.now, max(window / points, 1.0))
    ev.answers.append(answer)
    if answer.series:
        ev.trend = answer.series[0].values

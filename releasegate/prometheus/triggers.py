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
from releasegate.prometheus.builtin import (  # noqa: F401 - the trigger table, re-exported
    API_TRAFFIC,
    BUILTIN,
    FAILED,
    INCONCLUSIVE,
    INVESTIGATE,
    INVESTIGATE_15,
    INVESTIGATE_30,
    READINESS,
    ROLL_BACK_NOW,
    SUCCESSFUL,
    Trigger,
)
from releasegate.prometheus.naming import Naming

# profile key -> Trigger field (query/samples_query are the profile's names for the templates)
_OVERRIDES = {"window": "window", "threshold": "threshold", "min_samples": "min_samples",
              "selector": "selector", "query": "value", "samples_query": "samples",
              "metrics": "metrics", "factor": "factor", "baseline_s": "baseline_s",
              "counted_by_query": "counted_by"}


def configure(name: str, overrides: Mapping[str, Any] | None, naming: Naming | None = None) -> Trigger:
    """The built-in trigger ``name`` in the service's names (metrics.prometheus.names/labels),
    with the profile's overrides applied (written in the service's names already)."""
    trigger = (naming or Naming()).trigger(BUILTIN[name])
    changes: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if key in _OVERRIDES:
            changes[_OVERRIDES[key]] = tuple(value) if key == "metrics" else value
    baseline = (overrides or {}).get("baseline")
    if baseline:
        changes["baseline_since"] = baseline["since"]
        changes["baseline_window"] = baseline.get("window", trigger.baseline_window)
    if "query" in (overrides or {}):
        # a custom query: every metric it names must have series; a listed one adds to them, it
        # never exempts one (an "or vector(0)" over an unexported metric would read as 0)
        listed = tuple((overrides or {}).get("metrics") or ())
        changes["metrics"] = tuple(dict.fromkeys((*listed, *metric_names(changes["value"]))))
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
            if "{" in metric:  # the metric is there (checked first), its labels are not as read
                ev.reason = (f"metric {metric.split('{')[0]} has no series whose labels match "
                             f"{{{metric.split('{', 1)[1]} over the last {trigger.window}: "
                             f"{trigger.condition} would never see them — map the service's labels "
                             "in metrics.prometheus (labels, status_codes)")
            _unobserved_while_counted(api, trigger, sel, ev, metric)
            return ev
    if trigger.factor is not None:
        _resolve_baseline(api, trigger, sel, ev)
    if ev.samples_promql:
        answer = api.query(ev.samples_promql)
        ev.answers.append(answer)
        count = _scalar(answer)
        ev.samples = 0.0 if count is None else count
        if (math.isnan(ev.samples) or ev.samples < 1) and \
                _unobserved_while_counted(api, trigger, sel, ev, metric_names(trigger.samples)[0]):
            return ev
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


def _unobserved_while_counted(api: PrometheusAPI, trigger: Trigger, selector: str, ev: Evaluation,
                              histogram: str) -> bool:
    """A histogram with nothing observed while the counter of the same traffic grew: Failed,
    naming both (declared but never observed is broken instrumentation, not a quiet service)."""
    __tracebackhide__ = True
    if not trigger.counted_by:
        return False
    expr = render(trigger.counted_by, selector, trigger.window)
    answer = api.query(expr)
    ev.answers.append(answer)
    counted = _scalar(answer)
    if counted is None or math.isnan(counted) or counted < 1:
        return False
    counter = (metric_names(trigger.counted_by) or ("the request counter",))[0]
    ev.outcome, ev.missing_metric = FAILED, histogram
    ev.reason = (f"{histogram} observed no request over the last {trigger.window} while {counter} "
                 f"counted {count_text(counted)}: the latency histogram is not instrumented, "
                 f"{trigger.condition} cannot be judged")
    return True


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

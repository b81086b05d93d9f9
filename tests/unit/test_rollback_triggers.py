"""Trigger evaluation (releasegate/prometheus/triggers.py): Argo-style outcomes, no silent passes.

The Prometheus API is replaced by a table of answers keyed by PromQL, so each outcome path —
missing metric, too few samples, empty, NaN, over and under the threshold, the measured
baseline — is pinned without a server; tests/test_prometheus_engine.py runs the same engine
against a real Prometheus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from releasegate.core.evidence import Exchange
from releasegate.http.client import Fetch
from releasegate.prometheus import triggers as T
from releasegate.prometheus.api import Answer, Series

SEL = 'job="api"'


@dataclass
class FakeAPI:
    """Answers keyed by the exact PromQL the engine resolves; ``exists`` lists metric names."""

    answers: dict[str, list] = field(default_factory=dict)  # values, or (labels, value) pairs
    exists: set[str] = field(default_factory=set)
    now: float = 1_000_000.0
    asked: list[tuple[str, float | None]] = field(default_factory=list)
    at: dict[tuple[str, float], list[float]] = field(default_factory=dict)

    def _answer(self, values: list) -> Answer:
        answer = Answer(Exchange(request="fake"), Fetch("GET", "http://fake"))
        answer.series = [Series(*v) if isinstance(v, tuple) else Series({}, v) for v in values]
        return answer

    def metric_exists(self, name, selector, since_s):
        return name in self.exists, self._answer([])

    def query(self, expr, at=None):
        self.asked.append((expr, at))
        if at is not None:
            return self._answer(self.at[(expr, at)])
        if expr not in self.answers:
            raise AssertionError(f"unexpected query {expr}")
        return self._answer(self.answers[expr])


def resolved(name: str, **overrides) -> tuple[T.Trigger, str, str | None]:
    trigger = T.configure(name, overrides)
    sel = T.join_selectors(SEL, trigger.selector)
    samples = T.render(trigger.samples, sel, trigger.window) if trigger.samples else None
    return trigger, T.render(trigger.value, sel, trigger.window), samples


def api_for(name: str, value: list[float], samples: list[float] | None = None, **overrides) -> FakeAPI:
    trigger, promql, samples_q = resolved(name, **overrides)
    api = FakeAPI(exists=set(trigger.metrics))
    api.answers[promql] = value
    if samples_q is not None:
        api.answers[samples_q] = samples if samples is not None else [1000.0]
    return api


def test_5xx_over_the_limit_fails_with_roll_back_now():
    ev = T.evaluate(api_for("error_5xx", [0.12], [240.0]), T.configure("error_5xx", {}), SEL)
    assert ev.outcome == T.FAILED
    assert ev.reason.startswith("the 5xx rate over the last 10m is 12 %, over the 5 % limit; 240 requests")
    assert ev.reason.endswith("roll back now (002 §6.3)")
    observed = ev.observed()
    assert 'status=~"5..",job="api",endpoint!~"/health.*|/metrics"' in observed["promql"]
    assert observed["min_samples_rule"] == "at least 20 requests over 10m"
    assert (observed["value"], observed["threshold"], observed["samples"]) == (0.12, 0.05, 240.0)


def test_within_the_limit_is_successful():
    ev = T.evaluate(api_for("error_5xx", [0.01], [240.0]), T.configure("error_5xx", {}), SEL)
    assert ev.outcome == T.SUCCESSFUL and "within the 5 % limit" in ev.reason


def test_a_metric_with_no_series_fails_naming_it_before_any_query():
    api = api_for("s1_spike", [0.1], [50.0])
    api.exists = set()
    ev = T.evaluate(api, T.configure("s1_spike", {}), SEL)
    assert ev.outcome == T.FAILED and ev.missing_metric == "incidents_total"
    assert ev.reason.startswith('metric incidents_total has no series matching {job="api"} in '
                                "Prometheus over the last 1h")
    assert api.asked == []  # never reads "no data" as healthy


@pytest.mark.parametrize("samples", [[12.0], [], [math.nan]], ids=["too-few", "empty", "nan"])
def test_too_few_samples_is_inconclusive_not_a_pass(samples):
    ev = T.evaluate(api_for("s1_spike", [0.9], samples), T.configure("s1_spike", {}), SEL)
    assert ev.outcome == T.INCONCLUSIVE
    assert "judging the S1 share of incidents needs at least 20: not judged (Inconclusive)" in ev.reason
    assert ev.value is None  # the 90 % was never looked at


@pytest.mark.parametrize(("value", "said"), [([], "an empty result"), ([math.nan], "NaN")])
def test_empty_or_nan_value_is_inconclusive(value, said):
    ev = T.evaluate(api_for("latency_p95", value, [100.0]), T.configure("latency_p95", {}), SEL)
    assert ev.outcome == T.INCONCLUSIVE and f"gave {said} (no data to judge)" in ev.reason


def test_the_worst_series_decides_and_is_named():
    per_endpoint = [({"endpoint": "/healthz/ready"}, 0.0), ({"endpoint": "/health/ready"}, 1.0)]
    ev = T.evaluate(api_for("ready_503", per_endpoint, [60.0]), T.configure("ready_503", {}), SEL)
    assert ev.outcome == T.FAILED and ev.series == '{endpoint="/health/ready"}'
    assert "100 % at {endpoint=\"/health/ready\"}, at or over the 100 % limit" in ev.reason


def test_flag_trigger_reads_as_words():
    ev = T.evaluate(api_for("queue_stuck", [1.0], [60.0]), T.configure("queue_stuck", {}), SEL)
    assert ev.outcome == T.FAILED
    assert ev.reason.startswith("the queue depth rose while no task was consumed over the last 15m")
    ok = T.evaluate(api_for("queue_stuck", [0.0], [60.0]), T.configure("queue_stuck", {}), SEL)
    assert ok.outcome == T.SUCCESSFUL and ok.reason.startswith("no sign of a stuck queue")


def test_latency_baseline_is_fixed_by_default_and_doubled():
    ev = T.evaluate(api_for("latency_spike", [6.5], [50.0]), T.configure("latency_spike", {}), SEL)
    assert ev.threshold == 6.0 and ev.outcome == T.FAILED
    assert ev.baseline["source"].startswith("fixed") and "(2 × baseline 3 s)" in ev.reason


def test_latency_baseline_measured_over_the_first_24h():
    overrides = {"baseline": {"since": "1970-01-01T00:00:00Z"}, "window": "30m"}
    trigger, _promql, _ = resolved("latency_spike", **overrides)
    api = api_for("latency_spike", [2.0], [50.0], **overrides)
    baseline_q = T.render(trigger.value, T.join_selectors(SEL, trigger.selector), "24h")
    api.at[(baseline_q, 86400.0)] = [0.8]
    ev = T.evaluate(api, trigger, SEL)
    assert ev.baseline["seconds"] == 0.8 and ev.threshold == pytest.approx(1.6)
    assert ev.outcome == T.FAILED and ev.baseline["source"].startswith("p95 over the 24h from 1970")


def test_latency_baseline_falls_back_while_the_first_day_is_not_over():
    api = api_for("latency_spike", [2.0], [50.0], baseline={"since": "2999-01-01T00:00:00Z"})
    ev = T.evaluate(api, T.configure("latency_spike", {"baseline": {"since": "2999-01-01T00:00:00Z"}}), SEL)
    assert ev.threshold == 6.0 and "not over yet" in ev.baseline["source"]


def test_profile_overrides_window_threshold_and_selector():
    trigger = T.configure("error_5xx", {"window": "30m", "threshold": 0.2, "min_samples": 5,
                                        "selector": 'endpoint="/full-process"'})
    assert (trigger.window, trigger.threshold, trigger.min_samples) == ("30m", 0.2, 5)
    promql = T.render(trigger.value, T.join_selectors(SEL, trigger.selector), trigger.window)
    assert '{status=~"5..",job="api",endpoint="/full-process"}[30m]' in promql


def test_a_custom_query_must_have_every_metric_it_names_and_listing_never_exempts_one():
    custom = T.configure("db_pool", {"query": "max(pool_in_use{$selector} / pool_max{$selector})"})
    assert custom.metrics == ("pool_in_use", "pool_max")
    listed = T.configure("db_pool", {"query": "max(a{$selector} / b)", "metrics": ["b"]})
    assert listed.metrics == ("b", "a")  # listing adds (b is bare); it never exempts a
    hidden = T.configure("error_rate", {"query": "(sum(rate(errs{$selector}[$window])) or vector(0))"
                                                 " / sum(rate(reqs{$selector}[$window]))",
                                        "metrics": ["reqs"]})
    assert hidden.metrics == ("reqs", "errs")


def test_an_unknown_placeholder_is_a_profile_mistake():
    with pytest.raises(ValueError, match=r"only \$selector and \$window"):
        T.render("rate(x[$windw])", "", "5m")


def test_empty_selectors_leave_valid_matchers():
    assert T.join_selectors("", 'endpoint="/x"') == 'endpoint="/x"'
    assert T.join_selectors('job="a",', "") == 'job="a"'
    assert T.render("x{$selector}", "", "5m") == "x{}"


def test_every_builtin_trigger_checks_every_metric_it_reads():
    """Issue 17: no metric a built-in reads may be absent silently (an "or vector(0)" over it)."""
    for trigger in T.BUILTIN.values():
        bases = {m.removesuffix("_bucket") for m in trigger.metrics}
        for name in T.metric_names(trigger.value):
            assert name in trigger.metrics or name.removesuffix("_bucket") in bases, (trigger.name, name)


@pytest.mark.parametrize(("name", "missing"), [("error_rate", "http_requests_errors_total"),
                                               ("post_deploy_error_rate", "http_requests_errors_total"),
                                               ("celery_failures", "celery_tasks_failed_total")])
def test_a_ratio_whose_numerator_is_not_exported_fails_naming_it(name, missing):
    api = api_for(name, [0.0], [500.0])
    api.exists.discard(missing)
    ev = T.evaluate(api, T.configure(name, {}), SEL)
    assert ev.outcome == T.FAILED and ev.missing_metric == missing
    assert ev.reason.startswith(f"metric {missing} has no series")
    assert "or vector(0)" not in T.configure(name, {}).value


def counted(name: str, requests: list[float], samples: list[float]) -> FakeAPI:
    trigger, _promql, _ = resolved(name)
    api = api_for(name, [0.2], samples)
    assert trigger.counted_by is not None
    sel = T.join_selectors(SEL, trigger.selector)
    api.answers[T.render(trigger.counted_by, sel, trigger.window)] = requests
    return api


@pytest.mark.parametrize("name", ["latency_p95", "post_deploy_latency_p95", "latency_spike"])
def test_a_histogram_that_observed_nothing_while_requests_were_counted_fails_naming_both(name):
    ev = T.evaluate(counted(name, [240.0], [0.0]), T.configure(name, {}), SEL)
    assert ev.outcome == T.FAILED
    assert ev.reason.startswith("http_request_duration_seconds_count observed no request over the last")
    assert "while http_requests_total counted 240: the latency histogram is not instrumented" in ev.reason


def test_a_histogram_never_exported_while_requests_were_counted_names_both():
    api = counted("latency_p95", [240.0], [0.0])
    api.exists.discard("http_request_duration_seconds_bucket")
    ev = T.evaluate(api, T.configure("latency_p95", {}), SEL)
    assert ev.outcome == T.FAILED and ev.missing_metric == "http_request_duration_seconds_bucket"
    assert "while http_requests_total counted 240" in ev.reason


def test_no_requests_and_no_observations_stay_inconclusive():
    ev = T.evaluate(counted("latency_p95", [0.0], [0.0]), T.configure("latency_p95", {}), SEL)
    assert ev.outcome == T.INCONCLUSIVE and "not judged (Inconclusive)" in ev.reason

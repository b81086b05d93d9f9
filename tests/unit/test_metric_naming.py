"""The service's metric and label names for 004's (releasegate/prometheus/naming.py)."""

from __future__ import annotations

from releasegate.prometheus import triggers as T
from releasegate.prometheus.naming import Naming

INSTRUMENTATOR = Naming.from_profile({"labels": {"endpoint": "handler"}, "status_codes": "grouped"})


def test_labels_and_grouped_status_codes_are_rewritten_everywhere_a_trigger_reads_them():
    trigger = T.configure("error_5xx", {}, INSTRUMENTATOR)
    assert 'status="5xx"' in trigger.value and 'status=~"5.."' not in trigger.value
    assert trigger.selector == 'handler!~"/health.*|/metrics"'
    ready = T.configure("ready_503", {}, INSTRUMENTATOR)
    assert 'status="5xx"' in ready.value and "sum by (handler)" in ready.value
    assert ready.selector == 'handler=~"/health/ready|/healthz/ready"'
    stable = T.configure("ready_stable", {}, INSTRUMENTATOR)
    assert 'status!="2xx"' in stable.value


def test_metric_names_follow_with_histogram_suffixes_and_only_whole_names():
    naming = Naming.from_profile({"names": {"http_request_duration_seconds": "app_latency_seconds",
                                            "http_requests_total": "app_requests_total"}})
    trigger = T.configure("latency_p95", {}, naming)
    assert "app_latency_seconds_bucket{" in trigger.value
    assert trigger.samples and "app_latency_seconds_count{" in trigger.samples
    assert trigger.counted_by and "app_requests_total{" in trigger.counted_by
    assert trigger.metrics == ("app_latency_seconds_bucket",)
    assert naming.promql("my_http_requests_total_x{a=\"http_requests_total\"}") == \
        "my_http_requests_total_x{a=\"http_requests_total\"}"


def test_a_profile_query_is_the_services_own_and_is_not_rewritten():
    query = '(sum(rate(http_requests_total{status="5xx",$selector}[$window])) or vector(0))' \
            " / sum(rate(http_requests_total{$selector}[$window]))"
    trigger = T.configure("post_deploy_error_rate", {"query": query}, INSTRUMENTATOR)
    assert trigger.value == query and trigger.metrics == ("http_requests_total",)


def test_default_families_in_the_services_names():
    naming = Naming.from_profile({"names": {"http_requests_total": "app_requests_total"},
                                  "labels": {"endpoint": "handler"}})
    family = naming.family({"name": "http_request_duration_seconds", "labels": ["method", "endpoint"],
                            "counted_by": "http_requests_total"})
    assert family == {"name": "http_request_duration_seconds", "labels": ["method", "handler"],
                      "counted_by": "app_requests_total"}


def test_no_mapping_changes_nothing():
    assert T.configure("error_5xx", {}, Naming.from_profile(None)) == T.configure("error_5xx", {})


def test_a_status_label_holding_classes_without_the_mapping_fails_instead_of_reading_0_percent():
    from tests.unit.test_rollback_triggers import SEL, api_for

    api = api_for("error_5xx", [0.0], [500.0])
    api.exists.discard('http_requests_total{status=~"[1-5][0-9][0-9]"}')
    ev = T.evaluate(api, T.configure("error_5xx", {}), SEL)
    assert ev.outcome == T.FAILED
    assert ev.reason.startswith('metric http_requests_total has no series whose labels match '
                                '{status=~"[1-5][0-9][0-9]"} over the last 10m')
    mapped = T.configure("error_5xx", {}, INSTRUMENTATOR)
    assert 'http_requests_total{status=~"[1-5]xx"}' in mapped.metrics

"""The service's own /metrics (004 "Prometheus Integration"), read with prometheus_client's parser.

A family is found under the name it is exposed with: prometheus_client's parser drops a
counter's `_total` from the family name, so `http_requests_total` is the counter family
`http_requests`. Labels are the union over its samples (histogram `le` and summary `quantile`
left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

# 004 "Metrics to Track", application metrics.
DEFAULT_FAMILIES: list[dict[str, Any]] = [
    {"name": "http_requests_total", "type": "counter", "labels": ["method", "endpoint", "status"]},
    # counted_by: the counter of the same traffic; the histogram empty while it counted is a defect
    {"name": "http_request_duration_seconds", "type": "histogram", "labels": ["method", "endpoint"],
     "counted_by": "http_requests_total"},
    {"name": "http_requests_errors_total", "type": "counter"},
    {"name": "db_connection_pool_size", "type": "gauge"},
    {"name": "redis_connection_pool_size", "type": "gauge"},
    {"name": "celery_tasks_total", "type": "counter"},
    {"name": "celery_tasks_failed_total", "type": "counter"},
]
STRUCTURAL_LABELS = {"le", "quantile"}


@dataclass
class Family:
    name: str
    type: str
    samples: int
    labels: set[str] = field(default_factory=set)
    total: float = 0.0  # a counter's samples added up (what it counted since the process started)


def parse(text: str, content_type: str = "") -> dict[str, Family]:
    """Every family in an exposition; ValueError (from the parser) when it is malformed."""
    parser = parse_openmetrics if "openmetrics" in content_type else parse_text
    families: dict[str, Family] = {}
    for metric in parser(text):
        labels = {k for s in metric.samples for k in s.labels} - STRUCTURAL_LABELS
        total = sum(s.value for s in metric.samples if not s.name.endswith("_created"))
        families[metric.name] = Family(metric.name, metric.type, len(metric.samples), labels, total)
    return families


def lookup(families: Mapping[str, Family], name: str) -> Family | None:
    """The family exposed as ``name`` (a counter's family name has no _total)."""
    if name in families:
        return families[name]
    if name.endswith("_total") and name[:-len("_total")] in families:
        return families[name[:-len("_total")]]
    return None

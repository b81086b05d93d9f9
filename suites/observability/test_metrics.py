"""Runbook 004 "Prometheus Integration" and "Metrics to Track": /metrics exposes the families."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.prometheus import exposition
from releasegate.prometheus.naming import Naming

pytestmark = pytest.mark.observability
EXPOSITION_TYPES = ("text/plain", "application/openmetrics-text")


@pytest.fixture(scope="session")
def parsed(metrics_scrape):
    """The scrape parsed once: its families, or the parser's complaint."""
    try:
        return exposition.parse(metrics_scrape.body.decode("utf-8", "replace"),
                                metrics_scrape.headers.get("content-type", ""))
    except ValueError as exc:
        return exc


@pytest.fixture
def families(metrics_scrape, parsed, evidence):
    """The families, with the scrape as this check's evidence; a malformed exposition fails it."""
    fetch = evidence.http(metrics_scrape).expect_status(200, why="004: Prometheus scrapes /metrics")
    if isinstance(parsed, ValueError):
        raise CheckFailed(f"{fetch.label} is not a valid Prometheus exposition: "
                          f"{str(parsed).splitlines()[0][:200]}", cause=fetch.key)
    return parsed


@pytest.mark.smoke
@pytest.mark.runbook("004", "Prometheus Integration", "/metrics answers 200 in the Prometheus text format")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Prometheus Integration: mount generate_latest() on /metrics with the "
                    "metrics middleware; Prometheus scrapes it every 15 s")
def test_metrics_endpoint_exposes_prometheus_format(families, metrics_scrape, evidence):
    content_type = metrics_scrape.headers.get("content-type", "")
    evidence.note(families=len(families), content_type=content_type)
    if not content_type.startswith(EXPOSITION_TYPES):
        raise CheckFailed(f"{metrics_scrape.label} serves the metrics as {content_type or 'no type'!r}, "
                          "not text/plain; version=0.0.4 or application/openmetrics-text: Prometheus 3 "
                          "refuses such a scrape", cause=metrics_scrape.key)
    if not families:
        raise CheckFailed(f"{metrics_scrape.label} answered 200 with no metric family",
                          cause=metrics_scrape.key)


@pytest.mark.runbook("004", "Metrics to Track", "the metric families are exported with types and labels")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Prometheus Integration: register the metric in app/core/metrics.py (Counter "
                    "/ Histogram / Gauge with the documented labels); alert rules and rollback "
                    "triggers read it")
def test_metric_families_exported(families, target, metrics_scrape, evidence):
    naming = Naming.from_profile(target.section("metrics.prometheus"))
    wanted = (target.section("metrics") or {}).get("families") or [
        naming.family(f) for f in exposition.DEFAULT_FAMILIES]
    problems, unknowable, seen = [], [], {}
    for family in wanted:
        name = family["name"]
        found = exposition.lookup(families, name)
        if found is None:
            problems.append(f"{name} missing")
            continue
        seen[name] = {"type": found.type, "labels": sorted(found.labels), "series": found.samples}
        if family.get("type") and found.type != family["type"]:
            problems.append(f"{name} is a {found.type}, not a {family['type']}")
        missing = sorted(set(family.get("labels", ())) - found.labels)
        counter = exposition.lookup(families, family.get("counted_by") or "")
        if found.samples == 0 and counter is not None and counter.total > 0:
            # declared, never observed, while the same service counted requests: broken
            # instrumentation, not "no series yet" (issue 17)
            problems.append(f"{name} has no sample while {family['counted_by']} counted "
                            f"{counter.total:g}: the histogram is never observed")
        elif missing and found.samples == 0:
            unknowable.append(name)
        elif missing:
            problems.append(f"{name} lacks label(s) {', '.join(missing)}")
    evidence.note(expected=[f["name"] for f in wanted], seen=seen, labels_not_checkable=unknowable)
    if problems:
        raise CheckFailed(f"{metrics_scrape.label}: {'; '.join(problems)} (004 Metrics to Track)",
                          cause=metrics_scrape.key)
    if unknowable:
        raise Inconclusive(f"{', '.join(unknowable)} declared but without series yet: their labels "
                           "cannot be checked")

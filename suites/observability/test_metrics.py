"""Runbook 004 "Prometheus Integration" and "Metrics to Track": /metrics exposes the families."""

from __future__ import annotations

import pytest

from releasegate import metrics_scrape as exposition
from releasegate.errors import CheckFailed, Inconclusive
from releasegate.plugin import target_of

pytestmark = pytest.mark.observability


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
    evidence.note(families=len(families))
    if not families:
        raise CheckFailed(f"{metrics_scrape.label} answered 200 with no metric family",
                          cause=metrics_scrape.key)


def pytest_generate_tests(metafunc):
    """One check per family of metrics.families (004's application metrics by default)."""
    if "family" in metafunc.fixturenames:
        target = target_of(metafunc.config)
        listed = ((target.section("metrics") if target else None) or {}).get("families")
        wanted = listed or exposition.DEFAULT_FAMILIES
        metafunc.parametrize("family", wanted, ids=[f["name"] for f in wanted])


@pytest.mark.runbook("004", "Metrics to Track", "the metric family is exported with its type and labels")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Prometheus Integration: register the metric in app/core/metrics.py (Counter "
                    "/ Histogram / Gauge with the documented labels); alert rules and rollback "
                    "triggers read it")
def test_metric_family_exported(families, family, metrics_scrape, evidence):
    name, where = family["name"], metrics_scrape.label
    found = exposition.lookup(families, name)
    evidence.note(expected=family, seen=None if found is None else {
        "type": found.type, "labels": sorted(found.labels), "series": found.samples})
    if found is None:
        raise CheckFailed(f"{where} does not export {name} (004 Metrics to Track)",
                          cause=metrics_scrape.key)
    if family.get("type") and found.type != family["type"]:
        raise CheckFailed(f"{where} exports {name} as a {found.type}, expected a {family['type']}",
                          cause=metrics_scrape.key)
    missing = sorted(set(family.get("labels", ())) - found.labels)
    if missing and found.samples == 0:
        raise Inconclusive(f"{name} is declared but has no series yet: its labels "
                           f"{', '.join(family['labels'])} cannot be checked")
    if missing:
        raise CheckFailed(f"{where}: {name} lacks the label(s) {', '.join(missing)} "
                          f"(has {', '.join(sorted(found.labels)) or 'none'})", cause=metrics_scrape.key)

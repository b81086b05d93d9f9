"""Fixtures two areas share (rollback and observability): Prometheus, triggers, logs, the build.

The fixture-factory layer between the suites and the engines (pytest-postgresql's factories/):
each builds an engine once per run from the profile, or a per-check view on top of it. The
suites' conftests import the fixtures they use from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from releasegate.core.errors import NotApplicable
from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, require_section
from releasegate.core.redact import Redactor, register_secrets
from releasegate.gate.run import RunState
from releasegate.http.client import Fetch, HttpTarget
from releasegate.logs.source import LogCache
from releasegate.logs.view import LogView
from releasegate.prometheus.api import PrometheusAPI
from releasegate.prometheus.view import TriggerView, prometheus_section


@pytest.fixture(scope="session")
def prometheus_api(target: Target, http_target_factory: Callable[[Any], HttpTarget],
                   redactor: Redactor) -> PrometheusAPI:
    """The Prometheus HTTP API of metrics.prometheus, one instant for the whole run."""
    section = prometheus_section(target)
    register_secrets(redactor, section.get("headers"))
    return PrometheusAPI(http_target_factory(section), command=redactor.shell)


@pytest.fixture
def triggers(prometheus_api: PrometheusAPI, target: Target, evidence: Evidence) -> TriggerView:
    return TriggerView(prometheus_api, target, evidence)


@pytest.fixture
def prometheus(prometheus_api: PrometheusAPI, evidence: Evidence) -> Iterator[PrometheusAPI]:
    """The API, recording what this check asked as its evidence."""
    with prometheus_api.recording() as seen:
        try:
            yield prometheus_api
        finally:
            for exchange in seen:
                evidence.exchange(exchange)


@pytest.fixture(scope="session")
def log_cache(redactor: Redactor) -> LogCache:
    return LogCache(redactor.shell)


@pytest.fixture
def logs(log_cache: LogCache, target: Target, evidence: Evidence) -> LogView:
    return LogView(log_cache, target, evidence)


@pytest.fixture(scope="session")
def serving_release(target: Target, http_target_factory: Callable[[Any], HttpTarget]) -> Fetch:
    """GET /health/ready (health.release.path) once: the build the service says it serves."""
    health = require_section(target, "health")
    release = target.section("health.release") or {}
    return http_target_factory(health).fetch(release.get("path", "/health/ready"))


def require_mutations(run_state: RunState, evidence: Evidence, what: str) -> None:
    """N/A unless --allow-mutations: the check would change the target; when it may, its
    evidence says what it changed (DESIGN rule 1)."""
    __tracebackhide__ = True
    if not run_state.allow_mutations:
        raise NotApplicable(f"changes the target ({what}): run with --allow-mutations")
    evidence.note(changes_target=what)

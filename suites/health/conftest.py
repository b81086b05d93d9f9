"""Fixtures of the health area: the target's health endpoints, fetched once per run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, require_section
from releasegate.health.probes import HealthEndpoints, HealthView
from releasegate.http.client import HttpTarget


@pytest.fixture(scope="session")
def health_endpoints(target: Target,
                     http_target_factory: Callable[[Any], HttpTarget]) -> HealthEndpoints:
    section = require_section(target, "health")
    return HealthEndpoints(target, http_target_factory(section))


@pytest.fixture
def health(health_endpoints: HealthEndpoints, evidence: Evidence) -> HealthView:
    return HealthView(health_endpoints, evidence)

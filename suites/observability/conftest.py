"""Fixtures of the observability area: /metrics, Prometheus, logs, Sentry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from releasegate.core.profile import Target, require_section
from releasegate.core.redact import Redactor, register_secrets
from releasegate.gate.area_fixtures import (  # noqa: F401 - fixtures shared with suites/rollback
    log_cache,
    logs,
    prometheus,
    prometheus_api,
    triggers,
)
from releasegate.http.client import Fetch, HttpTarget


@pytest.fixture(scope="session")
def metrics_scrape(target: Target, http_target_factory: Callable[[Any], HttpTarget],
                   redactor: Redactor) -> Fetch:
    """One GET of the service's /metrics in the Prometheus text format (004)."""
    section = require_section(target, "metrics")
    endpoint = dict(section.get("endpoint") or {})
    if "base_url" not in endpoint:
        health = target.section("health") or {}
        if "base_url" not in health:
            pytest.skip(f"metrics.endpoint.base_url: not configured in target {target.name}")
        endpoint = {**{k: v for k, v in health.items() if k in ("base_url", "headers", "verify_tls",
                                                                   "ca_bundle")}, **endpoint}
    register_secrets(redactor, endpoint.get("headers"))
    http = http_target_factory(endpoint)
    return http.fetch(endpoint.get("path", "/metrics"),
                      headers={"Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1"})

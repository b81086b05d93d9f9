"""Fixtures of the rollback area: Prometheus triggers, the application log, the pilot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from releasegate.core.profile import Target, require_section
from releasegate.core.redact import Redactor, register_secrets
from releasegate.gate.area_fixtures import (  # noqa: F401 - fixtures shared with suites/observability
    log_cache,
    logs,
    prometheus_api,
    serving_release,
    triggers,
)
from releasegate.http.client import HttpTarget
from releasegate.pilot.api import PilotAPI, settings


@pytest.fixture(scope="session")
def pilot(target: Target, http_target_factory: Callable[[Any], HttpTarget],
          redactor: Redactor) -> PilotAPI:
    """The pilot's API and admin side (002 §3, §4.1)."""
    section = require_section(target, "pilot")
    cfg = settings(section)
    register_secrets(redactor, cfg.get("headers"))
    register_secrets(redactor, cfg.get("admin_headers"))
    tls = {k: section[k] for k in ("verify_tls", "ca_bundle") if k in section}
    api = http_target_factory({"base_url": cfg["base_url"], "headers": cfg.get("headers", {}), **tls})
    admin = http_target_factory({"base_url": cfg["base_url"], "headers": cfg.get("admin_headers", {}),
                                 **tls})
    return PilotAPI(cfg, api, admin, command=redactor.shell)

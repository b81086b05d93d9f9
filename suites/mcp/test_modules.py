"""Runbook 003: each MCP module (FinBot, MuBot, AIOps, Observability) reports healthy."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from releasegate.core.errors import CheckFailed

pytestmark = pytest.mark.mcp


@pytest.mark.runbook("003", "Promise Rejection Analysis 2", "/mcp/<module>/health answers 200 with a "
                     "healthy status")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("003 Promise Rejection Analysis 2–4: check the module's data sources and Redis "
                    "cache, restart the module or switch it to its fallback source")
def test_module_health(mcp, module, mcp_http):
    modules = mcp.config.modules
    assert modules is not None  # the module comes from mcp.modules.names
    fetch = mcp.evidence.http(mcp_http(modules.base_url).fetch(modules.path_for(module)))
    fetch.expect_status(200)
    body = fetch.json()
    status = body.get("status") if isinstance(body, Mapping) else None
    mcp.evidence.note(module=module, status=status)
    if not isinstance(status, str) or status.lower() not in modules.healthy:
        raise CheckFailed(f"{fetch.label} reports status {status!r}, expected one of "
                          f"{', '.join(modules.healthy)}", cause=fetch.key)

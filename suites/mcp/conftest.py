"""Fixtures of the MCP area: the target's MCP server, talked to once per run (per worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from releasegate.evidence import Evidence
from releasegate.mcp.config import McpConfig
from releasegate.mcp.engine import McpEndpoint, McpView
from releasegate.plugin import require_section, target_of
from releasegate.profile import Target
from releasegate.redact import Redactor


@pytest.fixture(scope="session")
def mcp_config(target: Target) -> McpConfig:
    return McpConfig.from_section(require_section(target, "mcp"))


@pytest.fixture(scope="session")
def mcp_endpoint(target: Target, mcp_config: McpConfig, redactor: Redactor) -> Iterator[McpEndpoint]:
    endpoint = McpEndpoint(mcp_config, target, redactor)
    yield endpoint
    endpoint.close()  # DELETE the run's session, close the connections


@pytest.fixture
def mcp(mcp_endpoint: McpEndpoint, evidence: Evidence) -> McpView:
    return McpView(mcp_endpoint, evidence)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One check per configured call (mcp.calls) and per module (mcp.modules.names).

    A call carries its profile severity; the calls of the PASS rule (000 §1.3 A+B+D) are the
    smoke subset's. With nothing configured, one N/A check stands in, so the checklist says so.
    """
    target = target_of(metafunc.config)
    section = (target.section("mcp") if target else None) or {}
    if "call" in metafunc.fixturenames:
        config = McpConfig.from_section(section) if section else None
        if config is None or not config.calls:
            metafunc.parametrize("call", [pytest.param(None, id="none", marks=pytest.mark.severity(
                "blocker"))])
            return
        smoke = set(config.pass_rule.calls) if config.pass_rule else set()
        contract = metafunc.definition.originalname == "test_tool_call_meets_contract"
        metafunc.parametrize("call", [
            pytest.param(spec, id=spec.id, marks=[
                *([pytest.mark.severity(spec.severity)] if contract else []),
                *([pytest.mark.smoke] if contract and spec.id in smoke else [])])
            for spec in config.calls])
    if "module" in metafunc.fixturenames:
        names = (section.get("modules") or {}).get("names") or [None]
        metafunc.parametrize("module", names, ids=[n or "none" for n in names])

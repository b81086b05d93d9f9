"""Fixtures of the MCP area: the target's MCP server, talked to once per run (per worker)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, require_section
from releasegate.core.redact import Redactor
from releasegate.gate.parametrize import checklist_params
from releasegate.gate.stash import target_of
from releasegate.http.client import HttpTarget
from releasegate.mcp.config import McpConfig, origin_of
from releasegate.mcp.engine import McpEndpoint
from releasegate.mcp.view import McpView


@pytest.fixture(scope="session")
def mcp_config(target: Target) -> McpConfig:
    return McpConfig.from_section(require_section(target, "mcp"))


SDK_CHECK = "test_official_sdk_client_connects_lists_and_calls"


@pytest.fixture(scope="session")
def mcp_endpoint(request: pytest.FixtureRequest, target: Target, mcp_config: McpConfig,
                 redactor: Redactor) -> Iterator[McpEndpoint]:
    endpoint = McpEndpoint(mcp_config, target, redactor)
    # The SDK check's conversation starts now in a child process (its ~1 s import overlaps the
    # other checks). Under xdist the other worker already uses the second core: it runs inline.
    if not os.environ.get("PYTEST_XDIST_WORKER") and any(
            getattr(item, "originalname", "") == SDK_CHECK for item in request.session.items):
        endpoint.prestart_sdk()
    yield endpoint
    endpoint.close()  # DELETE the run's session, close the connections


@pytest.fixture
def mcp(mcp_endpoint: McpEndpoint, evidence: Evidence) -> McpView:
    return McpView(mcp_endpoint, evidence)


@pytest.fixture(scope="session")
def mcp_http(mcp_config: McpConfig,
             http_target_factory: Callable[[Any], HttpTarget]) -> Callable[[str], HttpTarget]:
    """Plain HTTP beside the MCP endpoint (module health, RFC 9728 metadata), pooled per origin.

    The profile's headers go only to the MCP endpoint's own origin: credentials are never sent
    to another host a server names.
    """

    def make(url: str) -> HttpTarget:
        origin = origin_of(url)
        verify = mcp_config.verify
        section: dict[str, Any] = {"base_url": origin, "verify_tls": verify is not False,
                                   **({"ca_bundle": verify} if isinstance(verify, str) else {})}
        if origin == origin_of(mcp_config.url):
            section["headers"] = dict(mcp_config.headers)
        return http_target_factory(section)

    return make


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The SDK check runs last: its child process then has the whole run to finish."""
    last = [item for item in items if getattr(item, "originalname", "") == SDK_CHECK]
    if last:
        items[:] = [item for item in items if item not in last] + last


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One check per configured call (mcp.calls, by id) and per module (mcp.modules.names).

    A call's contract check carries the call's profile severity; the calls of the PASS rule
    (000 §1.3 A+B+D) are the smoke subset's. Nothing configured: one N/A line says so.
    """
    target = target_of(metafunc.config)
    section = (target.section("mcp") if target else None) or {}
    name = target.name if target else None
    if "call" in metafunc.fixturenames:
        config = McpConfig.from_section(section) if section else None
        calls = config.calls if config else ()
        contract = metafunc.definition.originalname == "test_tool_call_meets_contract"
        smoke = config.pass_rule.calls if contract and config and config.pass_rule else ()
        params = checklist_params([c.id for c in calls], missing="mcp.calls", target_name=name,
                                  smoke=smoke)
        if contract:  # severity per call; the N/A line needs one too
            weight = {c.id: c.severity for c in calls}
            params = [pytest.param(*p.values, id=p.id, marks=[
                *p.marks, pytest.mark.severity(weight.get(p.values[0], "blocker"))]) for p in params]
        metafunc.parametrize("call", params)
    if "module" in metafunc.fixturenames:
        names = (section.get("modules") or {}).get("names") or []
        metafunc.parametrize("module", checklist_params(names, missing="mcp.modules", target_name=name))

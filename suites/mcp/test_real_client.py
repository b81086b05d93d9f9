"""A real client: the official MCP SDK connects, lists and calls (000 §1.4: clients such as Claude
Desktop reach prod MCP through the SDK's streamable-http transport)."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.extras import require

pytestmark = pytest.mark.mcp


@pytest.mark.runbook("000", "§1.4", "the official MCP SDK client connects, lists the tools and calls one")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.4: real clients (Claude Desktop through the stdio→streamable-http adapter) "
                    "speak through the official SDK; fix the server's SSE / JSON-RPC framing until it does")
def test_official_sdk_client_connects_lists_and_calls(mcp):
    require("mcp", "the official MCP SDK client check", "mcp", "httpx2")
    client = mcp.primary()
    if not mcp.config.calls:
        pytest.skip("mcp.calls: none configured, so no tool the profile allows to call")
    spec = mcp.config.calls[0]
    if mcp.config.forbidden(spec.tool):
        raise CheckFailed(f"mcp.calls {spec.id}: {mcp.config.forbidden(spec.tool)}")
    request = mcp.endpoint.sdk_request()
    assert request is not None
    outcome = mcp.endpoint.sdk_outcome(request)
    mcp.evidence.note(sdk=f"mcp {version('mcp')}", era=client.era, **outcome.as_evidence())
    if outcome.failure:
        raise CheckFailed(f"the official MCP SDK client (mcp {version('mcp')}) failed at "
                          f"{outcome.failure}: the server passes raw requests but breaks real clients")

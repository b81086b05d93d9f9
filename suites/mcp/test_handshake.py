"""Runbook 000 §1.4: initialize, mcp-session-id, then tools/list — and the tools it lists (§1.2)."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.mcp.client import session_id_problem
from releasegate.mcp.schemas import schema_problems

pytestmark = pytest.mark.mcp


@pytest.mark.smoke
@pytest.mark.runbook("000", "§1.4", "initialize answers with a protocol revision, capabilities and "
                     "serverInfo")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.4: POST initialize to the /mcp endpoint with Accept: application/json, "
                    "text/event-stream (the runbook's curl); 000 §5.4 for 406 / 400 / 504")
def test_initialize_answers(mcp, record_fact):
    client = mcp.session()
    reply = mcp.handshake().initialize
    mcp.record(reply)
    info = reply.result["serverInfo"]
    record_fact(mcp_revision=client.negotiated,
                mcp_server=f"{info['name']} {info.get('version') or ''}".strip())
    mcp.evidence.note(negotiated=client.negotiated, offered=client.version,
                      capabilities=sorted(client.server_capabilities or {}))


@pytest.mark.runbook("000", "§1.4", "initialize issues an mcp-session-id of visible ASCII (stateful server; "
                     "2025-11-25 Transports §Session Management 1)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.4: prod MCP runs streamable-http with stateful sessions: initialize must "
                    "return the mcp-session-id header every later request carries")
def test_session_id_issued(mcp):
    if not mcp.config.stateful:
        pytest.skip("mcp.stateful is false: the server need not issue a session")
    client = mcp.session()
    reply = mcp.handshake().initialize
    mcp.record(reply)
    if not client.session_id:
        raise reply.fail(f"{reply.label} answered without an mcp-session-id header: a stateful server "
                         "(000 §1.4) would answer every later request 400 Missing session ID")
    problem = session_id_problem(client.session_id)
    if problem:
        raise reply.fail(f"the mcp-session-id {problem} (MUST be 0x21-0x7E)")


@pytest.mark.runbook("000", "§1.4", "notifications/initialized gets 202 Accepted with no body (MUST, "
                     "2025-11-25 Transports §Sending Messages 4)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.4: the server, or whatever wraps it, must answer a notification with 202 "
                    "and an empty body; check the framework/proxy in front of /mcp (000 §5.4)")
def test_initialized_notification_is_202(mcp):
    mcp.session()
    reply = mcp.handshake().initialized
    mcp.record(reply)
    body = reply.fetch.body.strip()
    if reply.status != 202 or body or reply.fetch.error:
        raise reply.fail(f"{reply.label} answered {reply.describe()}"
                         + (f" with a {len(body)}-byte body" if body else "")
                         + ", expected 202 Accepted with no body")


@pytest.mark.smoke
@pytest.mark.runbook("000", "§1.4", "tools/list (params an object: {}, then each nextCursor) answers "
                     "every page")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §5.4: tools/list needs params as an object ({}, or the nextCursor string) and "
                    "the mcp-session-id of the session (400 Missing session ID otherwise)")
def test_tools_list_answers(mcp):
    listing = mcp.tools()
    mcp.evidence.note(tool_names=sorted(listing.by_name()))


@pytest.mark.runbook("000", "§1.2", "the required tools are listed (src/mcp/server.py)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.2: the tools are defined in src/mcp/server.py; deploy the build that "
                    "registers them (000 §1.3: a missing tool is a FAIL)")
def test_required_tools_present(mcp):
    required = mcp.config.required_tools
    if not required:
        pytest.skip(f"mcp.required_tools: not configured in target {mcp.endpoint.target.name}")
    client = mcp.primary()
    capabilities = client.server_capabilities
    if capabilities is not None and "tools" not in capabilities:
        raise CheckFailed(f"the server declares no tools capability ({', '.join(capabilities) or 'none'}),"
                          f" but the profile requires {len(required)} tools")
    listing = mcp.tools()
    listed = listing.by_name()
    missing = [name for name in required if name not in listed]
    mcp.evidence.note(required=list(required), missing=missing)
    if missing:
        raise CheckFailed(f"tools/list lacks {len(missing)} required tool(s): {', '.join(missing)} "
                          f"({len(listed)} listed)", cause=listing.pages[-1].key)


@pytest.mark.runbook("000", "§1.3", "every tool's inputSchema and outputSchema is valid JSON Schema 2020-12 "
                     "(2025-11-25 server/tools)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §1.3 (output schema broken = FAIL): fix the tool's advertised schema so any "
                    "client can compile it (JSON Schema 2020-12, type object)")
def test_tool_schemas_are_valid(mcp):
    listing = mcp.tools()
    problems = [p for tool in listing.tools for p in schema_problems(tool)]
    mcp.evidence.note(tools_checked=len(listing.tools), problems=problems)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CheckFailed(f"{problems[0]}{more}: clients that validate tool schemas will reject it")


@pytest.mark.runbook("000", "§0", "the read-only MCP marks every tool readOnlyHint: true")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §0: mcp is a read-only observation interface: remove write tools from the "
                    "deployed server, or annotate read-only tools with readOnlyHint")
def test_tools_are_read_only(mcp):
    if not mcp.config.read_only:
        pytest.skip("mcp.read_only is false: the server may offer write tools")
    listing = mcp.tools()
    writable = [str(t.get("name")) for t in listing.tools
                if (t.get("annotations") or {}).get("readOnlyHint") is not True]
    mcp.evidence.note(not_read_only=writable)
    if writable:
        raise CheckFailed(f"{len(writable)} tool(s) not marked readOnlyHint: true on a read-only server: "
                          f"{', '.join(writable)}")

"""The sessionless 2026-07-28 revision, where the server speaks it (detected by server/discover).

No initialize, no session: every request carries its protocol version, client info and
capabilities in ``_meta``, mirrored into the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers
(2026-07-28 basic/transports/streamable-http, basic/versioning, server/discover).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from releasegate.mcp import jsonrpc

pytestmark = pytest.mark.mcp

REMEDY = ("000 §1.4 (streamable-http transport): upgrade the MCP SDK the server is built on so it "
          "implements 2026-07-28 as the spec says, or stop advertising the revision")
# case -> (status, JSON-RPC error code or None, what it is)
REJECTIONS = {
    "header_mismatch": (400, jsonrpc.HEADER_MISMATCH, "Mcp-Method header disagreeing with the body"),
    "unsupported_version": (400, jsonrpc.UNSUPPORTED_VERSION, "an unsupported protocol version"),
    "unknown_method": (404, jsonrpc.METHOD_NOT_FOUND, "an unknown method"),
    "get": (405, None, "a GET (no server-to-client stream at 2026-07-28)"),
}


@pytest.mark.smoke
@pytest.mark.runbook("000", "§1.4", "server/discover answers with the supported versions and capabilities "
                     "(MUST, 2026-07-28 Versioning)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(REMEDY)
def test_server_discover_answers(mcp, record_fact):
    client = mcp.modern()
    reply = mcp.handshake().discover
    mcp.record(reply)
    result = reply.require_result()
    versions = result.get("supportedVersions") if isinstance(result, Mapping) else None
    if not isinstance(versions, list) or client.version not in versions:
        raise reply.fail(f"{reply.label}: supportedVersions is {versions!r}, which lacks {client.version}")
    if not isinstance(result.get("capabilities"), Mapping):
        raise reply.fail(f"{reply.label}: the result has no capabilities object")
    record_fact(mcp_sessionless_revisions=", ".join(map(str, versions)))
    mcp.evidence.note(supported_versions=versions, capabilities=sorted(result["capabilities"]))


@pytest.mark.parametrize("case", [
    pytest.param("header_mismatch", marks=pytest.mark.severity("blocker")),
    pytest.param("unsupported_version", marks=pytest.mark.severity("blocker")),
    pytest.param("unknown_method", marks=pytest.mark.severity("blocker")),
    pytest.param("get", marks=pytest.mark.severity("warning")),  # SHOULD
])
@pytest.mark.runbook("000", "§1.4", "a bad 2026-07-28 request gets its status and JSON-RPC error "
                     "(-32020 / -32022 / 404 -32601 MUST; GET 405 SHOULD)")
@pytest.mark.remedy(REMEDY)
def test_sessionless_request_is_rejected(mcp, case):
    client = mcp.modern()
    status, code, what = REJECTIONS[case]
    reply = mcp.endpoint.probe_modern(case, client)
    mcp.record(reply)
    got = (reply.error or {}).get("code")
    wanted = f"{status}" + (f" with JSON-RPC error {code}" if code is not None else "")
    if reply.status != status or (code is not None and got != code):
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected {wanted} for {what}")
    if case == "unsupported_version":
        data = (reply.error or {}).get("data")
        supported = data.get("supported") if isinstance(data, Mapping) else None
        if not isinstance(supported, list) or not supported:
            raise reply.fail(f"{reply.label}: the -32022 error does not list the supported versions "
                             "(error.data.supported), so clients cannot retry")

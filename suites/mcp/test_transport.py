"""Streamable HTTP conformance (spec 2025-11-25 basic/transports unless named; runbook 000 §5.4).

Each check sends one deliberately wrong request and judges the answer. MUST clauses are
blockers, SHOULD clauses and de-facto behaviour warnings; a clause for a revision the server did
not negotiate, or a session it never issued, is N/A.
"""

from __future__ import annotations

import pytest

from releasegate.mcp import jsonrpc, remedies
from releasegate.mcp.client import HEADER_REVISIONS, SESSION_REVISIONS
from releasegate.mcp.refusals import NON_OBJECT_PARAMS, PARAMS_IS_OBJECT, allowed_refusal, expected

pytestmark = pytest.mark.mcp


@pytest.mark.runbook("000", "§5.4", "POST without text/event-stream in Accept is refused with 406 "
                     "(Transports §Sending Messages 2; what both official SDKs answer)")
@pytest.mark.severity("warning")
@pytest.mark.remedy(remedies.ACCEPT)
def test_post_without_event_stream_accept_is_406(mcp):
    reply = mcp.endpoint.probe_accept_json_only(mcp.primary())
    mcp.record(reply)
    if reply.status != 406:
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected 406 Not Acceptable: "
                         "clients that omit text/event-stream are served instead of told (000 §5.4)",
                         remedy=remedies.ACCEPT)


@pytest.mark.runbook("000", "§5.4", "a request without mcp-session-id on a stateful server gets 400 "
                     "(SHOULD, Transports §Session Management 2)")
@pytest.mark.severity("warning")
@pytest.mark.remedy(remedies.SESSION)
def test_request_without_session_id_is_400(mcp):
    if not mcp.config.stateful:
        pytest.skip("mcp.stateful is false: requests without a session are allowed")
    reply = mcp.endpoint.probe_without_session(mcp.stateful_session())
    mcp.record(reply)
    if reply.status != 400:
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected 400 Bad Request: the "
                         "stateful server does not enforce its sessions", remedy=remedies.SESSION)


@pytest.mark.runbook("000", "§1.4", "an unknown or terminated mcp-session-id gets 404 (MUST, "
                     "Transports §Session Management 3)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.4: answer an unknown or expired mcp-session-id with 404, so clients know "
                    "to initialize a new session instead of failing (Transports §Session Management 4)")
def test_unknown_session_id_is_404(mcp):
    reply = mcp.endpoint.probe_unknown_session(mcp.stateful_session())
    mcp.record(reply)
    if reply.status != 404:
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected 404 Not Found: clients "
                         "cannot tell a lost session from a bad request and never re-initialize")


@pytest.mark.runbook("000", "§5.4", "tools/list with params that are not an object is refused with a "
                     "JSON-RPC error the specs allow (-32602, -32600 or -32700; JSON-RPC 2.0 §5.1)")
@pytest.mark.severity("warning")
@pytest.mark.remedy(remedies.PARAMS)
def test_non_object_params_are_refused(mcp):
    reply = mcp.endpoint.probe_params_not_object(mcp.primary())
    mcp.record(reply)
    refusal = allowed_refusal(reply, NON_OBJECT_PARAMS)
    if refusal is None:
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected "
                         f"{expected(NON_OBJECT_PARAMS)} ({PARAMS_IS_OBJECT}): a client's malformed "
                         "request is not reported to it", remedy=remedies.PARAMS)
    mcp.evidence.note(refused_with=refusal.describe(), clause=refusal.clause)


@pytest.mark.runbook("000", "§5.4", "an unknown method gets JSON-RPC error -32601 (JSON-RPC 2.0 §5.1)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §5.4 (MCP 4xx/5xx): the server must answer unknown methods with -32601 "
                    "Method not found, not a result or a bare HTTP error")
def test_unknown_method_gets_32601(mcp):
    reply = mcp.endpoint.probe_unknown_method(mcp.session())
    mcp.record(reply)
    code = (reply.error or {}).get("code")
    if code != jsonrpc.METHOD_NOT_FOUND:
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected JSON-RPC error -32601 "
                         "Method not found")


@pytest.mark.runbook("000", "§1.4", "an invalid MCP-Protocol-Version header gets 400 (MUST, Transports "
                     "§Protocol Version Header, 2025-06-18+)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.4 (streamable-http): the server must reject an unsupported "
                    "MCP-Protocol-Version with 400; upgrade the MCP SDK the server is built on")
def test_invalid_protocol_version_is_400(mcp):
    client = mcp.session()
    if client.negotiated not in HEADER_REVISIONS:
        pytest.skip(f"negotiated revision {client.negotiated}: the MCP-Protocol-Version header is "
                    "defined from 2025-06-18")
    reply = mcp.endpoint.probe_bad_version(client)
    mcp.record(reply)
    if reply.status != 400:
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected 400 Bad Request")


@pytest.mark.runbook("000", "§1.4", "a foreign Origin is refused with 403 (MUST validate Origin, "
                     "Transports §Security Warning 1; 403 from 2025-11-25)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.4 (Traefik + streamable-http): enable the server's DNS-rebinding "
                    "protection and list only the origins that may call it")
def test_foreign_origin_is_403(mcp):
    client = mcp.primary()
    reply = mcp.endpoint.probe_foreign_origin(client)
    mcp.record(reply)
    strict = client.era == "modern" or client.negotiated == SESSION_REVISIONS[-1]
    refused = reply.status == 403 if strict else reply.status is not None and 400 <= reply.status < 500
    if not refused:
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected "
                         f"{'403 Forbidden' if strict else 'a 4xx refusal'}: a web page on another "
                         "origin can drive this server (DNS rebinding)")


@pytest.mark.runbook("000", "§1.4", "GET /mcp opens an SSE stream or answers 405 (MUST, Transports "
                     "§Listening for Messages 3)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §5.4: the /mcp path must reach the MCP server for every method — check the "
                    "proxy (Traefik) route; the server answers GET with SSE or 405")
def test_get_is_event_stream_or_405(mcp):
    reply = mcp.endpoint.probe_get(mcp.session())
    mcp.record(reply)
    if reply.status == 405 or (reply.status == 200 and reply.sse):
        mcp.evidence.note(get=("405: no server-to-client stream" if reply.status == 405
                               else "an SSE stream"))
        return
    raise reply.fail(f"{reply.label} answered {reply.describe()}"
                     + (f" ({reply.content_type})" if reply.status == 200 and not reply.fetch.is_html else "")
                     + ", expected a text/event-stream or 405 Method Not Allowed")


@pytest.mark.runbook("000", "§1.4", "DELETE ends the session (2xx, or 405 when not allowed); its id then "
                     "gets 404 (MUST, Transports §Session Management 3, 5)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.4: a session the client ended must be gone: answer its id with 404 "
                    "(or refuse DELETE with 405 if sessions cannot be ended)")
def test_delete_ends_session(mcp):
    mcp.stateful_session()
    replies, _ = mcp.endpoint.probe_delete()
    mcp.record(*replies)
    opened = replies[0]
    if len(replies) < 4:
        raise opened.fail(f"a second session could not start: {opened.label} answered "
                          f"{opened.describe()} without an mcp-session-id")
    delete, after = replies[2], replies[3]
    if delete.status == 405:
        mcp.evidence.note(delete="405: the server does not let clients end sessions (MAY)")
        return
    if delete.status is None or not 200 <= delete.status < 300:
        raise delete.fail(f"{delete.label} answered {delete.describe()}, expected 2xx or 405")
    if after.status != 404:
        lives = after.status is not None and 200 <= after.status < 300
        raise after.fail(f"{delete.label} answered {delete.status}, but {after.label} answered "
                         f"{after.describe()}, expected 404 Not Found"
                         + (": the ended session lives on" if lives else ""))

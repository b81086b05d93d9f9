"""The wire-level MCP client against exchanges recorded from the reference server (official SDK).

tests/unit/data/mcp_reference_exchanges.json holds real answers of reference/_mcp_server.py on
mcp 2.3.0 (SSE and JSON bodies, headers, error shapes), recorded once; each test replays the ones
it names, in order, through httpx.MockTransport, and also sees every request the client made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import Timeouts
from releasegate.core.redact import Redactor
from releasegate.mcp import jsonrpc, remedies
from releasegate.mcp.client import McpClient
from releasegate.mcp.config import CallSpec
from releasegate.mcp.contract import judge_call
from releasegate.mcp.handshake import speaks_modern as _speaks_modern
from releasegate.mcp.transport import McpTransport

RECORDED = json.loads((Path(__file__).parent / "data" / "mcp_reference_exchanges.json").read_text())
EXCHANGES = {e["name"]: e for e in RECORDED["exchanges"]}
URL = "http://mcp.test/mcp"
SESSION = "RECORDED-SESSION-ID"


class Replay:
    """Answers each request with the next named recording; keeps what was sent."""

    def __init__(self, *names: str) -> None:
        self.queue = list(names)
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        answer = EXCHANGES[self.queue.pop(0)]["response"]
        headers = {k: v for k, v in answer["headers"].items() if k != "content-length"}
        sent_id = json.loads(request.content).get("id") if request.content else None
        return httpx.Response(answer["status"], headers=headers,
                              content=_with_id(answer["body"], sent_id).encode())

    def body(self, index: int) -> Any:
        return json.loads(self.sent[index].content)


def _with_id(body: str, request_id: Any) -> str:
    """The recorded answer, answering this request's id (ids are the client's to choose)."""

    def fix(text: str) -> str:
        message = json.loads(text)
        if isinstance(message, dict) and message.get("id") is not None:
            message["id"] = request_id
        return json.dumps(message)

    if body.startswith("{"):
        return fix(body)
    return "\n".join("data: " + fix(line[6:]) if line.startswith("data: {") else line
                     for line in body.split("\n"))


def transport(replay: Replay, headers: dict[str, str] | None = None) -> McpTransport:
    return McpTransport(URL, timeouts=Timeouts(1, 1, 2), body_limit=1 << 20, headers=headers,
                        transport=httpx.MockTransport(replay))


def started(replay: Replay) -> McpClient:
    client = McpClient(transport(replay))
    client.initialize()
    client.initialized()
    return client


def test_initialize_over_sse_keeps_the_session_and_the_negotiated_revision():
    replay = Replay("initialize", "notifications/initialized")
    client = McpClient(transport(replay))
    reply = client.initialize()
    assert reply.sse and reply.status == 200 and reply.problem is None
    assert client.session_id == SESSION and client.negotiated == "2025-11-25"
    assert "tools" in client.server_capabilities
    first = replay.sent[0]
    assert first.headers["accept"] == "application/json, text/event-stream"
    assert "mcp-session-id" not in first.headers and "mcp-protocol-version" not in first.headers
    notified = client.initialized()
    assert notified.status == 202 and notified.fetch.body == b""
    assert replay.sent[1].headers["mcp-session-id"] == SESSION
    assert replay.sent[1].headers["mcp-protocol-version"] == "2025-11-25"
    assert "id" not in replay.body(1)


def test_tools_list_follows_every_page_with_no_cursor_first():
    """The first page's params are {}: the schema's cursor is an optional string, never null."""
    replay = Replay("initialize", "notifications/initialized", "tools/list page 1", "tools/list page 2",
                    "tools/list page 3")
    listing = started(replay).list_tools()
    assert listing.problem is None and len(listing.pages) == 3
    assert len(listing.tools) == 10 and "get_database_stats" in listing.by_name()
    params = [replay.body(i)["params"] for i in (2, 3, 4)]
    assert params[0] == {} and all(isinstance(p["cursor"], str) for p in params[1:])
    assert [p.label for p in listing.pages] == ["MCP tools/list", "MCP tools/list (page 2)",
                                                "MCP tools/list (page 3)"]


def test_a_repeated_cursor_stops_the_listing():
    replay = Replay("initialize", "notifications/initialized", "tools/list page 1", "tools/list page 1")
    listing = started(replay).list_tools()
    assert listing.problem and "repeats an earlier page" in listing.problem


def test_a_recorded_call_meets_its_contract_and_output_schema():
    replay = Replay("initialize", "notifications/initialized", "tools/list page 1", "tools/list page 2",
                    "tools/list page 3", "tools/call query_fixtures")
    client = started(replay)
    tool = client.list_tools().by_name()["query_fixtures"]
    reply = client.call_tool("query_fixtures", {"limit": 2})
    content = judge_call(CallSpec("query_fixtures", "query_fixtures", {"limit": 2}), reply, tool)
    assert [f["home_team"] for f in content["result"]] and reply.headers["mcp-session-id"] == SESSION
    assert replay.body(5)["params"] == {"name": "query_fixtures", "arguments": {"limit": 2}}


def test_an_unknown_tool_is_an_error_result_and_fails_the_contract():
    replay = Replay("initialize", "notifications/initialized", "tools/call unknown tool")
    reply = started(replay).call_tool("no_such_tool", {})
    assert reply.error is None and reply.result["isError"] is True
    with pytest.raises(CheckFailed, match=r"returned a tool error \(isError: true\): Unknown tool"):
        judge_call(CallSpec("x", "no_such_tool"), reply, None)


@pytest.mark.parametrize(("name", "status", "code", "remedy"), [
    ("Accept: application/json only", 406, jsonrpc.INVALID_REQUEST, remedies.ACCEPT),
    ("without session", 400, jsonrpc.INVALID_REQUEST, remedies.SESSION),
    ("unknown session", 404, jsonrpc.INVALID_REQUEST, None),
    ("params []", 400, jsonrpc.INVALID_PARAMS, remedies.PARAMS),
    ("unknown method", 200, jsonrpc.METHOD_NOT_FOUND, None),
    ("after DELETE", 404, jsonrpc.INVALID_REQUEST, None),
])
def test_recorded_refusals_are_read_with_their_json_rpc_error(name, status, code, remedy):
    replay = Replay(name)
    reply = McpClient(transport(replay)).request("tools/list", {}, headers={
        "mcp-session-id": SESSION} if name != "without session" else None)
    assert (reply.status, reply.error["code"], reply.problem) == (status, code, None)
    assert reply.outcome == f"{status} error {code}"
    assert remedies.remedy_for(reply) == remedy
    with pytest.raises(CheckFailed) as failed:
        reply.require_result()
    assert "\n" not in str(failed.value) and failed.value.cause == reply.key


def test_era_detection_from_recorded_discover_answers():
    def probe(name: str) -> tuple[bool, str]:
        return _speaks_modern(McpClient(transport(Replay(name)), era="modern",
                                        version="2026-07-28").discover())

    assert probe("server/discover") == (True, "answers server/discover")
    speaks, why = probe("server/discover on the session route")
    assert not speaks and "Missing session ID" in why
    assert probe("Mcp-Method mismatch")[0]  # -32020 is a modern error: a modern server


def test_sessionless_requests_carry_meta_and_mirrored_headers():
    replay = Replay("server/discover", "tools/call get_database_stats")
    client = McpClient(transport(replay), era="modern", version="2026-07-28")
    client.discover()
    client.call_tool("get_database_stats", {})
    discover, call = replay.sent
    assert discover.headers["mcp-method"] == "server/discover" and "mcp-name" not in discover.headers
    assert call.headers["mcp-method"] == "tools/call" and call.headers["mcp-name"] == "get_database_stats"
    assert call.headers["mcp-protocol-version"] == "2026-07-28"
    meta = replay.body(1)["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    assert meta["io.modelcontextprotocol/clientInfo"]["name"] == "releasegate"
    assert "mcp-session-id" not in call.headers


def test_evidence_masks_the_session_and_writes_credentials_back_as_variables():
    replay = Replay("initialize", "notifications/initialized", "tools/list page 1")
    client = McpClient(transport(replay, headers={"Authorization": "Bearer tok-from-env-123",
                                                  "X-Api-Key": "literal-key-456"}))
    client.initialize()
    client.initialized()
    reply = client.request("tools/list", {})
    redactor = Redactor({"tok-from-env-123", SESSION},
                        env={"tok-from-env-123": "MCP_TOKEN", SESSION: "MCP_SESSION_ID"})
    exchange = reply.exchange(redactor, ["tok-from-env-123", SESSION])
    assert exchange.request == "MCP tools/list" and exchange.status == 200
    assert exchange.key == reply.key == "MCP tools/list → 200"
    assert '"${MCP_SESSION_ID}"' in exchange.reproduce and '"${MCP_TOKEN}"' in exchange.reproduce
    assert "literal-key-456" not in exchange.reproduce and "X-Api-Key: ***" in exchange.reproduce
    assert '--data \'{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}\'' \
        in exchange.reproduce
    assert '"tools":[' in exchange.excerpt


def test_a_400_for_a_session_the_client_did_send_is_not_the_missing_session_remedy():
    replay = Replay("without session")
    reply = McpClient(transport(replay)).request("tools/list", {}, headers={"mcp-session-id": "gone"})
    assert reply.status == 400 and remedies.remedy_for(reply) is None


def test_a_made_up_session_id_shows_in_the_reproduce_command():
    replay = Replay("unknown session")
    reply = McpClient(transport(replay)).request("tools/list", {}, headers={"mcp-session-id": "made-up-1"},
                                                 made_up=["mcp-session-id"])
    assert "mcp-session-id: made-up-1" in reply.exchange(Redactor()).reproduce

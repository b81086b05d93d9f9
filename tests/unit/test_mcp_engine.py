"""The engine's judgement: which era a server speaks, what is N/A, what is never sent, what a
tool call's contract is — against small in-memory servers (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, Timeouts
from releasegate.core.redact import Redactor
from releasegate.mcp import remedies
from releasegate.mcp.client import header_safe, mirrored_params, session_id_problem
from releasegate.mcp.config import CallSpec, McpConfig
from releasegate.mcp.contract import judge_call
from releasegate.mcp.engine import McpEndpoint
from releasegate.mcp.schemas import schema_problems
from releasegate.mcp.transport import McpReply, McpTransport
from releasegate.mcp.view import McpView

URL = "http://mcp.test/mcp"
INIT = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
        "serverInfo": {"name": "fake", "version": "1"}}
DISCOVER = {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}}


class FakeServer:
    """A JSON-answering MCP server: ``session`` and ``modern`` say which eras it speaks."""

    def __init__(self, *, session: bool = True, modern: bool = True, init: dict | None = None,
                 tools: list[dict] | None = None, call: dict | None = None) -> None:
        self.session, self.modern = session, modern
        self.init = init or INIT
        self.tools = tools if tools is not None else [{"name": "get_x", "inputSchema": {"type": "object"}}]
        self.call = call or {"content": [], "structuredContent": {"ok": True}}
        self.seen: list[tuple[str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        rpc = json.loads(request.content) if request.content else {}
        method = rpc.get("method")
        self.seen.append((request.method, method))
        version = request.headers.get("mcp-protocol-version")
        if version == "2026-07-28":
            if not self.modern:
                return self.error(None, -32600, "Bad Request: Missing session ID", 400)
            result = DISCOVER if method == "server/discover" else self.answer(method)
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": rpc.get("id"), "result": result})
        if not self.session:
            return httpx.Response(405)
        if method == "initialize":
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": rpc["id"], "result": self.init},
                                  headers={"mcp-session-id": "s-1"})
        if "id" not in rpc:
            return httpx.Response(202)
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": rpc["id"], "result": self.answer(method)})

    def answer(self, method: str | None) -> Any:
        return {"tools": self.tools} if method == "tools/list" else self.call

    @staticmethod
    def error(request_id: Any, code: int, message: str, status: int) -> httpx.Response:
        return httpx.Response(status, json={"jsonrpc": "2.0", "id": request_id,
                                            "error": {"code": code, "message": message}})


def endpoint(server: Callable[[httpx.Request], httpx.Response], **section: Any) -> McpEndpoint:
    config = McpConfig.from_section({"url": URL, **section})
    target = Target(Path("unit.yaml"), {"name": "unit"})
    transport = McpTransport(URL, timeouts=Timeouts(1, 1, 2), body_limit=1 << 20,
                             transport=httpx.MockTransport(server))
    return McpEndpoint(config, target, Redactor(), transport=transport)


def view(end: McpEndpoint) -> McpView:
    return McpView(end, Evidence(Redactor()))


def test_a_dual_era_server_is_judged_in_both_and_tools_go_through_the_session():
    h = endpoint(FakeServer()).handshake()
    assert h.session_ok and h.modern_ok and not h.modern_only
    assert h.primary is h.session and h.session.session_id == "s-1"


def test_a_session_only_server_makes_2026_checks_not_applicable():
    end = endpoint(FakeServer(modern=False))
    h = end.handshake()
    assert h.session_ok and not h.speaks_modern and "Missing session ID" in h.modern_reason
    with pytest.raises(pytest.skip.Exception, match="does not speak 2026-07-28"):
        view(end).modern()


def test_a_sessionless_server_makes_session_checks_not_applicable():
    end = endpoint(FakeServer(session=False), stateful=False)
    h = end.handshake()
    assert h.modern_only and h.primary is h.modern
    with pytest.raises(pytest.skip.Exception, match="speaks only 2026-07-28"):
        view(end).session()
    assert view(end).tools().by_name() == {"get_x": {"name": "get_x", "inputSchema": {"type": "object"}}}


def test_a_broken_initialize_fails_when_the_profile_requires_the_session():
    end = endpoint(FakeServer(session=False))  # stateful (000 §1.4) is the default
    h = end.handshake()
    assert h.modern_ok and not h.modern_only and h.primary is None
    with pytest.raises(CheckFailed, match="MCP session could not start: MCP initialize answered 405"):
        view(end).session()
    with pytest.raises(CheckFailed, match="MCP session could not start"):
        view(end).tools()


def test_a_pinned_sessionless_revision_never_sends_initialize():
    server = FakeServer()
    end = endpoint(server, revision="2026-07-28")
    assert end.handshake().primary is end.handshake().modern
    assert ("POST", "initialize") not in server.seen
    with pytest.raises(pytest.skip.Exception, match=r"mcp\.revision is 2026-07-28"):
        view(end).session()


def test_a_pinned_revision_the_server_does_not_negotiate_fails_the_session():
    end = endpoint(FakeServer(), revision="2025-06-18")
    h = end.handshake()
    assert "negotiated revision 2025-11-25, the profile expects 2025-06-18" in h.session_problem
    assert not h.expect_modern and h.discover is None
    with pytest.raises(CheckFailed, match="MCP session could not start"):
        view(end).primary()


@pytest.mark.parametrize(("init", "problem"), [
    ({**INIT, "protocolVersion": "1.0"}, "negotiated revision '1.0'"),
    ({"protocolVersion": "2025-11-25", "serverInfo": {"name": "x"}}, "no capabilities object"),
    ({"protocolVersion": "2025-11-25", "capabilities": {}}, "no serverInfo.name"),
])
def test_an_incomplete_initialize_result_is_a_failed_handshake(init, problem):
    assert problem in endpoint(FakeServer(init=init)).handshake().session_problem


def test_no_session_when_neither_era_answers():
    def down(_: httpx.Request) -> httpx.Response:
        return httpx.Response(504, headers={"content-type": "text/html"},
                              content=b"<title>504 Gateway Time-out</title>")

    end = endpoint(down)
    with pytest.raises(CheckFailed) as failed:
        view(end).primary()
    assert "answered 504 with an HTML page '504 Gateway Time-out'" in str(failed.value)
    assert failed.value.remedy == remedies.PROXY


def test_tools_are_not_applicable_without_the_tools_capability():
    end = endpoint(FakeServer(modern=False, init={**INIT, "capabilities": {"logging": {}}}))
    with pytest.raises(pytest.skip.Exception, match=r"no tools capability \(capabilities: logging\)"):
        view(end).tools()


def test_a_tool_not_on_the_allow_list_is_never_called():
    server = FakeServer()
    end = endpoint(server, allow_tools=["get_x"], calls=[{"tool": "get_x"}, {"tool": "drop_all"}])
    with pytest.raises(CheckFailed, match=r"tool 'drop_all' is not on mcp\.allow_tools \(get_x\)"):
        view(end).call(end.config.call("drop_all"))
    assert all(method != "tools/call" for _, method in server.seen)
    view(end).call(end.config.call("get_x"))
    assert ("POST", "tools/call") in server.seen


def test_the_allow_list_defaults_to_the_configured_calls():
    config = McpConfig.from_section({"url": URL, "calls": [{"tool": "a"}, {"tool": "b", "id": "b2"}]})
    assert config.allow_tools == {"a", "b"} and config.forbidden("c") is not None
    assert config.call("b2").tool == "b" and config.pass_rule is None and config.modules is None


def test_profile_defaults_follow_runbook_000_and_003():
    config = McpConfig.from_section({
        "url": "https://user:pw@mcp.example.com:8443/mcp", "calls": [{"tool": "get_database_stats"}],
        "pass_rule": {"calls": ["get_database_stats"]}, "modules": {"names": ["finbot"]}})
    assert (config.revision, config.stateful, config.read_only) == ("auto", True, True)
    assert config.pass_rule.database_call == "get_database_stats"
    assert config.modules.base_url == "https://mcp.example.com:8443"
    assert config.modules.path_for("finbot") == "/mcp/finbot/health"
    assert config.calls[0].latency_budget_ms == 2000 and config.calls[0].severity == "blocker"


def reply_with(result: dict | None = None, error: dict | None = None) -> McpReply:
    message = {"jsonrpc": "2.0", "id": 1, **({"error": error} if error else {"result": result})}
    transport = McpTransport(URL, timeouts=Timeouts(1, 1, 2), body_limit=1 << 20,
                             transport=httpx.MockTransport(lambda _: httpx.Response(200, json=message)))
    return transport.send("MCP tools/call t", {"jsonrpc": "2.0", "id": 1, "method": "tools/call"})


STATS = {"ok": True, "raw": {"api_responses": 3}, "core": {"fixtures": 2}}
DB = CallSpec("get_database_stats", "get_database_stats")
OUTPUT = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"},
                                                               "n": {"type": "integer"}}}


@pytest.mark.parametrize(("result", "tool", "message"), [
    ({"isError": True, "content": [{"type": "text", "text": "boom"}]}, None,
     "returned a tool error (isError: true): boom"),
    ({"structuredContent": {**STATS, "ok": False, "error": "relation x does not exist"}}, None,
     "reports ok=false: relation x does not exist (000 §1.2 expects ok=true)"),
    ({"content": [{"type": "text", "text": json.dumps(STATS)}]}, {"outputSchema": OUTPUT},
     "declares an outputSchema but the result has no structuredContent"),
    ({"structuredContent": {"ok": True, "n": "x"}}, {"outputSchema": OUTPUT},
     "does not conform to the tool's own outputSchema at n: 'x' is not of type 'integer'"),
    ({"structuredContent": {"raw": {"api_responses": 3}, "core": {"fixtures": 1}}}, None,
     "does not match schemas/mcp/get_database_stats.json"),
    ({"content": [{"type": "text", "text": "not json"}]}, None,
     "no structured or JSON content to check against schemas/mcp/get_database_stats.json"),
])
def test_a_call_that_breaks_its_contract_says_how(result, tool, message):
    with pytest.raises(CheckFailed) as failed:
        judge_call(DB, reply_with(result), tool)
    assert message in str(failed.value) and "\n" not in str(failed.value)


def test_json_text_content_is_judged_when_there_is_no_structured_content():
    content = judge_call(DB, reply_with({"content": [{"type": "text", "text": json.dumps(STATS)}]}), None)
    assert content == STATS


def test_a_wrapped_list_is_unwrapped_for_its_contract_file():
    fixture = {"id": 1, "league_id": 2, "date_utc": "2025-08-01T18:00:00+00:00", "status": "FT",
               "home_team": "A", "away_team": "B"}
    spec = CallSpec("query_fixtures", "query_fixtures")
    judge_call(spec, reply_with({"structuredContent": {"result": [fixture]}}), None)
    drifted = {k: v for k, v in fixture.items() if k != "home_team"} | {"home_team_name": "A"}
    with pytest.raises(CheckFailed, match="'home_team' is a required property"):
        judge_call(spec, reply_with({"structuredContent": {"result": [drifted]}}), None)


def test_the_pass_rule_needs_ok_true_said_out_loud():
    with pytest.raises(CheckFailed, match="does not report ok=true"):
        judge_call(CallSpec("x", "no_contract_file"), reply_with({"structuredContent": {"n": 1}}), None,
                   require_ok=True)


@pytest.mark.parametrize(("tool", "problem"), [
    ({"name": "a", "inputSchema": {"type": "object", "properties": {"n": {"type": "integr"}}}},
     "a inputSchema at /properties/n/type: 'integr' is not valid"),
    ({"name": "b"}, "b has no inputSchema"),
    ({"name": "c", "inputSchema": {"type": "array"}},
     "c inputSchema at /type: 'array', MCP requires 'object'"),
    ({"name": "d", "inputSchema": {"type": "object"}, "outputSchema": ["x"]},
     "d outputSchema is a JSON list, not a schema object"),
    ({"name": "e", "inputSchema": {"type": "object", "required": "n"}},
     "e inputSchema at /required: 'n' is not of type 'array'"),
])
def test_broken_tool_schemas_are_named_with_their_path(tool, problem):
    problems = schema_problems(tool)
    assert any(problem in p for p in problems), problems


def test_valid_tool_schemas_have_no_problems():
    assert schema_problems({"name": "ok", "inputSchema": {"type": "object", "properties": {
        "limit": {"type": "integer", "minimum": 1}}}, "outputSchema": OUTPUT}) == []


@pytest.mark.parametrize(("value", "header"), [  # 2026-07-28 Value Encoding table
    ("us-west1", "us-west1"),
    ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
    (" padded ", "=?base64?IHBhZGRlZCA=?="),
    ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
    ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
])
def test_mirrored_header_values_are_encoded_as_the_spec_shows(value, header):
    assert header_safe(value) == header


def test_session_ids_must_be_visible_ascii():
    assert session_id_problem("a1-B2_c3") is None
    assert session_id_problem("has space") == "contains 1 characters outside visible ASCII (0x21-0x7E)"
    assert session_id_problem("") == "is empty"


def test_annotated_parameters_are_mirrored_into_headers():
    schema = {"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "query": {"type": "string"},
        "opts": {"type": "object", "properties": {"dry": {"type": "boolean", "x-mcp-header": "Dry"},
                                                   "n": {"type": "integer", "x-mcp-header": "N"}}}}}
    assert mirrored_params(schema, {"region": "us-west1", "query": "select 1", "opts": {"dry": False}}) \
        == {"Mcp-Param-Region": "us-west1", "Mcp-Param-Dry": "false"}
    assert mirrored_params(schema, {"region": "Hello, 世界", "opts": {"n": 42}}) == {
        "Mcp-Param-Region": "=?base64?SGVsbG8sIOS4lueVjA==?=", "Mcp-Param-N": "42"}
    assert mirrored_params(schema, {"region": None}) == {}

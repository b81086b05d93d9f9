"""The strict-spec client: what it sends (tools/list never carries a null cursor) and which
refusals it accepts (every error the specs allow for params that are not an object)."""

from __future__ import annotations

import json

import httpx
import pytest

from releasegate.core.profile import Timeouts
from releasegate.mcp.client import McpClient
from releasegate.mcp.refusals import NON_OBJECT_PARAMS, allowed_refusal, expected
from releasegate.mcp.transport import McpTransport

URL = "http://mcp.test/mcp"


def client_answering(answer: httpx.Response, seen: list[dict] | None = None) -> McpClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(json.loads(request.content))
        return answer

    transport = McpTransport(URL, timeouts=Timeouts(1, 1, 2), body_limit=1 << 20,
                             transport=httpx.MockTransport(handler))
    return McpClient(transport)


def error(code: int, status: int = 400) -> httpx.Response:
    return httpx.Response(status, json={"jsonrpc": "2.0", "id": None,
                                        "error": {"code": code, "message": "refused"}})


@pytest.mark.parametrize(("code", "status", "clause"), [
    (-32602, 200, "runbook 000 §5.4"),          # the Python SDK
    (-32600, 400, "JSONRPCRequest.params is an object"),
    (-32700, 400, "TypeScript SDK"),            # @modelcontextprotocol/sdk: "Invalid JSON-RPC message"
])
def test_every_refusal_the_specs_allow_is_accepted_with_its_clause(code, status, clause):
    reply = client_answering(error(code, status)).request("tools/list", [])
    refusal = allowed_refusal(reply, NON_OBJECT_PARAMS)
    assert refusal is not None and refusal.code == code and clause in refusal.clause


@pytest.mark.parametrize("answer", [
    httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}),
    error(-32603, 500),
    httpx.Response(400, text="<html>Bad Request</html>", headers={"content-type": "text/html"}),
])
def test_a_result_or_another_error_is_not_a_refusal(answer):
    reply = client_answering(answer).request("tools/list", [])
    assert allowed_refusal(reply, NON_OBJECT_PARAMS) is None
    assert expected(NON_OBJECT_PARAMS) == ("a JSON-RPC error -32602 Invalid params, -32600 Invalid "
                                           "Request or -32700 Parse error")


def test_tools_list_sends_no_cursor_until_the_server_gives_one():
    seen: list[dict] = []
    pages = iter([{"tools": [{"name": "a"}], "nextCursor": "c2"}, {"tools": [{"name": "b"}]}])

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body["params"])
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": next(pages)})

    transport = McpTransport(URL, timeouts=Timeouts(1, 1, 2), body_limit=1 << 20,
                             transport=httpx.MockTransport(handler))
    listing = McpClient(transport).list_tools()
    assert listing.problem is None and sorted(listing.by_name()) == ["a", "b"]
    assert seen == [{}, {"cursor": "c2"}]

"""What the transport makes of answers that are not what a request deserves, in one line each."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from releasegate.core.profile import Timeouts
from releasegate.mcp import jsonrpc
from releasegate.mcp.transport import McpReply, McpTransport, merge_headers

URL = "http://mcp.test/mcp"
REQUEST = jsonrpc.request(5, "tools/list", {"cursor": None})


def send(answer: Callable[[httpx.Request], httpx.Response], *, body_limit: int = 1 << 20,
         message: dict | None = REQUEST) -> McpReply:
    transport = McpTransport(URL, timeouts=Timeouts(1, 1, 2), body_limit=body_limit,
                             transport=httpx.MockTransport(answer))
    return transport.send("MCP tools/list", message)


def sse(*events: str, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: httpx.Response(status, headers={"content-type": "text/event-stream"},
                                    content="".join(events).encode())


def event(message: dict, kind: str = "message") -> str:
    return f"event: {kind}\ndata: {json.dumps(message)}\n\n"


RESULT = {"jsonrpc": "2.0", "id": 5, "result": {"tools": []}}


def test_the_response_is_found_after_priming_notifications_and_server_requests():
    note = jsonrpc.notification("notifications/message", {"level": "info", "data": "x"})
    ask = jsonrpc.request("s1", "roots/list")
    reply = send(sse("id: 1\ndata: \n\n", event(note), event(ask), event(RESULT)))
    assert reply.message == RESULT and reply.problem is None
    assert reply.others == [note, ask] and len(reply.events) == 4


def test_what_the_stream_does_after_the_response_does_not_matter():
    class Broken(httpx.SyncByteStream):
        def __iter__(self):
            yield event(RESULT).encode()
            yield b"data: {\"half"
            raise httpx.ReadError("connection reset by peer")

    reply = send(lambda _: httpx.Response(200, headers={"content-type": "text/event-stream"},
                                          stream=Broken()))
    assert reply.message == RESULT and reply.problem is None


@pytest.mark.parametrize(("answer", "problem"), [
    (sse(event({**RESULT, "id": 99})),
     "the SSE stream carried a response for id 99 but never the response to id 5"),
    (sse("event: message\ndata: {\"jsonrpc\": \"2.0\", \"id\": 5, \"res"),
     "the SSE stream ended mid-event ("),
    (sse("id: 1\ndata: \n\n"), "the SSE stream ended after 1 events without the response to id 5"),
    (sse("data: not json\n\n"), "SSE event data is not JSON: 'not json'"),
    (sse(event({"jsonrpc": "2.0", "id": 5})), "malformed JSON-RPC response: needs exactly one of"),
    (lambda _: httpx.Response(200, json={"jsonrpc": "1.0", "id": 5, "result": {}}),
     "malformed JSON-RPC response: 'jsonrpc' is '1.0', not '2.0'"),
    (lambda _: httpx.Response(200, json=[RESULT]),
     "malformed JSON-RPC response: a JSON list instead of a JSON-RPC object"),
    (lambda _: httpx.Response(200, json={"jsonrpc": "2.0", "id": 5, "error": {"code": "x"}}),
     "'error' is not an object with an integer 'code'"),
    (lambda _: httpx.Response(200, headers={"content-type": "application/json"}, content=b"{oops"),
     "body is not valid JSON (Expecting property name enclosed in double quotes at char 1)"),
    (lambda _: httpx.Response(200, headers={"content-type": "text/html"},
                              content=b"<html><title>Sign in</title></html>"),
     "answered 200 with an HTML page 'Sign in' instead of a JSON-RPC answer: a login page or proxy"),
    (lambda _: httpx.Response(200, headers={"content-type": "text/plain"}, content=b"ok"),
     "content-type is 'text/plain', expected application/json or text/event-stream"),
    (lambda _: httpx.Response(307, headers={"location": "https://sso.test/login"}),
     "answered 307 redirect to https://sso.test/login instead of a JSON-RPC answer"),
])
def test_an_unusable_answer_is_one_line(answer, problem):
    reply = send(answer)
    assert reply.message is None
    assert reply.problem is not None and problem in reply.problem and "\n" not in reply.problem
    assert reply.describe().startswith(f"{reply.status}") and reply.key.endswith(reply.problem)


def test_an_id_less_error_answers_a_request():
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Bad Request"}}
    reply = send(lambda _: httpx.Response(400, json=error))
    assert reply.message == error and reply.problem is None and reply.outcome == "400 error -32600"


def test_an_error_status_without_json_rpc_is_no_problem_only_a_status():
    reply = send(lambda _: httpx.Response(401, json={"error": "invalid_token"},
                                          headers={"www-authenticate": 'Bearer error="invalid_token"'}))
    assert (reply.status, reply.message, reply.problem) == (401, None, None)
    assert reply.describe() == "401"


@pytest.mark.parametrize("sse_answer", [True, False])
def test_bodies_are_capped(sse_answer):
    big = event({**RESULT, "result": {"tools": [{"name": "x" * 5000}]}})
    answer = sse(big) if sse_answer else (lambda _: httpx.Response(200, content=big.encode(), headers={
        "content-type": "application/json"}))
    reply = send(answer, body_limit=1024)
    assert reply.message is None and "1,024-byte cap" in reply.problem


def test_a_notification_reads_the_status_and_the_body():
    reply = send(lambda _: httpx.Response(202), message=jsonrpc.notification("notifications/initialized"))
    assert (reply.status, reply.fetch.body, reply.problem, reply.want_id) == (202, b"", None, None)


def test_a_refused_connection_is_a_transport_problem():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    reply = send(refuse)
    assert reply.status is None and reply.fetch.unreachable
    assert reply.problem == "connection refused (nothing listening on that host and port)"
    assert reply.key == f"MCP tools/list → {reply.problem}"


def test_headers_merge_case_insensitively_and_drop():
    merged = merge_headers({"Authorization": "a", "Accept": "x"}, {"accept": "y"}, drop=["AUTHORIZATION"])
    assert merged == {"accept": "y"}

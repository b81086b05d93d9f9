"""Hostile MCP endpoints for the project's own tests, on tests/hostile.py's bounded TCP server.

``mcp_endpoint(answer)`` reads each HTTP request (head and Content-Length body), decodes the
JSON-RPC message and lets ``answer(conn, server, request)`` write whatever it likes: a correct
answer, an HTML page, an SSE stream cut mid-event or one that never ends, malformed JSON-RPC, a
response for another id. Every request is kept in ``server.requests`` (tests assert what was, and
was never, sent). Connections are closed after each answer.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests import hostile
from tests.hostile import TICK, HostileServer, head, send

SESSION = "hostile-session-1"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    rpc: dict[str, Any] = field(default_factory=dict)

    @property
    def rpc_method(self) -> str | None:
        return self.rpc.get("method")


Answer = Callable[[socket.socket, HostileServer, Request], None]


def read_http(conn: socket.socket, server: HostileServer) -> Request | None:
    data = hostile.read_request(conn, server)
    if b"\r\n\r\n" not in data:
        return None
    head_part, _, body = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    method, path = lines[0].split()[:2]
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:]
                                                         if ":" in line)}
    length = int(headers.get("content-length", "0") or 0)
    waited = 0.0
    while len(body) < length and waited < hostile.REQUEST_WAIT_S and not server.stopping.is_set():
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            waited += TICK
            continue
        if not chunk:
            break
        body += chunk
    try:
        rpc = json.loads(body) if body else {}
    except ValueError:
        rpc = {}
    return Request(method, path, headers, rpc if isinstance(rpc, dict) else {})


def mcp_endpoint(answer: Answer) -> hostile.Handler:
    def handler(conn: socket.socket, server: HostileServer) -> None:
        request = read_http(conn, server)
        if request is None:
            return
        server.requests.append(request)  # type: ignore[attr-defined]
        answer(conn, server, request)

    return handler


def serve(handler: hostile.Handler) -> HostileServer:
    server = HostileServer(handler)
    server.requests = []  # type: ignore[attr-defined]
    return server


# --- answers -----------------------------------------------------------------------------------


def json_body(conn: socket.socket, server: HostileServer, payload: Any, status: str = "200 OK",
              **headers: str) -> None:
    body = json.dumps(payload).encode()
    send(conn, server, head(status, "application/json", Content_Length=len(body), **headers) + body)


def sse_event(payload: Any) -> bytes:
    return b"event: message\ndata: " + json.dumps(payload).encode() + b"\n\n"


def result(request: Request, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request.rpc.get("id"), "result": value}


INIT_RESULT = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
               "serverInfo": {"name": "hostile", "version": "0"}}
TOOLS = {"tools": [
    {"name": "get_database_stats", "inputSchema": {"type": "object"},
     "annotations": {"readOnlyHint": True}},
    {"name": "drop_everything", "inputSchema": {"type": "object"},
     "annotations": {"destructiveHint": True}},
]}


def well_behaved(conn: socket.socket, server: HostileServer, request: Request) -> bool:
    """Answer the handshake and tools/list correctly; False when the request is something else."""
    method = request.rpc_method
    if request.method != "POST" or method is None:
        send(conn, server, head("405 Method Not Allowed", "text/plain", Content_Length=0))
        return True
    if method == "initialize":
        json_body(conn, server, result(request, INIT_RESULT), mcp_session_id=SESSION)
        return True
    if "id" not in request.rpc:
        send(conn, server, head("202 Accepted", "application/json", Content_Length=0))
        return True
    if method == "tools/list":
        json_body(conn, server, result(request, TOOLS))
        return True
    return False


def html_page(conn: socket.socket, server: HostileServer, request: Request) -> None:
    """A single-sign-on proxy in front of everything."""
    body = b"<!doctype html><html><head><title>Sign in</title></head><body>login</body></html>"
    send(conn, server, head("200 OK", "text/html; charset=utf-8", Content_Length=len(body)) + body)


def malformed(conn: socket.socket, server: HostileServer, request: Request) -> None:
    """JSON, but not JSON-RPC 2.0: a 1.0 envelope with both result and error."""
    json_body(conn, server, {"jsonrpc": "1.0", "id": request.rpc.get("id"), "result": {},
                             "error": None})


def sse_cut_mid_event(conn: socket.socket, server: HostileServer, request: Request) -> None:
    """A correct handshake; then every answer stops in the middle of its SSE event."""
    if well_behaved(conn, server, request):
        return
    send(conn, server, head("200 OK", "text/event-stream") + b"id: 1\ndata: \n\n"
         + sse_event(result(request, {"content": []}))[:40])


def endless_stream(conn: socket.socket, server: HostileServer, request: Request) -> None:
    """A correct handshake; then tool calls open an SSE stream that only ever sends keep-alives."""
    if well_behaved(conn, server, request):
        return
    send(conn, server, head("200 OK", "text/event-stream") + b"id: 1\ndata: \n\n")
    while not server.stopping.wait(0.2):
        send(conn, server, b": keep-alive\n\n")


def wrong_id(conn: socket.socket, server: HostileServer, request: Request) -> None:
    """A correct handshake; then every answer is a response for a request nobody sent."""
    if well_behaved(conn, server, request):
        return
    send(conn, server, head("200 OK", "text/event-stream")
         + sse_event({"jsonrpc": "2.0", "id": 999, "result": {"content": []}}))


STATS = {"ok": True, "raw": {"api_responses": 1}, "core": {"fixtures": 1}}


def honest(conn: socket.socket, server: HostileServer, request: Request) -> None:
    """A correct server that also lists a destructive tool no profile allows."""
    if well_behaved(conn, server, request):
        return
    if request.rpc_method == "tools/call":
        json_body(conn, server, result(request, {
            "content": [{"type": "text", "text": json.dumps(STATS)}], "structuredContent": STATS,
            "isError": False}))
        return
    json_body(conn, server, {"jsonrpc": "2.0", "id": request.rpc.get("id"),
                             "error": {"code": -32601, "message": "Method not found"}})

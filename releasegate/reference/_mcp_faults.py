"""An ASGI layer in front of the reference MCP server for faults the SDK cannot be made to have.

Each fault is what a proxy, a framework wrapper or a hand-written server in production does
wrong; the SDK behind it stays correct. Requests and answers pass through untouched unless a
fault applies to them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

KNOWN_VERSIONS = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}
SESSION_METHODS = {"initialize", "ping", "tools/list", "tools/call", "resources/list",
                   "resources/read", "resources/templates/list", "prompts/list", "prompts/get",
                   "completion/complete", "logging/setLevel"}
PROXY_PAGE = ("<html><head><title>{status} {reason}</title></head><body><center><h1>{status} "
              "{reason}</h1></center><hr><center>nginx</center></body></html>")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _set_header(scope: Scope, name: bytes, value: str | None) -> None:
    scope["headers"] = [(k, v) for k, v in scope["headers"] if k != name]
    if value is not None:
        scope["headers"].append((name, value.encode("latin-1")))


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _page(status: int, reason: str) -> bytes:
    return PROXY_PAGE.format(status=status, reason=reason).encode()


class FaultLayer:
    """Wraps the SDK's app; ``sessionless`` answers session-less requests (no enforcement)."""

    def __init__(self, app: App, faults: frozenset[str], *, sessionless: App | None = None) -> None:
        self.app = app
        self.faults = faults
        self.sessionless = sessionless

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method, faults = scope["path"].rstrip("/"), scope["method"], self.faults
        if path.startswith("/.well-known/oauth-protected-resource") and \
                "mcp_resource_metadata_missing" in faults:
            await _respond(send, 404, _page(404, "Not Found"), "text/html")  # not routed by the proxy
            return
        if path != "/mcp":
            await self.app(scope, receive, send)
            return
        if "mcp_proxy_504" in faults:  # 000 §5.4: the proxy cannot reach the upstream
            await _respond(send, 504, _page(504, "Gateway Time-out"), "text/html")
            return
        if method == "GET" and "mcp_get_serves_html" in faults:  # the web front end's catch-all
            await _respond(send, 200, b"<!doctype html><html><head><title>Collector dashboard"
                           b"</title></head><body><div id=app></div></body></html>", "text/html")
            return
        if method == "DELETE" and "mcp_delete_ignored" in faults:
            await _respond(send, 200, b"", "application/json")  # answered, never forwarded
            return
        app = self.app
        if method == "POST":
            receive, app, answered = await self._rewrite_request(scope, receive, send)
            if answered:
                return
        await app(scope, receive, self._rewrite_answer(scope, send))

    async def _rewrite_request(self, scope: Scope, receive: Receive,
                               send: Send) -> tuple[Receive, App, bool]:
        faults = self.faults
        if "mcp_accept_not_enforced" in faults:  # the server never looks at Accept
            _set_header(scope, b"accept", "application/json, text/event-stream")
        version = _header(scope, b"mcp-protocol-version")
        if "mcp_protocol_version_not_validated" in faults and version not in KNOWN_VERSIONS:
            _set_header(scope, b"mcp-protocol-version", None)  # anything unknown is waved through
        if not (faults & {"mcp_lenient_jsonrpc", "mcp_discover_missing"} or self.sessionless):
            return receive, self.app, False
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        rpc = payload if isinstance(payload, dict) else {}
        modern = version not in (None, *KNOWN_VERSIONS - {"2026-07-28"})
        if "mcp_discover_missing" in faults and modern and rpc.get("method") == "server/discover" \
                and _header(scope, b"mcp-method") == "server/discover":
            error = {"jsonrpc": "2.0", "id": rpc.get("id"),
                     "error": {"code": -32601, "message": "Method not found"}}
            await _respond(send, 404, json.dumps(error).encode(), "application/json")
            return receive, self.app, True
        if "mcp_lenient_jsonrpc" in faults and rpc and not modern:
            # A generic JSON-RPC layer: params that are not an object become {}, an unknown
            # method is answered as a ping (an empty result) instead of -32601.
            if "params" in rpc and not isinstance(rpc["params"], dict):
                rpc["params"] = {}
            if "id" in rpc and rpc.get("method") not in SESSION_METHODS:
                rpc["method"] = "ping"
            body = json.dumps(rpc).encode()
            _set_header(scope, b"content-length", str(len(body)))
        app = self.app
        if self.sessionless is not None and _header(scope, b"mcp-session-id") is None \
                and rpc.get("method") != "initialize":
            app = self.sessionless
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, app, False

    def _rewrite_answer(self, scope: Scope, send: Send) -> Send:
        faults = self.faults
        had_session = _header(scope, b"mcp-session-id") is not None
        state: dict[str, Any] = {"replace": None}

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if "mcp_unknown_session_400" in faults and status == 404 and had_session:
                    message = {**message, "status": 400}  # "bad request" for a session it lost
                elif "mcp_notification_not_202" in faults and status == 202:
                    state["replace"] = b'{"status":"accepted"}'
                    message = {**message, "status": 200}
                elif "mcp_proxy_intercepts_errors" in faults and status in (400, 404):
                    state["replace"] = _page(status, "Bad Request" if status == 400 else "Not Found")
                    message = {**message, "headers": [(b"content-type", b"text/html")]}
                if state["replace"] is not None:
                    headers = [(k, v) for k, v in message["headers"]
                               if k not in (b"content-length", b"content-type")]
                    kind = b"text/html" if state["replace"].startswith(b"<") else b"application/json"
                    size = str(len(state["replace"])).encode()
                    message = {**message, "headers": [*headers, (b"content-type", kind),
                                                      (b"content-length", size)]}
            elif message["type"] == "http.response.body":
                if state["replace"] is not None:
                    if message.get("more_body"):
                        return
                    message = {"type": "http.response.body", "body": state["replace"]}
                elif "mcp_sse_event_renamed" in faults:  # a hand-rolled SSE writer's own event type
                    message = {**message, "body": message.get("body", b"").replace(
                        b"event: message", b"event: jsonrpc")}
            await send(message)

        return wrapped

"""Serving an SDK's Starlette app the way a small team would: uvicorn on 127.0.0.1, a static
bearer token in front (``TOKEN``), and the ASGI wrappers that carry the faults."""

from __future__ import annotations

import argparse
import hmac
import json
import os
from typing import Any

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings

from tests.independent.mcp.py_service import FAULTS


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stateless", action="store_true")
    return parser.parse_args()


def security() -> TransportSecuritySettings | None:
    """None keeps the SDK's default for 127.0.0.1 (Host and Origin checked); origin_open turns it off."""
    if "origin_open" in FAULTS:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return None


def renaming_sse_events(app: Any) -> Any:
    """A proxy plugin that rewrites SSE event names (clients wait for 'message')."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def renamed(message: Any) -> None:
            if message.get("type") == "http.response.body" and message.get("body"):
                message = {**message, "body": message["body"].replace(b"event: message", b"event: rpc")}
            await send(message)

        await app(scope, receive, renamed)

    return wrapped


def refusing(status: int, body: dict[str, Any], **headers: str) -> Any:
    async def answer(send: Any) -> None:
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
            *((k.replace("_", "-").encode(), v.encode()) for k, v in headers.items())]})
        await send({"type": "http.response.body", "body": raw})

    return answer


def bearer_required(app: Any, token: str) -> Any:
    """No valid bearer token, 401 with a Bearer challenge (MCP Authorization); auth_open forgets it."""
    unauthorized = refusing(401, {"error": "unauthorized"}, www_authenticate='Bearer realm="mcp"')

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                await unauthorized(send)
                return
        await app(scope, receive, send)

    return wrapped


def hiding_discover(app: Any) -> Any:
    """discover_missing: a gateway rule that lets only the 2025 methods through."""
    missing = refusing(404, {"jsonrpc": "2.0", "id": None,
                             "error": {"code": -32601, "message": "Method not found"}})

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"mcp-method") == b"server/discover":
            await missing(send)
            return
        await app(scope, receive, send)

    return wrapped


def serve(app: Any, port: int) -> None:
    if "sse_event_renamed" in FAULTS:
        app = renaming_sse_events(app)
    if "discover_missing" in FAULTS:
        app = hiding_discover(app)
    if os.environ.get("TOKEN") and "auth_open" not in FAULTS:
        app = bearer_required(app, os.environ["TOKEN"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")

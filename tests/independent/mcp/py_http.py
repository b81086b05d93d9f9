"""Serving an SDK's Starlette app the way a small team would: uvicorn on 127.0.0.1, plus the
ASGI wrapper that carries the ``sse_event_renamed`` fault."""

from __future__ import annotations

import argparse
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


def serve(app: Any, port: int) -> None:
    if "sse_event_renamed" in FAULTS:
        app = renaming_sse_events(app)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")

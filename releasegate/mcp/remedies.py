"""Runbook 000 §5.4 (MCP 4xx/5xx): the cause and fix production saw for each failure mode."""

from __future__ import annotations

from typing import Any, Protocol

from releasegate.mcp import jsonrpc


class _Reply(Protocol):
    """What remedy_for reads of an McpReply (transport.py)."""

    status: int | None
    error: dict[str, Any] | None
    fetch: Any  # http.client.Fetch: its request_headers

ACCEPT = ("000 §5.4: 406 Not Acceptable — the client's Accept header must list both "
          "application/json and text/event-stream")
SESSION = ("000 §5.4: 400 Missing session ID — the server is stateful: send the mcp-session-id "
           "from the initialize answer on every later request (000 §1.4)")
PARAMS = ('000 §5.4: -32602 Invalid request parameters — params must be an object: tools/list '
          'takes {} (a later page {"cursor": "<nextCursor>"}: the schema\'s cursor is an optional string)')
PROXY = ("000 §5.4: 504 Gateway Timeout — the reverse proxy cannot reach the MCP upstream "
         "(routing/network); behind Traefik the endpoint path must be exactly /mcp")
PATH = "000 §5.4: the MCP endpoint path must be exactly /mcp (Traefik path behaviour)"


def remedy_for(reply: _Reply) -> str | None:
    """The 000 §5.4 step matching what the server answered, or None."""
    status = reply.status
    error = reply.error
    if error is not None and error.get("code") == jsonrpc.INVALID_PARAMS:
        return PARAMS
    if status == 406:
        return ACCEPT
    if status in (502, 504):
        return PROXY
    sent_session = any(k.lower() == "mcp-session-id" for k in reply.fetch.request_headers)
    if status == 400 and not sent_session and "session" in str((error or {}).get("message", "")).lower():
        return SESSION
    if status == 404 and not sent_session:
        return PATH
    return None

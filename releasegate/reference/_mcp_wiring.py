"""SDK wiring of the reference MCP server: its static-token verifier and tools/list paging."""

from __future__ import annotations

import base64
import hmac
from typing import Any

from mcp.server.auth.provider import AccessToken
from mcp.types import ListToolsResult

PAGE_SIZE = 4  # tools per tools/list page: production servers with many tools paginate


class StaticTokenVerifier:
    """The SDK's TokenVerifier protocol for one static bearer token (the reference has no IdP)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token.encode()):
            return AccessToken(token=token, client_id="releasegate", scopes=[])
        return None


def paginate_tools(faults: frozenset[str]) -> Any:
    """SDK server middleware: tools/list in pages of PAGE_SIZE with an opaque nextCursor.

    MCPServer lists every tool on one page; this makes the reference page through them so the
    client's cursor handling runs live. mcp_tool_schema_invalid breaks one tool's inputSchema here.
    """

    async def middleware(ctx: Any, call_next: Any) -> Any:
        if ctx.method != "tools/list":
            return await call_next(ctx)
        result = await call_next(ctx)
        wire = isinstance(result, dict)  # the SDK hands middleware the result in its wire form
        tools = list(result["tools"] if wire else result.tools)
        if "mcp_tool_schema_invalid" in faults:
            broken = {"type": "object", "properties": {"limit": {"type": "integr", "minimum": "1"}}}
            tools = [_with_input_schema(t, broken) if _name(t) == "get_recent_log_errors" else t
                     for t in tools]
        params = ctx.params if isinstance(ctx.params, dict) else {}
        cursor = params.get("cursor")
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
        except (ValueError, UnicodeDecodeError):
            start = 0
        end = start + PAGE_SIZE
        following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(tools) else None
        if wire:
            page = {**result, "tools": tools[start:end]}
            page.pop("nextCursor", None)
            return {**page, **({"nextCursor": following} if following else {})}
        return ListToolsResult(tools=tools[start:end], next_cursor=following)

    return middleware


def _name(tool: Any) -> str:
    return tool["name"] if isinstance(tool, dict) else tool.name


def _with_input_schema(tool: Any, schema: dict[str, Any]) -> Any:
    if isinstance(tool, dict):
        return {**tool, "inputSchema": schema}
    return tool.model_copy(update={"input_schema": schema})

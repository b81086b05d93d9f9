"""An MCP server on the official Python SDK's low-level ``Server``: hand-written tool list with
JSON Schemas and annotations, tools/list in pages, JSON text results.

    python -m tests.independent.mcp.py_lowlevel --port 8124 [--stateless]
"""

from __future__ import annotations

import json
from typing import Any

from mcp import types
from mcp.server.lowlevel import Server

from tests.independent.mcp import py_http, py_service

PAGE_SIZE = 4
INPUTS: dict[str, dict[str, Any]] = {
    "get_coverage_summary": {"season": {"type": "integer"}},
    "query_fixtures": {"limit": {"type": "integer", "minimum": 1, "maximum": 100}},
    "get_raw_error_summary": {"since_minutes": {"type": "integer", "minimum": 1}},
    "get_recent_log_errors": {"limit": {"type": "integer", "minimum": 1}},
    "get_coverage_status": {"league_id": {"type": "integer"}},
}


def tool(name: str) -> types.Tool:
    read_only = None if name == "trigger_backfill" else types.ToolAnnotations(read_only_hint=True)
    return types.Tool(name=name, description=name.replace("_", " "), annotations=read_only,
                      input_schema={"type": "object", "properties": INPUTS.get(name, {})})


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    cursor = params.cursor if params is not None else None
    start = int(cursor) if cursor and cursor.isdigit() else 0
    end = start + PAGE_SIZE
    names = py_service.TOOLS
    following = str(end) if end < len(names) else None
    if following and "cursor_repeats" in py_service.FAULTS:
        following = str(PAGE_SIZE)
    return types.ListToolsResult(tools=[tool(n) for n in names[start:end]], next_cursor=following)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    if params.name not in py_service.TOOLS:
        return types.CallToolResult(content=[types.TextContent(text=f"no tool {params.name}")],
                                    is_error=True)
    data = py_service.answer(params.name, dict(params.arguments or {}))
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(data))])


def main() -> None:
    args = py_http.arguments()
    server = Server("independent-py-lowlevel", version="0.4.0", on_list_tools=list_tools,
                    on_call_tool=call_tool)
    app = server.streamable_http_app(stateless_http=args.stateless,
                                     transport_security=py_http.security())
    py_http.serve(app, args.port)


if __name__ == "__main__":
    main()

"""An MCP server on the official Python SDK's high-level ``MCPServer`` (1.x's FastMCP): one
decorated function per tool; a pydantic return type gives get_rate_limit_status an outputSchema
and structured content, plain dicts give JSON text.

    python -m tests.independent.mcp.py_highlevel --port 8125 [--stateless]
"""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel

from tests.independent.mcp import py_http, py_service

server = MCPServer("independent-py-highlevel", version="2.1.0")
READ_ONLY = ToolAnnotations(read_only_hint=True)


class Quota(BaseModel):
    ok: bool
    daily_remaining: int | None
    minute_remaining: int | None
    source_header_seen: bool


@server.tool(annotations=READ_ONLY)
def get_rate_limit_status() -> Quota:
    """API quota left today and this minute."""
    return Quota(**py_service.quota())


@server.tool(annotations=READ_ONLY)
def get_database_stats() -> dict[str, Any]:
    """Row counts per layer."""
    return py_service.database()


@server.tool(annotations=READ_ONLY)
def get_coverage_summary(season: int | None = None) -> dict[str, Any]:
    """Coverage per season."""
    return py_service.coverage(season)


@server.tool(annotations=READ_ONLY)
def get_job_status() -> dict[str, Any]:
    """The scheduled jobs and their last state."""
    return py_service.jobs()


@server.tool(annotations=READ_ONLY)
def query_fixtures(limit: int = 10) -> list[dict[str, Any]]:
    """A sample of fixtures."""
    return py_service.fixtures(limit)


@server.tool(annotations=READ_ONLY)
def get_backfill_progress() -> dict[str, Any]:
    """Backfill progress per job."""
    return py_service.answer("get_backfill_progress", {})


@server.tool(annotations=READ_ONLY)
def get_raw_error_summary(since_minutes: int = 60) -> dict[str, Any]:
    """API errors by kind over a window."""
    return py_service.answer("get_raw_error_summary", {"since_minutes": since_minutes})


@server.tool(annotations=READ_ONLY)
def get_recent_log_errors(limit: int = 50) -> dict[str, Any]:
    """Recent error log entries."""
    return py_service.answer("get_recent_log_errors", {"limit": limit})


@server.tool(annotations=READ_ONLY)
def get_coverage_status(league_id: int | None = None) -> dict[str, Any]:
    """Coverage of one league per endpoint."""
    return py_service.answer("get_coverage_status", {"league_id": league_id})


@server.tool(annotations=READ_ONLY)
def get_last_sync_time() -> dict[str, Any]:
    """When each endpoint was last synced."""
    return py_service.answer("get_last_sync_time", {})


if "write_tool" in py_service.FAULTS:

    @server.tool()  # a write tool slipped in, without readOnlyHint
    def trigger_backfill() -> dict[str, Any]:
        """Queue a backfill."""
        return py_service.answer("trigger_backfill", {})


def main() -> None:
    args = py_http.arguments()
    app = server.streamable_http_app(stateless_http=args.stateless,
                                     transport_security=py_http.security())
    py_http.serve(app, args.port)


if __name__ == "__main__":
    main()

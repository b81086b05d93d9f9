"""MCP part of the reference stack: runbook 000's MCP server and runbook 003's module health.

The server (reference/_mcp_server.py, the official SDK) runs in its own process beside the app,
started as soon as the database is seeded and awaited after the app is up, so the two boot in
parallel and stacks without this part never import the SDK. Faults: see FAULTS.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

from releasegate.core.paths import IN_CHECKOUT, ROOT
from releasegate.reference.parts import Fault, Part, StackContext

SLOW_TOOL_S = 0.8
SLOW_TOOL_BUDGET_MS = 500
TOOLS = ("get_rate_limit_status", "get_database_stats", "get_coverage_summary", "get_coverage_status",
         "get_job_status", "query_fixtures", "get_backfill_progress", "get_raw_error_summary",
         "get_recent_log_errors", "get_last_sync_time")

FAULTS = (
    Fault("mcp_proxy_504", "the reverse proxy answers 504 for /mcp (upstream unreachable)", "000 §5.4"),
    Fault("mcp_no_session_id", "the server runs stateless: initialize issues no mcp-session-id",
          "000 §1.4"),
    Fault("mcp_no_session_enforcement", "requests without mcp-session-id are served anyway",
          "000 §1.4, §5.4; Transports §Session Management 2"),
    Fault("mcp_accept_not_enforced", "a POST whose Accept lacks text/event-stream gets 200, not 406",
          "000 §5.4"),
    Fault("mcp_unknown_session_400", "an unknown or terminated session id is answered 400, not 404",
          "Transports §Session Management 3"),
    Fault("mcp_origin_not_validated", "DNS-rebinding protection off: a foreign Origin is served",
          "Transports §Security Warning 1"),
    Fault("mcp_protocol_version_not_validated", "an unknown MCP-Protocol-Version is accepted",
          "Transports §Protocol Version Header"),
    Fault("mcp_notification_not_202", "notifications are answered 200 with a body, not 202",
          "Transports §Sending Messages 4"),
    Fault("mcp_get_serves_html", "GET /mcp is routed to the web front end's HTML page",
          "Transports §Listening for Messages 3"),
    Fault("mcp_delete_ignored", "DELETE answers 200 but the session lives on",
          "Transports §Session Management 3, 5"),
    Fault("mcp_lenient_jsonrpc", "non-object params and unknown methods get a result, not -32602/-32601",
          "000 §5.4; JSON-RPC 2.0 §5.1"),
    Fault("mcp_proxy_intercepts_errors", "the proxy replaces 400/404 bodies with its own HTML pages",
          "2026-07-28 Transports §Server Validation"),
    Fault("mcp_discover_missing", "2026-07-28 requests are served but server/discover answers -32601",
          "2026-07-28 Versioning"),
    Fault("mcp_sse_event_renamed", "SSE events are typed 'jsonrpc' instead of 'message': SDK clients "
          "ignore them", "000 §1.4 (real clients)"),
    Fault("mcp_auth_not_enforced", "the server answers requests without credentials", "Authorization"),
    Fault("mcp_resource_metadata_missing", "the challenge names RFC 9728 metadata the server does not serve",
          "Authorization §Protected Resource Metadata"),
    Fault("mcp_tool_missing", "get_job_status is not registered", "000 §1.2 D"),
    Fault("mcp_write_tool_exposed", "an admin tool (trigger_backfill) is listed, and get_last_sync_time "
          "lost its readOnlyHint", "000 §0 (read-only MCP)"),
    Fault("mcp_tool_schema_invalid", "get_recent_log_errors advertises an invalid inputSchema",
          "server/tools"),
    Fault("mcp_database_stats_not_ok", "get_database_stats reports ok=false (a table it reads is gone)",
          "000 §1.2 B, §1.3"),
    Fault("mcp_tool_raises", "get_coverage_summary raises: the call returns isError", "000 §1.3"),
    Fault("mcp_tool_slow", f"get_backfill_progress answers after {SLOW_TOOL_S:g}s, over its "
          f"{SLOW_TOOL_BUDGET_MS} ms budget", "000 §1.2 Phase 1.5"),
    Fault("mcp_schema_drift", "query_fixtures renames home_team/away_team (and its outputSchema)",
          "000 §1.2 E, §1.3"),
    Fault("mcp_modules_unhealthy", "003's modules fail their health: finbot reports degraded, mubot "
          "answers 503, aiops a sign-in page, observability no status", "003 Promise Rejection Analysis"),
)


def start_server(ctx: StackContext) -> None:
    """Start the MCP server on a socket bound here (its URL is known before it starts)."""
    from releasegate.reference.stack import _bound_socket, _terminate  # stack imports parts: not at the top

    sock = _bound_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "RG_DSN": ctx.dsn, "RG_MCP_URL": f"{base}/mcp", "RG_MCP_TOKEN": token,
           "RG_MCP_SLOW_S": str(SLOW_TOOL_S), "RG_FAULTS": ",".join(sorted(ctx.faults))}
    if IN_CHECKOUT:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    log = ctx.root / "reference-mcp.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "releasegate.reference._mcp_server",
                                 "--fd", str(sock.fileno())],
                                pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=str(ctx.root), start_new_session=True)
    sock.close()
    ctx.exit_stack.callback(_terminate, proc)
    ctx.log(f"starting the reference MCP server on {base}/mcp")
    ctx.facts["mcp"] = {"base_url": base, "token": token, "proc": proc, "log": log}


def wait_server(ctx: StackContext) -> None:
    """Block until the MCP server answers (the app booted meanwhile)."""
    from releasegate.reference.stack import _wait_live

    mcp = ctx.facts["mcp"]
    _wait_live(mcp["base_url"], mcp["proc"], mcp["log"], path="/mcp/aiops/health",
               what="reference MCP server")


def profile(ctx: StackContext) -> dict[str, Any]:
    mcp = ctx.facts["mcp"]
    ops = {"severity": "warning"}  # 000 §1.2 Phase 1.5: ops observations, not the PASS rule
    return {"mcp": {
        "url": f"{mcp['base_url']}/mcp",
        "revision": "auto",
        "stateful": True,
        "headers": {"Authorization": f"Bearer {mcp['token']}"},
        "read_only": True,
        "allow_tools": list(TOOLS),
        "required_tools": list(TOOLS),
        "calls": [
            {"tool": "get_rate_limit_status"},
            {"tool": "get_database_stats"},
            {"tool": "get_coverage_summary"},
            {"tool": "get_job_status"},
            {"tool": "query_fixtures", "arguments": {"limit": 10}},
            {"tool": "get_coverage_status", "arguments": {"league_id": 1}, **ops},
            {"tool": "get_backfill_progress", "latency_budget_ms": SLOW_TOOL_BUDGET_MS, **ops},
            {"tool": "get_raw_error_summary", "arguments": {"since_minutes": 60}, **ops},
            {"tool": "get_recent_log_errors", "arguments": {"limit": 50}, **ops},
            {"tool": "get_last_sync_time", **ops},
        ],
        "pass_rule": {"calls": ["get_rate_limit_status", "get_database_stats", "get_job_status"],
                      "database_call": "get_database_stats"},
        "auth": {"required": True},
        "modules": {"names": ["finbot", "mubot", "aiops", "observability"]},
    }}


PART = Part("mcp", order=20, faults=FAULTS, seed_sql=("mcp.sql",), before_app=start_server,
            after_app=wait_server, profile=profile)

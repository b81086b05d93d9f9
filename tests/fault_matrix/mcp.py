"""Fault matrix rows of the MCP area (runs `-m mcp` against the health and MCP parts)."""

from __future__ import annotations

from functools import partial

from tests.fault_matrix import Row

McpRow = partial(Row, markers="mcp", parts=("health", "mcp"))

CALLS = ("get_rate_limit_status", "get_database_stats", "get_coverage_summary", "get_job_status",
         "query_fixtures", "get_coverage_status", "get_backfill_progress", "get_raw_error_summary",
         "get_recent_log_errors", "get_last_sync_time")
# Every check that needs the session: all of them fail when initialize cannot get through.
SESSION_CHECKS = (
    "test_initialize_answers", "test_session_id_issued", "test_initialized_notification_is_202",
    "test_tools_list_answers", "test_required_tools_present", "test_tool_schemas_are_valid",
    "test_tools_are_read_only", "test_pass_rule", "test_official_sdk_client_connects_lists_and_calls",
    "test_post_without_event_stream_accept_is_406", "test_request_without_session_id_is_400",
    "test_unknown_session_id_is_404", "test_non_object_params_are_refused",
    "test_unknown_method_gets_32601", "test_invalid_protocol_version_is_400",
    "test_foreign_origin_is_403", "test_get_is_event_stream_or_405", "test_delete_ends_session",
    *(f"test_tool_call_meets_contract[{c}]" for c in CALLS),
    *(f"test_tool_call_within_latency_budget[{c}]" for c in CALLS),
)
PROXY_PAGE = "initialize answered 504 with an HTML page '504 Gateway Time-out'"

ROWS: list[Row] = [
    McpRow("", 0, "GO"),
    # 000 §5.4's 504: nothing of the session works; the 2026-07-28 checks are N/A (server/discover
    # got the proxy's page, not a modern answer), module health bypasses the proxy's /mcp route.
    McpRow("mcp_proxy_504", 2, "ROLLBACK", {
        **dict.fromkeys(SESSION_CHECKS, PROXY_PAGE),
        "test_request_without_credentials_is_401": "without credentials answered 504 with an HTML page",
    }),
    McpRow("mcp_no_session_id", 2, "ROLLBACK", {
        "test_session_id_issued": "MCP initialize answered without an mcp-session-id header",
    }),
    McpRow("mcp_no_session_enforcement", 4, "INVESTIGATE", {
        "test_request_without_session_id_is_400": "without mcp-session-id answered 200, expected 400",
    }),
    McpRow("mcp_accept_not_enforced", 4, "INVESTIGATE", {
        "test_post_without_event_stream_accept_is_406":
            "with Accept: application/json only answered 200, expected 406 Not Acceptable",
    }),
    McpRow("mcp_unknown_session_400", 2, "ROLLBACK", {
        "test_unknown_session_id_is_404": "with an unknown mcp-session-id answered 400 with JSON-RPC "
                                          "error -32600 'Session not found', expected 404",
        "test_delete_ends_session": "on the deleted session answered 400 with JSON-RPC error -32600",
    }),
    McpRow("mcp_origin_not_validated", 2, "ROLLBACK", {
        "test_foreign_origin_is_403": "with Origin: https://releasegate.invalid answered 200, expected 403",
    }),
    McpRow("mcp_protocol_version_not_validated", 2, "ROLLBACK", {
        "test_invalid_protocol_version_is_400": "with MCP-Protocol-Version: 1999-01-01 answered 200, "
                                                "expected 400",
        "test_sessionless_request_is_rejected[unsupported_version]":
            "at protocol version 1999-01-01 answered 400 with JSON-RPC error -32600",
    }, headline="with MCP-Protocol-Version: 1999-01-01 answered 200, expected 400"),  # the plain defect
    McpRow("mcp_notification_not_202", 2, "ROLLBACK", {
        "test_initialized_notification_is_202": "answered 200 with a 21-byte body, expected 202",
    }),
    McpRow("mcp_get_serves_html", 2, "ROLLBACK", {
        "test_get_is_event_stream_or_405": "answered 200 with an HTML page 'Collector dashboard', "
                                           "expected a text/event-stream or 405",
        "test_sessionless_request_is_rejected[get]": "answered 200 with an HTML page",
    }),
    McpRow("mcp_delete_ignored", 2, "ROLLBACK", {
        "test_delete_ends_session": "on the deleted session answered 200, expected 404 Not Found: the "
                                    "ended session lives on",
    }),
    McpRow("mcp_lenient_jsonrpc", 4, "INVESTIGATE", {
        "test_non_object_params_are_refused": "with params [] answered 200, expected a JSON-RPC error "
                                              "-32602 Invalid params, -32600 Invalid Request or -32700",
        "test_unknown_method_gets_32601": "answered 200, expected JSON-RPC error -32601",
    }),
    McpRow("mcp_proxy_intercepts_errors", 2, "ROLLBACK", {
        "test_sessionless_request_is_rejected[header_mismatch]":
            "answered 400 with an HTML page '400 Bad Request', expected 400 with JSON-RPC error -32020",
        "test_sessionless_request_is_rejected[unsupported_version]":
            "answered 400 with an HTML page '400 Bad Request', expected 400 with JSON-RPC error -32022",
        "test_sessionless_request_is_rejected[unknown_method]":
            "answered 404 with an HTML page '404 Not Found', expected 404 with JSON-RPC error -32601",
        "test_non_object_params_are_refused": "answered 400 with an HTML page '400 Bad Request', "
                                              "expected a JSON-RPC error -32602",
    }),
    McpRow("mcp_discover_missing", 2, "ROLLBACK", {
        "test_server_discover_answers": "server/discover answered 404 with JSON-RPC error -32601",
    }),
    McpRow("mcp_sse_event_renamed", 2, "ROLLBACK", {
        "test_official_sdk_client_connects_lists_and_calls":
            "failed at initialize: MCPError: SSE stream ended without a response",
    }),
    McpRow("mcp_auth_not_enforced", 2, "ROLLBACK", {
        "test_request_without_credentials_is_401": "without credentials answered 200, expected 401",
    }),
    McpRow("mcp_resource_metadata_missing", 2, "ROLLBACK", {
        "test_protected_resource_metadata_names_authorization_server":
            "/.well-known/oauth-protected-resource/mcp returned 404 with an HTML page",
    }),
    McpRow("mcp_tool_missing", 2, "ROLLBACK", {
        "test_required_tools_present": "tools/list lacks 1 required tool(s): get_job_status (9 listed)",
        "test_tool_call_meets_contract[get_job_status]": "get_job_status is not in tools/list",
        "test_pass_rule": "PASS not met: get_job_status is not in tools/list",
    }),
    McpRow("mcp_write_tool_exposed", 4, "INVESTIGATE", {
        "test_tools_are_read_only": "2 tool(s) not marked readOnlyHint: true on a read-only server: "
                                    "get_last_sync_time, trigger_backfill",
    }),
    McpRow("mcp_tool_schema_invalid", 4, "INVESTIGATE", {
        "test_tool_schemas_are_valid": "get_recent_log_errors inputSchema at /properties/limit/type",
    }),
    McpRow("mcp_database_stats_not_ok", 2, "ROLLBACK", {
        "test_tool_call_meets_contract[get_database_stats]":
            "get_database_stats reports ok=false: relation \"core.fixtures_v2\" does not exist",
        "test_pass_rule": "000 §1.3 PASS not met: MCP tools/call get_database_stats reports ok=false",
    }),
    McpRow("mcp_tool_raises", 2, "ROLLBACK", {
        "test_tool_call_meets_contract[get_coverage_summary]":
            "get_coverage_summary returned a tool error (isError: true)",
    }),
    McpRow("mcp_tool_slow", 4, "INVESTIGATE", {
        "test_tool_call_within_latency_budget[get_backfill_progress]": "over its 500 ms budget",
    }),
    McpRow("mcp_schema_drift", 2, "ROLLBACK", {
        # which item jsonschema's best_match names is its choice; the breach is the same
        "test_tool_call_meets_contract[query_fixtures]": "'home_team' is a required property",
    }),
    McpRow("mcp_modules_unhealthy", 2, "ROLLBACK", {
        "test_module_health[finbot]": "/mcp/finbot/health reports status 'degraded', expected one of ok, "
                                      "healthy, up, pass",
        "test_module_health[mubot]": "/mcp/mubot/health returned 503, expected 200; body: "
                                     "{\"status\":\"down\"",
        "test_module_health[aiops]": "/mcp/aiops/health answered 200 with an HTML page 'AIOps - sign in'",
        "test_module_health[observability]": "/mcp/observability/health reports status None",
    }),
]

"""Hostile MCP endpoints give failed checks with one-line reasons in bounded time.

Each case runs the MCP suite in a subprocess (as a user would) against a server from
tests/hostile_mcp.py: an HTML login page, malformed JSON-RPC, an SSE stream cut mid-event, one
that never ends, a response for the wrong id. Every run must end with a ROLLBACK verdict within a
bound computed from the profile's timeouts, with no INTERNALERROR and no check in error, and the
check that meets the misbehaviour must name it. And whatever the server lists, only tools on the
profile's allow-list are ever called, with the profile's credentials on every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import hostile_mcp
from tests.hostile import HostileServer
from tests.support import SuiteRun, run_suites, write_profile

CONNECT_S, READ_S, TOTAL_S = 1, 1, 2
# Exchanges that can hang until the total timeout against one endpoint: server/discover, the tool
# call, the unknown-method probe (each answered like a call) and the SDK client's whole run;
# every other exchange is answered at once. The bound is on the checks' own time (junit.xml),
# not the subprocess's wall clock: interpreter start-up on a busy runner is not releasegate's.
HANGING = 4
CHECKS_BOUND_S = HANGING * (TOTAL_S + READ_S) + 4
RUN_BOUND_S = CHECKS_BOUND_S + 10  # only the subprocess's timeout (x3): a hang, not slowness
CONTRACT = "test_tool_call_meets_contract[get_database_stats]"
TOKEN = "hostile-mcp-secret-token-4711"


@pytest.fixture
def mcp_server() -> Iterator[Callable[[hostile_mcp.Answer], HostileServer]]:
    servers: list[HostileServer] = []

    def start(answer: hostile_mcp.Answer) -> HostileServer:
        server = hostile_mcp.serve(hostile_mcp.mcp_endpoint(answer))
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def run_against(tmp_path: Path, server: HostileServer, record_property: Callable[[str, Any], None],
                **mcp: Any) -> SuiteRun:
    profile = write_profile(tmp_path / "hostile-mcp.yaml", {
        "name": "hostile-mcp",
        "defaults": {"timeouts": {"connect": CONNECT_S, "read": READ_S, "total": TOTAL_S},
                     "body_limit_bytes": 1024 * 1024},
        "mcp": {"url": f"{server.url}/mcp", "allow_tools": ["get_database_stats"],
                "required_tools": ["get_database_stats"], "calls": [{"tool": "get_database_stats"}],
                "pass_rule": {"calls": ["get_database_stats"]}, **mcp},
    })
    started = time.monotonic()
    run = run_suites(profile, tmp_path / "reports", "-m", "mcp", "-p", "no:anyio",
                     env={"HOSTILE_MCP_TOKEN": TOKEN}, timeout=RUN_BOUND_S * 3)
    elapsed = time.monotonic() - started
    record_property("wall_s", round(elapsed, 2))
    output = run.stdout + run.stderr
    assert "INTERNALERROR" not in output, output[-3000:]
    if (run.report_dir / "junit.xml").is_file():
        took = run.checks_s()
        record_property("checks_s", round(took, 2))
        assert took < CHECKS_BOUND_S, f"checks took {took:.1f}s, bound {CHECKS_BOUND_S}s"
    errored = {name: o for name, o in run.outcomes().items() if o == "error"}
    assert not errored, f"a misbehaving server must fail checks, not error them: {errored}"
    for name, message in run.failed().items():
        assert message.strip() and "\n" not in message, f"{name}: not one line: {message!r}"
        assert "Traceback" not in message, f"{name}: {message!r}"
    calls = {r.rpc.get("params", {}).get("name") for r in server.requests  # type: ignore[attr-defined]
             if r.rpc_method == "tools/call"}
    assert calls <= {"get_database_stats"}, f"called tools the profile does not allow: {calls}"
    return run


def assert_rollback(run: SuiteRun) -> None:
    assert run.returncode == 2 and run.summary["verdict"] == "ROLLBACK", run.stdout[-3000:]


def failed_with(run: SuiteRun, check: str, *needles: str) -> str:
    message = run.failed().get(check)
    assert message is not None, f"{check} did not fail: {run.outcomes().get(check)}"
    for needle in needles:
        assert needle in message, f"{check}: {needle!r} not in {message!r}"
    return message


def test_html_login_page(tmp_path, mcp_server, record_property):
    run = run_against(tmp_path, mcp_server(hostile_mcp.html_page), record_property)
    assert_rollback(run)
    record_property("reason", failed_with(run, "test_initialize_answers", "HTML page 'Sign in'",
                                          "login page or proxy stands in front"))
    failed_with(run, CONTRACT, "HTML page 'Sign in'")


def test_malformed_jsonrpc(tmp_path, mcp_server, record_property):
    run = run_against(tmp_path, mcp_server(hostile_mcp.malformed), record_property)
    assert_rollback(run)
    record_property("reason", failed_with(run, "test_initialize_answers",
                                          "malformed JSON-RPC response: 'jsonrpc' is '1.0'"))


def test_sse_stream_cut_mid_event(tmp_path, mcp_server, record_property):
    run = run_against(tmp_path, mcp_server(hostile_mcp.sse_cut_mid_event), record_property)
    assert_rollback(run)
    assert run.outcomes()["test_initialize_answers"] == "passed"
    record_property("reason", failed_with(run, CONTRACT, "ended mid-event",
                                          "before the response to id"))


def test_endless_sse_stream(tmp_path, mcp_server, record_property):
    run = run_against(tmp_path, mcp_server(hostile_mcp.endless_stream), record_property)
    assert_rollback(run)
    record_property("reason", failed_with(run, CONTRACT, "the SSE stream stayed open",
                                          f"total timeout {TOTAL_S}s"))
    failed_with(run, "test_official_sdk_client_connects_lists_and_calls",
                f"did not finish within {TOTAL_S}s")


def test_response_for_the_wrong_id(tmp_path, mcp_server, record_property):
    run = run_against(tmp_path, mcp_server(hostile_mcp.wrong_id), record_property)
    assert_rollback(run)
    record_property("reason", failed_with(run, CONTRACT, "carried a response for id 999"))


def test_only_allowed_tools_are_called_with_the_profiles_credentials(tmp_path, mcp_server,
                                                                     record_property):
    """The server lists drop_everything; a call to it configured but not allowed is a profile
    error: the run stops at load (exit 64, one line) and sends nothing. With the allowed call,
    every request carries the profile's Authorization, the SDK client's included, and the token
    shows nowhere, the reproduce commands naming $VAR."""
    server = mcp_server(hostile_mcp.honest)
    (tmp_path / "refused").mkdir()
    refused = run_against(tmp_path / "refused", server, record_property,
                          calls=[{"tool": "get_database_stats"}, {"tool": "drop_everything"}])
    assert refused.returncode == 64 and refused.summary["verdict"] is None, refused.stdout[-2000:]
    assert "mcp.calls[1]: tool 'drop_everything' is not on mcp.allow_tools" in refused.summary["reason"]
    assert not server.requests  # type: ignore[attr-defined]
    run = run_against(tmp_path, server, record_property,
                      headers={"Authorization": "Bearer ${HOSTILE_MCP_TOKEN}"})
    assert run.outcomes()["test_tool_call_meets_contract[get_database_stats]"] == "passed"
    assert run.outcomes()["test_official_sdk_client_connects_lists_and_calls"] == "passed", run.failed()
    requests = server.requests  # type: ignore[attr-defined]
    sdk = [r for r in requests if r.headers.get("user-agent", "").startswith("python-httpx2")]
    assert sdk, "the SDK client's requests did not arrive"
    unauthenticated = [r for r in requests if r.headers.get("authorization") != f"Bearer {TOKEN}"]
    assert not unauthenticated, [(r.method, r.rpc_method) for r in unauthenticated]
    outputs = run.outputs()
    assert TOKEN not in outputs
    reproduce = [e["reproduce"] for c in run.summary["checks"]
                 for e in c["evidence"].get("requests", []) if "reproduce" in e]
    assert reproduce and all('"${HOSTILE_MCP_TOKEN}"' in r for r in reproduce
                             if "Authorization" in r), reproduce[:3]

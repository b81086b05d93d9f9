"""The MCP suite against servers written apart from releasegate (issue 17, item 2).

tests/independent/mcp holds MCP servers another team could have written from runbook 000 alone:
on the official Python SDK's low-level ``Server`` and high-level ``MCPServer``, and on the
official TypeScript SDK from npm, each stateful and stateless. Healthy, each must get GO with no
failed check; with each of its own faults (one per check family: handshake, transport, tools, the
real client) the check that family holds must fail, naming the defect. The TypeScript server
pages tools/list (3 tools a page) and refuses what its schema forbids — a null cursor included —
so its runs also prove the client sends only what the spec allows.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO, SuiteRun, run_suites, write_profile

HERE = REPO / "tests" / "independent" / "mcp"
CALLS = [
    {"tool": "get_rate_limit_status"}, {"tool": "get_database_stats"}, {"tool": "get_coverage_summary"},
    {"tool": "get_job_status"}, {"tool": "query_fixtures", "arguments": {"limit": 10}},
    {"tool": "get_backfill_progress"}, {"tool": "get_raw_error_summary", "arguments": {"since_minutes": 60}},
    {"tool": "get_recent_log_errors", "arguments": {"limit": 50}},
]
TOKEN = "independent-mcp-token-5150"  # the servers' static bearer token, given as ${INDEPENDENT_MCP_TOKEN}
START_S = 30  # an SDK import on a busy machine; the server's own start is not what is measured


@dataclass(frozen=True)
class Kind:
    name: str
    command: tuple[str, ...]

    def argv(self, port: int, stateless: bool) -> list[str]:
        return [*self.command, "--port", str(port), *(["--stateless"] if stateless else [])]


PY_LOW = Kind("py-lowlevel", (sys.executable, "-m", "tests.independent.mcp.py_lowlevel"))
PY_HIGH = Kind("py-highlevel", (sys.executable, "-m", "tests.independent.mcp.py_highlevel"))
TS = Kind("ts-sdk", ("node", str(HERE / "ts_server.mjs")))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(kind: Kind, tmp_path: Path, *, stateless: bool = False, faults: str = "") -> Iterator[int]:
    if kind is TS and shutil.which("node") is None:
        pytest.fail("node is not installed (scripts/system-packages/mcp.txt; `make test` installs it)")
    if kind is TS and not (HERE / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        pytest.fail("the TypeScript SDK is not installed: run `npm ci` in tests/independent/mcp "
                    "(.ci/run and `make test` do)")
    port = free_port()
    log = tmp_path / f"{kind.name}.log"
    env = {**os.environ, "FAULTS": faults, "REQUEST_LOG": str(tmp_path / "requests.jsonl"), "TOKEN": TOKEN}
    with log.open("wb") as out:
        proc = subprocess.Popen(kind.argv(port, stateless), cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{kind.name} did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_mcp(tmp_path: Path, port: int, *, stateless: bool, select: str | None = None) -> SuiteRun:
    profile = write_profile(tmp_path / "independent.yaml", {
        "name": "independent-mcp",
        "defaults": {"timeouts": {"connect": 2, "read": 5, "total": 10}},
        "mcp": {"url": f"http://127.0.0.1:{port}/mcp", "stateful": not stateless,
                "headers": {"Authorization": "Bearer ${INDEPENDENT_MCP_TOKEN}"}, "auth": {"required": True},
                "required_tools": ["get_rate_limit_status", "get_database_stats", "get_coverage_summary",
                                   "get_job_status", "query_fixtures"],
                "calls": CALLS,
                "pass_rule": {"calls": ["get_rate_limit_status", "get_database_stats", "get_job_status"]}},
    })
    args = ["-m", "mcp", "-p", "no:anyio", *(["-k", select] if select else [])]
    run = run_suites(profile, tmp_path / "reports", *args, env={"INDEPENDENT_MCP_TOKEN": TOKEN}, timeout=240)
    assert "INTERNALERROR" not in run.stdout + run.stderr, run.stdout[-3000:]
    return run


HEALTHY = [(PY_LOW, False), (PY_LOW, True), (PY_HIGH, False), (PY_HIGH, True), (TS, False), (TS, True)]


@pytest.mark.parametrize(("kind", "stateless"), HEALTHY,
                         ids=[f"{k.name}-{'stateless' if s else 'stateful'}" for k, s in HEALTHY])
def test_a_healthy_independent_server_gets_go_with_no_failed_check(kind: Kind, stateless: bool, tmp_path):
    with serving(kind, tmp_path, stateless=stateless) as port:
        run = run_mcp(tmp_path, port, stateless=stateless)
    outcomes = run.outcomes()
    assert run.failed() == {}, run.failed()
    assert run.summary["verdict"] == "GO" and run.returncode == 0, run.stdout[-3000:]
    must_pass = ["test_initialize_answers", "test_tools_list_answers", "test_required_tools_present",
                 "test_non_object_params_are_refused", "test_pass_rule", "test_foreign_origin_is_403",
                 "test_official_sdk_client_connects_lists_and_calls",
                 "test_request_without_credentials_is_401",
                 *(f"test_tool_call_meets_contract[{c['tool']}]" for c in CALLS),
                 # the Python SDK speaks 2026-07-28 too; the TypeScript SDK 1.32 does not
                 *(["test_server_discover_answers"] if kind is not TS else [])]
    assert TOKEN not in run.outputs()
    assert {c: outcomes.get(c) for c in must_pass} == dict.fromkeys(must_pass, "passed")
    if kind is TS:
        assert_strict_paging(tmp_path / "requests.jsonl")


def assert_strict_paging(log: Path) -> None:
    """tools/list pages through the TS server: {} first, then the server's cursors, never null."""
    listed = [m.get("params") for m in map(json.loads, log.read_text().splitlines())
              if isinstance(m, dict) and m.get("method") == "tools/list"]
    assert listed, "no tools/list reached the TypeScript server"
    cursors = [p.get("cursor") for p in listed if isinstance(p, dict) and "cursor" in p]
    assert None not in cursors, f"a null cursor went out: {listed}"
    assert {"3", "6", "9"} <= set(cursors), f"not every page of 10 tools (3 a page) was asked for: {listed}"
    assert [] in listed, "the non-object params probe did not reach the server"


# (kind, stateless, fault, family, the check that must fail, what its message must say)
FAULTS = [
    (kind, stateless, *row)
    for kind, stateless in ((PY_LOW, False), (PY_HIGH, True), (TS, False), (TS, True))
    for row in [
        ("write_tool", "handshake", "test_tools_are_read_only", "trigger_backfill"),
        ("origin_open", "transport", "test_foreign_origin_is_403", "with Origin: https://releasegate.invalid"),
        ("fixtures_renamed", "tools", "test_tool_call_meets_contract[query_fixtures]",
         "'date_utc' is a required property"),
        ("sse_event_renamed", "real client", "test_official_sdk_client_connects_lists_and_calls",
         "the official MCP SDK client"),
        ("auth_open", "protected", "test_request_without_credentials_is_401", "expected 401 Unauthorized"),
    ]
] + [
    (kind, stateless, "discover_missing", "2026-07-28", "test_server_discover_answers",
     "server/discover answered 404")
    for kind, stateless in ((PY_LOW, False), (PY_HIGH, True))
] + [
    (kind, False, "cursor_repeats", "handshake (paging)", "test_tools_list_answers", "repeats an earlier")
    for kind in (PY_LOW, TS)
] + [
    (TS, False, "unknown_session_400", "transport", "test_unknown_session_id_is_404",
     "with an unknown mcp-session-id answered 400"),
]


@pytest.mark.parametrize(("kind", "stateless", "fault", "family", "check", "says"), FAULTS,
                         ids=[f"{k.name}-{'stateless' if s else 'stateful'}-{f}" for k, s, f, *_ in FAULTS])
def test_an_independent_servers_own_fault_fails_its_check(kind, stateless, fault, family, check, says,
                                                          tmp_path):
    selected = check.split("[")[0] + (f" and {check.split('[')[1][:-1]}" if "[" in check else "")
    with serving(kind, tmp_path, stateless=stateless, faults=fault) as port:
        run = run_mcp(tmp_path, port, stateless=stateless, select=selected)
    failed = run.failed()
    assert check in failed, f"{family}: {fault} did not fail {check}: {run.outcomes()}"
    assert says in failed[check] and "\n" not in failed[check], failed[check]
    assert run.summary["verdict"] != "GO"

"""The wire-level client and the SDK check, live against a small official-SDK server.

A minimal MCPServer (no database) is served by uvicorn in a thread for the module: the client
must agree with the SDK's own server on every clause the checks rely on, in both eras, and the
SDK client check must pass against it in both eras too. The reference stack's fault matrix does
the same against the full server; this runs in about a second without Postgres.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from mcp.server import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel

from releasegate.core.profile import Target
from releasegate.core.redact import Redactor
from releasegate.mcp import jsonrpc
from releasegate.mcp.config import McpConfig
from releasegate.mcp.contract import judge_call
from releasegate.mcp.engine import McpEndpoint
from releasegate.mcp.sdk_check import BackgroundSdkRun, SdkRequest, run_sdk_client


class Stats(BaseModel):
    ok: bool
    raw: dict[str, int]
    core: dict[str, int]


def app() -> object:
    server = MCPServer("live-unit")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def get_database_stats() -> Stats:
        """Counts."""
        return Stats(ok=True, raw={"api_responses": 3}, core={"fixtures": 2})

    return server.streamable_http_app(streamable_http_path="/mcp")


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app(), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the SDK server did not start"
    yield url
    server.should_exit = True
    thread.join(5)
    sock.close()


def endpoint(url: str, **section: object) -> McpEndpoint:
    config = McpConfig.from_section({"url": url, "calls": [{"tool": "get_database_stats"}], **section})
    return McpEndpoint(config, Target(Path("live.yaml"), {"name": "live"}), Redactor())


def test_both_eras_and_a_contracted_call_against_the_sdk_server(live_url):
    end = endpoint(live_url)
    try:
        h = end.handshake()
        assert h.session_ok and h.session.session_id and h.session.negotiated == "2025-11-25"
        assert h.initialized.status == 202 and h.modern_ok
        listing = end.tools()
        assert listing.problem is None and list(listing.by_name()) == ["get_database_stats"]
        spec = end.config.calls[0]
        content = judge_call(spec, end.call(spec), listing.by_name()["get_database_stats"])
        assert content["core"] == {"fixtures": 2}
    finally:
        end.close()


def test_the_probes_get_what_the_spec_says_from_the_sdk_server(live_url):
    end = endpoint(live_url)
    try:
        session = end.handshake().session
        assert end.probe_accept_json_only(session).status == 406
        assert end.probe_without_session(session).status == 400
        assert end.probe_unknown_session(session).status == 404
        assert end.probe_params_not_object(session).error["code"] == jsonrpc.INVALID_PARAMS
        assert end.probe_unknown_method(session).error["code"] == jsonrpc.METHOD_NOT_FOUND
        assert end.probe_bad_version(session).status == 400
        assert end.probe_foreign_origin(session).status == 403
        get = end.probe_get(session)
        assert get.status == 200 and get.sse
        replies, _ = end.probe_delete()
        assert [r.status for r in replies] == [200, 202, 200, 404]
        modern = end.handshake().modern
        assert end.probe_modern("header_mismatch", modern).error["code"] == jsonrpc.HEADER_MISMATCH
        assert end.probe_modern("unsupported_version", modern).error["code"] == jsonrpc.UNSUPPORTED_VERSION
        unknown = end.probe_modern("unknown_method", modern)
        assert (unknown.status, unknown.error["code"]) == (404, jsonrpc.METHOD_NOT_FOUND)
        assert end.probe_modern("get", modern).status == 405
    finally:
        end.close()


def test_a_pinned_sessionless_revision_lists_and_calls_without_a_session(live_url):
    end = endpoint(live_url, revision="2026-07-28")
    try:
        h = end.handshake()
        assert h.initialize is None and h.primary is h.modern
        spec = end.config.calls[0]
        judge_call(spec, end.call(spec), end.tools().by_name()["get_database_stats"])
    finally:
        end.close()


@pytest.mark.parametrize("modern", [None, "2026-07-28"])
def test_the_official_sdk_client_passes_in_both_eras(live_url, modern):
    outcome = run_sdk_client(SdkRequest(live_url, {}, True, timeout_s=5, deadline_s=10,
                                        tool="get_database_stats", arguments={}, modern_version=modern))
    assert outcome.failure is None, outcome
    assert [s.name for s in outcome.steps][-2:] == ["tools/list", "tools/call get_database_stats"]


def test_the_sdk_check_names_the_step_that_failed(live_url):
    outcome = run_sdk_client(SdkRequest(live_url, {}, True, timeout_s=5, deadline_s=10,
                                        tool="not_there", arguments={}))
    assert outcome.failure == "tools/list: 'not_there' not among the 1 tools listed"


def test_the_sdk_check_is_bounded_when_nothing_answers():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        outcome = run_sdk_client(SdkRequest(f"http://127.0.0.1:{silent.getsockname()[1]}/mcp", {},
                                            True, timeout_s=5, deadline_s=0.5, tool="x", arguments={}))
    assert time.monotonic() - started < 3
    assert outcome.failure.startswith("did not finish within 0.5s"), outcome.failure



def test_the_background_run_gives_the_same_outcome_from_a_child_process(live_url):
    run = BackgroundSdkRun(SdkRequest(live_url, {}, True, timeout_s=5, deadline_s=10,
                                      tool="get_database_stats", arguments={}))
    try:
        outcome = run.outcome()
    finally:
        run.close()
    assert outcome.failure is None and [s.name for s in outcome.steps] == [
        "initialize", "tools/list", "tools/call get_database_stats"]

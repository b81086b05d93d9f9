"""Unreachable, slow, malformed and hostile targets give failed checks, not hangs or crashes.

Each case runs the health suite in a subprocess (as a user would) against a hostile server from
tests/hostile.py and checks four things: the run ends with a verdict exit code within a bound
computed from the profile's timeouts; no INTERNALERROR; the verdict is ROLLBACK; and the key
checks failed, each with a single line naming the cause. A few direct HttpTarget.fetch tests pin
the transport layer's own limits without a subprocess.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from releasegate.core.profile import Timeouts
from releasegate.http.client import Fetch, HttpTarget
from tests import hostile
from tests.hostile import MB, HostileServer
from tests.support import SuiteRun, run_suites, write_profile

CONNECT_S, READ_S, TOTAL_S = 1, 1, 2
STARTUP_WAIT_S, STARTUP_PERIOD_S = 1, 0.25
BODY_LIMIT = MB
TIMEOUTS = Timeouts(CONNECT_S, READ_S, TOTAL_S)

# A fetch ends within total + one read interval (the deadline is checked as each piece of body
# arrives). The run makes four fetches (live, ready, legacy, release; each shared by the checks
# reading it) and one startup poll bounded by wait_s plus one fetch. That bounds the checks' own
# time (junit.xml); the wall clock adds interpreter, plugin and report start-up, which a busy
# runner stretches, so it only sizes the subprocess's timeout.
FETCH_BOUND_S = TOTAL_S + READ_S
CHECKS_BOUND_S = 4 * FETCH_BOUND_S + (STARTUP_WAIT_S + FETCH_BOUND_S) + 2
RUN_BOUND_S = CHECKS_BOUND_S + 10
PEAK_RSS_LIMIT_MB = 200

# Checks that only need an HTTP answer: they fail when the transport fails.
TRANSPORT_CHECKS = (
    "test_live_returns_200",
    "test_ready_returns_200",
    "test_startup_returns_200",
    "test_legacy_healthz_answers_as_decided",
    "test_release_ready_returns_200",
)
# Checks that read the JSON body: they fail when the body is not usable JSON.
BODY_CHECKS = (
    "test_ready_reports_expected_environment",
    "test_ready_reports_db_ok",
    "test_probe_body_matches_schema[live]",
    "test_release_status_is_ready",
    "test_legacy_healthz_body_matches_schema",
)

GOOD_JSON = b'{"status": "ok", "environment": "staging", "db": {"status": "ok"}}'


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def serve() -> Iterator[Callable[..., HostileServer]]:
    """Start hostile servers for one test; every one is stopped at teardown, pass or fail."""
    servers: list[HostileServer] = []

    def start(handler: hostile.Handler, **kwargs: Any) -> HostileServer:
        server = HostileServer(handler, **kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def refused_port() -> Iterator[int]:
    with hostile.refused_port() as port:
        yield port


# --- helpers -----------------------------------------------------------------------------------


def profile(tmp_path: Path, base_url: str) -> Path:
    return write_profile(tmp_path / "hostile.yaml", {
        "name": "hostile",
        "environment": "staging",
        "defaults": {"timeouts": {"connect": CONNECT_S, "read": READ_S, "total": TOTAL_S},
                     "body_limit_bytes": BODY_LIMIT},
        "health": {
            "base_url": base_url,
            "probes": {
                "live": {"path": "/healthz/live", "timeout_s": 1},
                "ready": {"path": "/healthz/ready", "timeout_s": 1},
                "startup": {"path": "/healthz/startup", "timeout_s": 1, "wait_s": STARTUP_WAIT_S,
                            "period_s": STARTUP_PERIOD_S},
            },
            "legacy": {"path": "/healthz"},
            "release": {"path": "/health/ready"},
        },
    })


def run_against(tmp_path: Path, base_url: str, record_property: Callable[[str, Any], None]) -> SuiteRun:
    """Run the health suite against ``base_url``; check it ended in time with a ROLLBACK verdict."""
    started = time.monotonic()
    run = run_suites(profile(tmp_path, base_url), tmp_path / "reports", "-m", "health",
                     timeout=RUN_BOUND_S * 3)
    elapsed = time.monotonic() - started
    record_property("wall_s", round(elapsed, 2))
    output = run.stdout + run.stderr
    assert "INTERNALERROR" not in output, output[-3000:]
    assert run.returncode in (1, 2), f"exit {run.returncode}, expected a ROLLBACK code:\n{output[-3000:]}"
    assert run.summary["verdict"] == "ROLLBACK"
    record_property("checks_s", round(run.checks_s(), 2))
    assert run.checks_s() < CHECKS_BOUND_S, f"checks took {run.checks_s():.1f}s, bound {CHECKS_BOUND_S}s"
    errored = {name: outcome for name, outcome in run.outcomes().items() if outcome == "error"}
    assert not errored, f"a misbehaving target must fail checks, not error them: {errored}"
    for name, message in run.failed().items():
        assert message.strip() and "\n" not in message, f"{name}: not one line: {message!r}"
        assert "Traceback" not in message, f"{name}: {message!r}"
    return run


def assert_failed_with(run: SuiteRun, checks: tuple[str, ...], *needles: str | tuple[str, ...]) -> str:
    """Every check in ``checks`` failed with a message holding every needle (a tuple: any one of
    its strings); return one message."""
    failed = run.failed()
    outcomes = run.outcomes()
    for check in checks:
        assert outcomes.get(check) == "failed", f"{check}: {outcomes.get(check)}, expected failed"
        for needle in needles:
            options = needle if isinstance(needle, tuple) else (needle,)
            assert any(o in failed[check] for o in options), f"{check}: {needle!r} not in {failed[check]!r}"
    return failed[checks[0]]


# --- the suite against hostile targets ---------------------------------------------------------


def test_connection_refused(tmp_path, refused_port, record_property):
    run = run_against(tmp_path, f"http://127.0.0.1:{refused_port}", record_property)
    reason = assert_failed_with(run, TRANSPORT_CHECKS + BODY_CHECKS, "connection refused")
    record_property("reason", reason)


def test_accept_and_never_answer(tmp_path, serve, record_property):
    server = serve(hostile.silent)
    run = run_against(tmp_path, server.url, record_property)
    # read timeout, the probe's timeoutSeconds, or what was left of the startup wait
    reason = assert_failed_with(run, TRANSPORT_CHECKS + BODY_CHECKS, ("timeout", "what was left of the wait"))
    record_property("reason", reason)
    assert server.connections >= 1


def test_trickling_body(tmp_path, serve, record_property):
    server = serve(hostile.trickle(0.2))
    run = run_against(tmp_path, server.url, record_property)
    reason = assert_failed_with(run, TRANSPORT_CHECKS, "no complete response within")
    record_property("reason", reason)


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
def test_100mb_body_is_capped_in_bounded_memory(tmp_path, serve, record_property, declared):
    server = serve(hostile.huge(100 * MB, declared=declared))
    run = run_against(tmp_path, server.url, record_property)
    peak_mb = run.peak_rss_mb  # the suite subprocess's own peak (os.wait4)
    record_property("peak_rss_mb", round(peak_mb, 1))
    reason = assert_failed_with(run, TRANSPORT_CHECKS, "1,048,576-byte cap")
    record_property("reason", reason)
    if declared:
        assert "104,857,600 bytes" in reason
    assert 0 < peak_mb < PEAK_RSS_LIMIT_MB, f"suite run peaked at {peak_mb:.0f} MB"
    # The client stops reading at the cap and hangs up: no connection drained the 100 MB.
    assert server.connections >= 1
    assert server.bytes_sent / server.connections < 16 * MB, f"{server.bytes_sent:,} bytes sent"


def test_invalid_json_with_json_content_type(tmp_path, serve, record_property):
    server = serve(hostile.respond("200 OK", "application/json", b'{"status": "ok", "db": '))
    run = run_against(tmp_path, server.url, record_property)
    assert run.outcomes()["test_live_returns_200"] == "passed"  # it answers; the body is the fault
    reason = assert_failed_with(run, BODY_CHECKS, "not valid JSON")
    record_property("reason", reason)


def test_wrong_content_type(tmp_path, serve, record_property):
    server = serve(hostile.respond("200 OK", "text/html; charset=utf-8",
                                   b"<html><body><h1>It works!</h1></body></html>"))
    run = run_against(tmp_path, server.url, record_property)
    live = run.failed()["test_live_returns_200"]  # a page answered, not the service
    assert "answered 200 with an HTML page" in live and "stands in front of the service" in live
    reason = assert_failed_with(run, BODY_CHECKS, "answered 200 with an HTML page",
                                "stands in front of the service")
    record_property("reason", reason)


def test_a_redirect_is_named_with_its_location_in_every_check_that_sees_it(tmp_path, serve,
                                                                          record_property):
    """An ingress sending everyone to SSO: not "returned 302", but where it sends them."""
    server = serve(hostile.respond("302 Found", "text/html", b"<a href='/sso'>moved</a>",
                                   Location="https://sso.example/login?next=/healthz"))
    run = run_against(tmp_path, server.url, record_property)
    where = "302 redirect to https://sso.example/login?next=/healthz"
    reason = assert_failed_with(run, TRANSPORT_CHECKS + BODY_CHECKS, where)
    record_property("reason", reason)


def test_untrusted_tls_certificate(tmp_path, serve, record_property):
    server = serve(hostile.respond("200 OK", "application/json", GOOD_JSON),
                   tls=hostile.tls_context(tmp_path))
    assert server.url.startswith("https://")
    run = run_against(tmp_path, server.url, record_property)
    reason = assert_failed_with(run, TRANSPORT_CHECKS + BODY_CHECKS, "TLS certificate not trusted")
    record_property("reason", reason)
    assert server.connections >= 1  # the client reached the server and refused its certificate


# --- HttpTarget.fetch directly -----------------------------------------------------------------


def fetch_timed(base_url: str, path: str = "/healthz/ready") -> Fetch:
    target = HttpTarget(base_url, timeouts=TIMEOUTS, body_limit=BODY_LIMIT)
    try:
        fetch = target.fetch(path)
    finally:
        target.close()
    assert fetch.elapsed_s <= TOTAL_S + 1, f"fetch took {fetch.elapsed_s:.2f}s"
    assert fetch.error is not None and "\n" not in fetch.error
    return fetch


def test_fetch_trickling_body_stops_at_total_timeout(serve):
    fetch = fetch_timed(serve(hostile.trickle(0.2)).url)
    assert fetch.status == 200
    assert fetch.error == f"no complete response within the total timeout ({TOTAL_S}s)"
    assert TOTAL_S <= fetch.elapsed_s < TOTAL_S + 0.5


def test_fetch_silent_server_stops_at_read_timeout(serve):
    fetch = fetch_timed(serve(hostile.silent).url)
    assert fetch.status is None
    assert fetch.error == f"no response data within the read timeout ({READ_S}s)"
    assert fetch.elapsed_s >= READ_S - 0.05


def test_fetch_huge_body_stops_at_cap(serve):
    server = serve(hostile.huge(100 * MB, declared=False))
    fetch = fetch_timed(server.url)
    assert fetch.status == 200
    assert fetch.error == "body exceeds the 1,048,576-byte cap"
    assert len(fetch.body) <= BODY_LIMIT


def slow_head(conn, server: HostileServer) -> None:
    """A response head sent one byte every 0.2 s: each read is well inside the read timeout."""
    hostile.read_request(conn, server)
    for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 4096:
        if server.stopping.wait(0.2):
            return
        hostile.send(conn, server, bytes([byte]))


def test_fetch_trickling_head_stops_at_total_timeout(serve):
    target = HttpTarget(serve(slow_head).url, timeouts=TIMEOUTS, body_limit=BODY_LIMIT)
    done: list[Fetch] = []
    # In a daemon thread, so the gap cannot hang this test: stopping the server ends the fetch.
    worker = threading.Thread(target=lambda: done.append(target.fetch("/healthz/ready")), daemon=True)
    worker.start()
    worker.join(TOTAL_S + 1)
    assert not worker.is_alive(), f"fetch still running after {TOTAL_S + 1}s"
    target.close()
    assert "total timeout" in (done[0].error or "")

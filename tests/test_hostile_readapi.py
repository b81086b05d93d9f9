"""Hostile event streams end with a one-line reason, at their deadline, in bounded memory.

The SSE reader (releasegate.http.sse.read_stream) is driven directly against hostile servers to pin
its limits: a stream that never sends and one that only sends comments end at the deadline
(± 1 s), a stream cut mid-event and a flooding one end with a reason and bounded memory. Then
the Read API suite runs in a subprocess, as a user would, against the same streams.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from releasegate.core.profile import Timeouts
from releasegate.http import sse
from releasegate.http.client import HttpTarget
from tests import hostile, hostile_readapi
from tests.hostile import HostileServer
from tests.support import run_suites, write_profile

DEADLINE_S = 2.0
CAP = 256 * 1024
TIMEOUTS = Timeouts(connect=1, read=1, total=2)


@pytest.fixture
def serve() -> Iterator[Callable[..., HostileServer]]:
    servers: list[HostileServer] = []

    def start(handler: hostile.Handler) -> HostileServer:
        server = HostileServer(handler)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def read(server: HostileServer, **kwargs: Any) -> sse.Reading:
    client = HttpTarget(server.url, timeouts=TIMEOUTS, body_limit=CAP)
    try:
        return sse.read_stream(client, "/v1/sse/system-status", **{
            "deadline_s": DEADLINE_S, "max_bytes": CAP, "stop_on": "system_status", **kwargs})
    finally:
        client.close()


def one_line(text: str) -> str:
    assert text and "\n" not in text, repr(text)
    return text


# --- the reader, directly ----------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [hostile_readapi.never_sends, hostile.silent],
                         ids=["headers-then-nothing", "no-response-at-all"])
def test_never_sending_stream_ends_at_its_deadline(serve, behaviour):
    server = serve(hostile_readapi.read_request_then(behaviour) if behaviour is not hostile.silent
                   else behaviour)
    started = time.monotonic()
    reading = read(server)
    elapsed = time.monotonic() - started
    assert abs(elapsed - DEADLINE_S) <= 1.0, f"ended after {elapsed:.2f}s, deadline {DEADLINE_S}s"
    assert reading.end == sse.DEADLINE and reading.match is None
    if behaviour is hostile.silent:
        assert one_line(reading.answer_problem()) == f"gave no response within {DEADLINE_S:g}s"
    else:
        assert reading.status == 200 and reading.event_count == 0 and reading.answer_problem() is None


def test_comment_only_stream_ends_at_its_deadline(serve):
    """The loop never yields an event, yet the reading ends on time (the httpx-sse trap)."""
    server = serve(hostile_readapi.read_request_then(hostile_readapi.comments_only(0.1)))
    started = time.monotonic()
    reading = read(server)
    elapsed = time.monotonic() - started
    assert abs(elapsed - DEADLINE_S) <= 1.0, f"ended after {elapsed:.2f}s"
    assert reading.end == sse.DEADLINE and reading.event_count == 0
    assert reading.comments >= 5, reading.seen()
    assert reading.max_gap_s < 1.0  # comments are activity: the stream is alive, just eventless
    assert "0 events, " in one_line(reading.seen())


def test_stream_cut_mid_event_names_the_unfinished_event(serve):
    server = serve(hostile_readapi.read_request_then(hostile_readapi.cut_mid_event))
    reading = read(server)
    assert reading.end == sse.CUT
    assert reading.event_count == 1 and reading.names == {"heartbeat": 1}  # the complete one stands
    assert reading.unfinished_bytes > 0 and reading.match is None
    reason = one_line(reading.ending())
    assert "cut off" in reason and "in the middle of an event" in reason
    assert reading.elapsed_s < DEADLINE_S


def read_traced(server: HostileServer, **kwargs: Any) -> tuple[sse.Reading, int]:
    """A reading and the peak of memory Python allocated while it ran."""
    tracemalloc.start()
    try:
        reading = read(server, **kwargs)
        return reading, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_flooding_stream_stops_at_the_byte_cap_in_bounded_memory(serve):
    server = serve(hostile_readapi.read_request_then(hostile_readapi.flood))
    reading, peak = read_traced(server, deadline_s=10)
    assert reading.end == sse.BYTE_CAP, reading.end
    assert CAP < reading.bytes_read <= CAP + 128 * 1024
    assert len(reading.events) <= sse.KEEP_EVENTS < reading.event_count
    assert peak < 8 * CAP, f"peak {peak:,} bytes traced for a {CAP:,}-byte cap"
    assert "floods" in one_line(reading.ending())
    assert reading.elapsed_s < 10  # the cap, not the deadline, ended it


def test_endless_line_stops_at_the_byte_cap_in_bounded_memory(serve):
    server = serve(hostile_readapi.read_request_then(hostile_readapi.endless_line))
    reading, peak = read_traced(server, deadline_s=10)
    assert reading.end == sse.BYTE_CAP and reading.event_count == 0
    assert peak < 8 * CAP, f"peak {peak:,} bytes traced for a {CAP:,}-byte cap"


def test_keepalives_after_an_id_are_not_phantom_events(serve):
    """httpx-sse #35: after an id, every ': ping' would come out as an empty 'message' event."""
    server = serve(hostile_readapi.read_request_then(hostile_readapi.phantom_pings(5)))
    reading = read(server, stop_on=None)
    assert reading.event_count == 1 and reading.names == {"system_status": 1}
    assert reading.comments == 5 and reading.end == sse.CLOSED
    assert reading.events[0].id == "1" and reading.events[0].json() == {"status": "ok"}


@pytest.mark.parametrize(("status", "ctype", "needle"), [
    ("401 Unauthorized", "application/json", "returned 401, expected 200 with text/event-stream"),
    ("200 OK", "application/json", "answered content-type 'application/json', expected text/event-stream"),
], ids=["401", "json-not-a-stream"])
def test_not_a_stream_is_named(serve, status, ctype, needle):
    server = serve(hostile.respond(status, ctype, b'{"detail": "nope"}'))
    reading = read(server)
    problem = one_line(reading.answer_problem())
    assert needle in problem and '{"detail": "nope"}' in problem


# --- the suite against hostile streams --------------------------------------------------------

STREAMS = {
    "never_sends": hostile_readapi.never_sends,
    "comments_only": hostile_readapi.comments_only(0.1),
    "cut_mid_event": hostile_readapi.cut_mid_event,
    "flood": hostile_readapi.flood,
}


def test_suite_against_hostile_streams(tmp_path, serve):
    server = serve(hostile_readapi.routes({f"/sse/{name}": h for name, h in STREAMS.items()}))
    profile = write_profile(tmp_path / "hostile.yaml", {
        "name": "hostile-streams",
        "defaults": {"timeouts": {"connect": 1, "read": 1, "total": 2}, "body_limit_bytes": CAP},
        "read_api": {"base_url": server.url, "streams": {
            name: {"path": f"/sse/{name}", "event": "system_status", "within_s": DEADLINE_S}
            for name in STREAMS}},
    })
    started = time.monotonic()
    run = run_suites(profile, tmp_path / "reports", "-m", "readapi", "-k", "stream_delivers", timeout=60)
    elapsed = time.monotonic() - started
    assert "INTERNALERROR" not in run.stdout + run.stderr, run.stdout[-3000:]
    assert run.summary["verdict"] == "ROLLBACK" and run.returncode == 2
    failed = run.failed()
    expected = {
        "never_sends": "no 'system_status' event within 2s (saw 0 events, 0 keep-alive comments",
        "comments_only": "no 'system_status' event within 2s (saw 0 events, ",
        "cut_mid_event": "the stream was cut off after",
        "flood": "-byte cap after",
    }
    for name, needle in expected.items():
        message = one_line(failed[f"test_stream_delivers_expected_event[{name}]"])
        assert needle in message, message
    # the readings ran side by side: the whole run is one deadline plus pytest's start-up
    assert elapsed < DEADLINE_S + 15, f"run took {elapsed:.1f}s"
    never = next(c for c in run.summary["checks"] if c["id"].endswith("[never_sends]"))
    latency_s = never["evidence"]["requests"][0]["latency_ms"] / 1000
    assert abs(latency_s - DEADLINE_S) <= 1.0, f"never-sending stream read for {latency_s:.2f}s"


def test_suites_against_a_refused_port_fail_every_check_with_one_line(tmp_path):
    """No answer at all: every check that needs one fails with the reason, none errors."""
    with hostile.refused_port() as port:
        base = f"http://127.0.0.1:{port}"
        profile = write_profile(tmp_path / "refused.yaml", {
            "name": "refused",
            "defaults": {"timeouts": {"connect": 1, "read": 1, "total": 2}},
            "read_api": {
                "base_url": base, "source_address": "127.0.0.2",
                "auth": {"username": "ops", "password": "pw-unit-refused"},
                "endpoints": {"health": {"path": "/v1/health"},
                              "fixtures": {"path": "/v1/fixtures", "params": {"league_id": 1, "limit": 5},
                                           "filters": {"league_id": "league_id"},
                                           "unknown_path": "/v1/fixtures/0"}},
                "streams": {"s": {"path": "/v1/sse/system-status", "event": "system_status",
                                  "within_s": 1, "keepalive_s": 0.5}},
                "allowlist": {"outside_address": "127.0.0.1"},
            },
            "versioning": {"base_url": base,
                           "endpoints": {"leads": {"path": "/api/v1/leads"}},
                           "legacy": {"decision": "supported", "endpoints": {"leads": {"path": "/leads"}}},
                           "openapi": {"required": True}},
        })
        run = run_suites(profile, tmp_path / "reports", "-m", "readapi or versioning", timeout=60)
    assert "INTERNALERROR" not in run.stdout + run.stderr, run.stdout[-3000:]
    outcomes = run.outcomes()
    assert "error" not in outcomes.values(), outcomes
    passed = {name for name, outcome in outcomes.items() if outcome == "passed"}
    assert passed == {"test_credentials_not_sent_over_plain_http"}, passed  # judged on the profile
    for name, message in run.failed().items():
        assert "connection refused" in one_line(message), f"{name}: {message}"
    assert run.summary["verdict"] == "ROLLBACK"

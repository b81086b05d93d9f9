"""Runbook 000 §3.2: the Read API's SSE streams (system_status, live_score_update)."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.core.schema_check import expect_matches_schema
from releasegate.http.sse import DEADLINE

pytestmark = pytest.mark.readapi


@pytest.mark.runbook("000", "§3.2", "the stream delivers its event within the configured time")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.2: check the read_api SSE publisher, and that no proxy buffers "
                    "text/event-stream (nginx: X-Accel-Buffering: no, proxy_buffering off)")
def test_stream_delivers_expected_event(readapi, stream):
    readapi.expected_event(stream)


@pytest.mark.runbook("000", "§3.2", "the event's data is JSON valid against its schema")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §3.2: the event data changed shape and consumers parse it: roll back, or "
                    "publish the new shape under a new event name")
def test_stream_event_data_matches_schema(readapi, stream):
    schema = readapi.api.stream_schema(stream)
    if schema is None:
        pytest.skip(f"read_api.streams.{stream}.schema: not configured (runbook 000 §3.2 names the event, "
                    "not its data, so none is built in)")
    reading = readapi.expected_event(stream)
    event = reading.match
    try:
        data = event.json()
    except ValueError as exc:
        raise CheckFailed(f"{reading.label}: the {event.event!r} event's data is not JSON ({exc}): "
                          f"{event.brief()}") from None
    readapi.evidence.note(data=data)
    expect_matches_schema(data, schema, f"{reading.label} {event.event!r} data")


@pytest.mark.runbook("000", "§3.2", "events or keep-alives come at least every keepalive_s seconds")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §3.2: send a keep-alive comment (': ping') more often than the proxy and load "
                    "balancer idle timeouts, or they cut idle clients off")
def test_stream_keeps_alive(readapi, keepalive_stream):
    cfg = readapi.api.stream(keepalive_stream)
    keepalive, window = cfg["keepalive_s"], cfg["observe_s"]
    if window <= keepalive:
        raise Inconclusive(f"read_api.streams.{keepalive_stream}.observe_s ({window:g}s) must be longer "
                           f"than keepalive_s ({keepalive:g}s) to see a silence longer than it")
    reading = readapi.reading(keepalive_stream, readapi.api.window(keepalive_stream))
    readapi.evidence.note(keepalive_s=keepalive, observe_s=window, events=reading.event_count,
                          comments=reading.comments, longest_silence_s=round(reading.max_gap_s, 2))
    problem = reading.answer_problem()
    if problem:
        raise CheckFailed(f"{reading.label} {problem}", cause=reading.key)
    if reading.max_gap_s > keepalive:
        raise CheckFailed(f"{reading.label} was silent for {reading.max_gap_s:.1f}s (from "
                          f"{reading.max_gap_at_s:.1f}s; {reading.seen()}), over keepalive_s "
                          f"{keepalive:g}s: idle proxies drop such streams")
    if reading.end != DEADLINE and reading.elapsed_s < window:
        raise CheckFailed(f"{reading.label} ended after {reading.elapsed_s:.1f}s of the {window:g}s "
                          f"window: {reading.ending() or reading.end} ({reading.seen()})")


@pytest.mark.runbook("000", "§3.2", "reconnecting with Last-Event-ID resumes after that event")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §3.2: honour Last-Event-ID: resume after that id from a short replay buffer, "
                    "so reconnecting clients neither miss nor repeat events")
def test_stream_resumes_from_last_event_id(readapi, resumable_stream):
    first = readapi.expected_event(resumable_stream).match
    if not first.id:
        pytest.skip(f"the {first.event!r} events carry no id: this stream does not offer resuming")
    resumed = readapi.reading(resumable_stream, readapi.api.resumed(resumable_stream, first.id))
    label = f"{resumed.label} with Last-Event-ID: {first.id}"
    problem = resumed.answer_problem()
    if problem:
        raise CheckFailed(f"{label} {problem}", cause=resumed.key)
    if resumed.match is None:
        raise CheckFailed(f"{label}: {resumed.failure()} (saw {resumed.seen()})", cause=resumed.key)
    again = resumed.match.id
    readapi.evidence.note(last_event_id=first.id, first_id_after_reconnect=again)
    if not again:
        raise CheckFailed(f"{label}: the resumed events carry no id")
    replayed = (int(again) <= int(first.id)) if again.isdigit() and first.id.isdigit() else again == first.id
    if replayed:
        raise CheckFailed(f"{label}: the first event after reconnecting has id {again}, expected one "
                          f"after {first.id}: Last-Event-ID is ignored and clients get events again")

"""releasegate.http.sse's parser: WHATWG event-stream rules where httpx-sse's loop falls short."""

from __future__ import annotations

from releasegate.http.sse import COMMENT, EventParser, Reading


def feed(*chunks: bytes) -> tuple[list, EventParser]:
    parser = EventParser()
    out = [item for chunk in chunks for item in parser.feed(chunk)]
    return out, parser


def events(items: list) -> list[tuple[str, str, str]]:
    return [(e.event, e.data, e.id) for e in items if e is not COMMENT]


def test_fields_multiline_data_and_line_endings():
    items, parser = feed(b"event: a\r\nid: 7\r\ndata: one\r\ndata: two\r\n\r\n"
                         b"data:{\"x\":1}\rdata: \r\r"
                         b"event: b\ndata:  spaced\n\n")
    assert events(items) == [("a", "one\ntwo", "7"), ("message", '{"x":1}\n', "7"), ("b", " spaced", "7")]
    assert parser.unfinished() == 0


def test_events_split_across_chunks_and_utf8_boundaries():
    payload = "event: é\ndata: ğüş\n\n".encode()
    items, _ = feed(*[payload[i:i + 1] for i in range(len(payload))])
    assert events(items) == [("é", "ğüş", "")]


def test_comments_are_counted_and_never_become_events():
    items, _ = feed(b": ping\n\nid: 1\ndata: x\n\n: ping\n\n:\n\n")
    assert items.count(COMMENT) == 3
    assert events(items) == [("message", "x", "1")]  # no phantom 'message' after the id


def test_a_block_without_data_dispatches_nothing():
    items, _ = feed(b"event: a\nid: 3\n\nretry: 100\n\n")
    assert events(items) == []


def test_an_unfinished_event_is_measured():
    _, parser = feed(b"data: done\n\nevent: x\ndata: {\"half\": ")
    assert parser.unfinished() == len('event: x\n') + len('data: {"half": ')
    _, parser = feed(b"data: done\n\n")
    assert parser.unfinished() == 0


def test_reading_tracks_gaps_between_activity():
    reading = Reading(url="http://h/s", deadline_s=5, headers_s=0.1)
    for at in (0.2, 0.3, 1.9, 2.0):
        reading._activity(at)
    assert round(reading.max_gap_s, 3) == 1.6 and reading.max_gap_at_s == 0.3
    assert reading.seen() == "0 events, 0 keep-alive comments, 0 bytes in 0.0s"

"""SSE framing: events as chunks arrive, and what is left when a stream stops mid-event."""

from __future__ import annotations

from releasegate.mcp.sse import SseParser


def feed_all(*chunks: bytes) -> tuple[list, SseParser]:
    parser = SseParser()
    events = [e for chunk in chunks for e in parser.feed(chunk)]
    return events + parser.close(), parser


def test_events_split_across_chunks_and_line_endings():
    events, parser = feed_all(b"event: mess", b"age\r\ndata: {\"a\":", b" 1}\r\n\r", b"\ndata: x\n\n")
    assert [(e.event, e.data) for e in events] == [("message", '{"a": 1}'), ("message", "x")]
    assert not parser.cut_mid_event


def test_priming_event_comments_and_multiline_data():
    events, parser = feed_all(b"id: 7\ndata: \n\n: keep-alive\n\ndata: a\ndata: b\nid: 8\n\n")
    assert [(e.id, e.data) for e in events] == [("7", ""), ("8", "a\nb")]
    assert parser.events_seen == 2 and not parser.cut_mid_event


def test_a_stream_cut_mid_event_drops_the_event_and_says_so():
    events, parser = feed_all(b"data: {\"ok\": true}\n\n", b"event: message\ndata: {\"jsonrpc\":\"2.")
    assert [e.data for e in events] == ['{"ok": true}']  # the unfinished one is discarded
    assert parser.cut_mid_event and parser.pending_chars == len('event: message\ndata: {"jsonrpc":"2.') + 1


def test_a_trailing_comment_is_not_an_unfinished_event():
    _, parser = feed_all(b"data: x\n\n:ping\n")
    assert not parser.cut_mid_event


def test_utf8_split_inside_a_character():
    text = 'data: {"name": "Beşiktaş"}\n\n'.encode()
    cut = text.index("ş".encode()) + 1
    events, _ = feed_all(text[:cut], text[cut:])
    assert events[0].data == '{"name": "Beşiktaş"}'


def test_event_type_is_kept_when_the_stream_names_one():
    events, _ = feed_all(b"event: jsonrpc\ndata: {}\n\n")
    assert events[0].event == "jsonrpc"

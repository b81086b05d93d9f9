"""Reading a Server-Sent Events stream with hard limits: a deadline, a byte cap, bounded memory.

httpx-sse makes the request (``connect_sse``: the Accept and Cache-Control headers); the fields
are parsed by the standard's algorithm (releasegate.http.sse_fields). Its ``iter_sse`` loop is not used, for
four reasons checked on httpx-sse 0.4.3 (shared/notes/readapi-data-redis-prometheus.md):

- keep-alive comments (``: ping``) are invisible to it, and once an event carried an ``id:``
  every later keep-alive comes out as a phantom empty ``message`` event (httpx-sse #35). Here
  comment lines are counted, and a dispatch with no ``data:`` line since the last one is dropped,
  as the WHATWG algorithm says;
- an event cut off by the end of the body is dropped silently: here it is named;
- a line without a newline is buffered whole: here every byte read counts against a cap, so a
  flood or an endless line ends the reading with memory bounded by the cap;
- a clock check between events cannot end a stream that only sends comments, since the loop
  never yields: here each socket read is bounded by ``releasegate.core.deadline`` and the clock is
  checked after every chunk, so the stream is closed at its deadline whatever the server does.
"""

from __future__ import annotations

import codecs
import json
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import connect_sse

from releasegate.core.deadline import deadline as exchange_deadline
from releasegate.core.evidence import Exchange, excerpt
from releasegate.http.client import HttpTarget, describe_transport_error, is_unreachable
from releasegate.http.sse_fields import FieldDecoder, LineSplitter

KEEP_EVENTS = 20  # events kept for evidence and judging; the rest are only counted
MAX_NAMES = 20  # distinct event names counted; more are counted as "(other)"
COMMENT = None  # what the parser yields for a keep-alive comment line

# Why a reading stopped.
MATCHED = "matched"  # the event asked for arrived
DEADLINE = "deadline"  # the reading's time was up (the normal end of an observation window)
CLOSED = "closed"  # the server ended the body cleanly
CUT = "cut"  # the body ended inside an event
BYTE_CAP = "byte_cap"  # more bytes than the cap: a flood, or a line that never ends
STATUS = "status"  # not a 200
CONTENT_TYPE = "content_type"  # 200, but not text/event-stream
ERROR = "error"  # a transport failure: refused, reset, malformed HTTP


@dataclass(frozen=True)
class Event:
    """One dispatched event, with when it arrived (seconds since the request was sent)."""

    event: str
    data: str
    id: str
    at_s: float

    def json(self) -> Any:
        return json.loads(self.data)

    def brief(self, limit: int = 120) -> str:
        ident = f" id={self.id}" if self.id else ""
        return f"{self.event}{ident} {excerpt(' '.join(self.data.split()), limit)}"


@dataclass
class Reading:
    """What one bounded read of a stream saw; small whatever the server sent."""

    url: str
    deadline_s: float
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body_excerpt: str = ""  # the start of a non-stream answer (a 401 page, a JSON error)
    events: list[Event] = field(default_factory=list)  # the first KEEP_EVENTS
    match: Event | None = None  # the first event of the name asked for
    event_count: int = 0
    names: Counter[str] = field(default_factory=Counter)
    comments: int = 0
    bytes_read: int = 0
    unfinished_bytes: int = 0  # of an event the body ended inside
    headers_s: float | None = None
    last_activity_s: float | None = None  # the last event or keep-alive comment
    max_gap_s: float = 0.0  # the longest silence between events or comments (from the headers)
    max_gap_at_s: float = 0.0  # where that silence began
    end: str = ""
    error: str | None = None
    unreachable: bool = False
    elapsed_s: float = 0.0
    last_event_id: str = ""  # the Last-Event-ID this reading sent, if any
    wanted: str | None = None  # the event name the reading was for, if any

    @property
    def label(self) -> str:
        return f"GET {self.url} (SSE)"

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events if e.id]

    def seen(self) -> str:
        """'12 events (10 system-status, 2 message), 3 keep-alive comments, 4,512 bytes in 5.0s'."""
        names = ", ".join(f"{n} {name}" for name, n in self.names.most_common(4))
        if len(self.names) > 4:
            names += ", …"
        parts = [f"{self.event_count} event{'s' if self.event_count != 1 else ''}"
                 + (f" ({names})" if names else "")]
        parts.append(f"{self.comments} keep-alive comment{'s' if self.comments != 1 else ''}")
        parts.append(f"{self.bytes_read:,} bytes in {self.elapsed_s:.1f}s")
        return ", ".join(parts)

    def ending(self) -> str:
        """How the reading ended, in words, for a failure message; '' for a normal end."""
        if self.end == CLOSED:
            return f"the server closed the stream after {self.elapsed_s:.1f}s"
        if self.end == CUT:
            return (f"the stream was cut off after {self.elapsed_s:.1f}s in the middle of an event "
                    f"({self.unfinished_bytes:,} bytes of it never completed)")
        if self.end == BYTE_CAP:
            return (f"stopped at the {self.bytes_read:,}-byte cap after {self.elapsed_s:.2f}s: "
                    "the stream floods (or sends a line that never ends)")
        if self.end == ERROR:
            return self.error or "transport error"
        return ""

    def answer_problem(self) -> str | None:
        """Why this is not an event stream at all (status, content type, transport), or None."""
        if self.status is None:
            return self.error or f"gave no response within {self.deadline_s:g}s"
        if self.end == STATUS:
            hint = f"; body: {self.body_excerpt}" if self.body_excerpt else ""
            challenge = self.headers.get("www-authenticate")
            hint = (f" (WWW-Authenticate: {challenge})" if challenge else "") + hint
            return f"returned {self.status}, expected 200 with text/event-stream{hint}"
        if self.end == CONTENT_TYPE:
            ctype = self.headers.get("content-type", "")
            hint = f"; body: {self.body_excerpt}" if self.body_excerpt else ""
            return f"answered content-type {ctype or 'missing'!r}, expected text/event-stream{hint}"
        return None

    def failure(self) -> str | None:
        """Why this reading did not give what it was for, in one line; None when it did.

        A wrong status or content type is left to the status and headers of the evidence (as
        for any HTTP answer), so that every reading that got the same answer has the same key.
        """
        if self.status is None:
            return self.answer_problem()
        if self.end in (STATUS, CONTENT_TYPE):
            return None
        ending = self.ending()
        if self.wanted is not None and self.match is None:
            return f"no {self.wanted!r} event within {self.deadline_s:g}s" + (f"; {ending}" if ending else "")
        return ending or None

    @property
    def key(self) -> str:
        """The same string as this reading's ``Exchange.key``: a check's ``cause``."""
        return f"{self.label} → {self.failure() or self.status}"

    def exchange(self, reproduce: str) -> Exchange:
        """The reading as evidence: status, time to the first matching event, what was seen."""
        seen = [e.brief() for e in self.events[:5]]
        summary = self.seen() + ("; first events: " + " | ".join(seen) if seen else "")
        if self.body_excerpt:
            summary = self.body_excerpt
        latency = self.match.at_s if self.match else self.elapsed_s
        return Exchange(request=self.label, host=_host(self.url), status=self.status,
                        latency_ms=round(latency * 1000, 1),
                        headers={k: v for k, v in self.headers.items()
                                 if k in ("content-type", "www-authenticate", "cache-control")},
                        excerpt=excerpt(summary), error=self.failure(),
                        unreachable=self.unreachable, reproduce=reproduce)

    # --- recording, as the parser yields ------------------------------------------------------

    def _activity(self, at_s: float) -> None:
        since = self.last_activity_s if self.last_activity_s is not None else self.headers_s or 0.0
        if at_s - since > self.max_gap_s:
            self.max_gap_s, self.max_gap_at_s = at_s - since, since
        self.last_activity_s = at_s

    def _event(self, event: Event, wanted: str | None) -> bool:
        self._activity(event.at_s)
        self.event_count += 1
        name = event.event if event.event in self.names or len(self.names) < MAX_NAMES else "(other)"
        self.names[name] += 1
        if len(self.events) < KEEP_EVENTS:
            self.events.append(event)
        if wanted is not None and self.match is None and event.event == wanted:
            self.match = event
            return True
        return False


class EventParser:
    """Bytes in; events and keep-alive comments out (see the module docstring for why).

    Shared by this module's stream reader and releasegate.mcp.transport (MCP answers on SSE)."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = LineSplitter()
        self._fields = FieldDecoder()
        self._data_lines = 0  # data: lines since the last dispatch
        self.pending = 0  # characters of an event begun and not yet dispatched

    def feed(self, chunk: bytes) -> Iterator[Any]:
        """ServerSentEvent for each dispatched event, COMMENT for each comment line."""
        for line in self._lines.decode(self._text.decode(chunk)):
            if line.startswith(":"):
                yield COMMENT
            elif not line:
                sse = self._fields.decode(line)
                had_data, self._data_lines, self.pending = self._data_lines, 0, 0
                if sse is not None and had_data:  # no data line: WHATWG dispatches nothing
                    yield sse
            else:
                self._data_lines += line.partition(":")[0] == "data"
                self.pending += len(line) + 1
                self._fields.decode(line)

    def unfinished(self) -> int:
        """Characters of an event the body ended inside (0 when it ended between events)."""
        return self.pending + sum(len(line) for line in self._lines.flush())


def read_stream(http: HttpTarget, path: str, *, deadline_s: float, max_bytes: int,
                stop_on: str | None = None, headers: Mapping[str, str] | None = None,
                last_event_id: str = "") -> Reading:
    """Read ``path`` as an event stream until ``stop_on`` arrives or ``deadline_s`` is up.

    Never raises and never runs past the deadline: every way the server can misbehave ends the
    reading with ``end`` saying how (see the constants above) and ``error`` a one-line reason.
    Memory is bounded by ``max_bytes`` plus one network read.
    """
    reading = Reading(url=f"{http.base_url}{path}", deadline_s=deadline_s, last_event_id=last_event_id,
                      wanted=stop_on)
    limits = http.timeouts
    timeout = httpx.Timeout(connect=min(limits.connect, deadline_s), read=deadline_s,
                            write=min(limits.read, deadline_s), pool=min(limits.connect, deadline_s))
    sent = {"Accept-Encoding": "identity", **(headers or {})}
    if last_event_id:
        sent["Last-Event-ID"] = last_event_id
    started = time.perf_counter()
    end_at = started + deadline_s
    parser = EventParser()
    try:
        with exchange_deadline(deadline_s), \
                connect_sse(http.client, "GET", path, headers=sent, timeout=timeout) as source:
            response = source.response
            reading.headers_s = time.perf_counter() - started
            reading.status = response.status_code
            reading.headers = {k.lower(): v for k, v in response.headers.items()}
            ctype = reading.headers.get("content-type", "").partition(";")[0].strip().lower()
            if response.status_code != 200:
                reading.end = STATUS
                reading.body_excerpt = _start_of(response)
            elif ctype != "text/event-stream":
                reading.end = CONTENT_TYPE
                reading.body_excerpt = _start_of(response)
            else:
                _consume(reading, response, parser, started, end_at, max_bytes, stop_on)
    except httpx.TimeoutException as exc:
        if reading.end in (STATUS, CONTENT_TYPE):
            pass  # the answer was already judged; only its excerpt was cut short
        elif time.perf_counter() >= end_at - 0.01:
            reading.end = DEADLINE  # the deadline bounded a read: the window is over
            _close_window(reading, deadline_s)
        else:
            reading.end, reading.error = ERROR, describe_transport_error(exc, limits)
            reading.unreachable = isinstance(exc, httpx.ConnectTimeout)
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:  # reset: complete events stand
        if reading.end not in (STATUS, CONTENT_TYPE):
            unfinished = parser.unfinished()
            reading.end = CUT if unfinished else CLOSED if reading.status == 200 else ERROR
            reading.unfinished_bytes = unfinished
            reading.error = describe_transport_error(exc, limits)
    except Exception as exc:  # every transport failure becomes a one-line reason
        if reading.end not in (STATUS, CONTENT_TYPE):
            reading.end, reading.error = ERROR, describe_transport_error(exc, limits)
            reading.unreachable = is_unreachable(exc)
    reading.elapsed_s = time.perf_counter() - started
    return reading


def _consume(reading: Reading, response: httpx.Response, parser: EventParser, started: float,
             end_at: float, max_bytes: int, stop_on: str | None) -> None:
    """Feed the body to the parser until a stop condition; sets ``reading.end``."""
    for chunk in response.iter_bytes():
        now = time.perf_counter()
        reading.bytes_read += len(chunk)
        if reading.bytes_read > max_bytes:
            reading.end = BYTE_CAP
            return
        for item in parser.feed(chunk):
            if item is COMMENT:
                reading.comments += 1
                reading._activity(now - started)
                continue
            event = Event(item.event, item.data, item.id, now - started)
            if reading._event(event, stop_on):
                reading.end = MATCHED
                return
        if now >= end_at:
            reading.end = DEADLINE
            _close_window(reading, end_at - started)
            return
    reading.unfinished_bytes = parser.unfinished()
    reading.end = CUT if reading.unfinished_bytes else CLOSED


def _close_window(reading: Reading, window_s: float) -> None:
    """At the deadline, the silence since the last activity counts as a gap too."""
    since = reading.last_activity_s if reading.last_activity_s is not None else reading.headers_s
    if since is not None and window_s - since > reading.max_gap_s:
        reading.max_gap_s, reading.max_gap_at_s = window_s - since, since


def _start_of(response: httpx.Response, limit: int = 300) -> str:
    """The first few hundred bytes of a non-stream answer, read within the same deadline."""
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return excerpt(" ".join(data[:limit * 2].decode("utf-8", "replace").split()), limit)


def _host(url: str) -> str:
    parts = httpx.URL(url)
    return f"{parts.host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

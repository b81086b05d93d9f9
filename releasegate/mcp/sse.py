"""Server-Sent Events framing, fed byte chunks as they arrive.

The field parsing is httpx-sse's (``SSEDecoder``, ``SSELineDecoder``); what this adds is why
``httpx_sse.EventSource`` is not used directly: it reads lines with no size limit and cannot say
that a stream ended in the middle of an event. Here the caller feeds capped chunks and learns,
at the end, whether an unfinished event was left behind (the SSE standard discards it, so a
response cut mid-event is lost, and the check must say so).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder  # public classes of a private module


@dataclass
class Event:
    """One dispatched event: its type ('message' when the stream named none), id and data."""

    event: str
    data: str
    id: str
    retry: int | None

    @classmethod
    def of(cls, sse: ServerSentEvent) -> Event:
        return cls(sse.event or "message", sse.data, sse.id, sse.retry)


class SseParser:
    """Incremental SSE parser: ``feed(bytes)`` returns the events completed by that chunk."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._lines = SSELineDecoder()
        self._events = SSEDecoder()
        self.pending_chars = 0  # characters of an event not yet ended by a blank line
        self.events_seen = 0
        self._has_data = False

    def feed(self, chunk: bytes) -> list[Event]:
        return self._decode(self._lines.decode(self._text.decode(chunk)) if chunk else [])

    def close(self) -> list[Event]:
        """End of stream: an event without its closing blank line is dropped, as the standard says;
        ``pending_chars`` tells how much of one was left."""
        tail = self._text.decode(b"", final=True)
        lines = self._lines.decode(tail) if tail else []
        leftover = self._lines.flush()
        events = self._decode(lines)
        self.pending_chars += sum(len(line) + 1 for line in leftover if not line.startswith(":"))
        return events

    @property
    def cut_mid_event(self) -> bool:
        return self.pending_chars > 0

    def _decode(self, lines: list[str]) -> list[Event]:
        out: list[Event] = []
        for line in lines:
            sse = self._events.decode(line)
            if not line:
                self.pending_chars = 0
            elif not line.startswith(":"):  # a comment (keep-alive) is not part of an event
                self.pending_chars += len(line) + 1
                self._has_data = self._has_data or line.split(":", 1)[0] == "data"
            if sse is not None:
                # The standard dispatches nothing for a blank line when no data line came (e.g.
                # after a keep-alive comment); httpx-sse would, repeating the last event id.
                if self._has_data:
                    self.events_seen += 1
                    out.append(Event.of(sse))
                self._has_data = False
        return out

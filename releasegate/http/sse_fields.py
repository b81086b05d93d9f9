"""The event-stream interpretation of the HTML standard, line by line (WHATWG HTML §9.2.6,
https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).

httpx-sse has the same parser but only as a private module (``httpx_sse._decoders``); this copy
of the algorithm keeps releasegate on that package's public API (``connect_sse``,
``ServerSentEvent``), so an httpx-sse release that moves its internals cannot break a gate.
"""

from __future__ import annotations

import re

from httpx_sse import ServerSentEvent

_EOL = re.compile(r"\r\n|\r|\n")  # "lines must be separated by CRLF, LF or CR"


class LineSplitter:
    """Text in, complete lines out; a CR at a chunk's end may pair with the next chunk's LF."""

    def __init__(self) -> None:
        self._buffer = ""
        self._after_cr = False

    def decode(self, text: str) -> list[str]:
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        combined = self._buffer + text
        if not combined:
            return []
        self._after_cr = combined.endswith("\r")
        lines = _EOL.split(combined)
        self._buffer = lines.pop()  # the unfinished last line ("" after a line end)
        return lines

    def flush(self) -> list[str]:
        """The unfinished line the stream ended inside, if any."""
        rest, self._buffer = self._buffer, ""
        return [rest] if rest else []


class FieldDecoder:
    """Fields into events: ``decode`` returns the event an empty line dispatches, else None."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._last_event_id = ""  # not reset by a dispatch (the standard's "last event ID buffer")
        self._retry: int | None = None

    def decode(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not (self._event or self._data or self._last_event_id or self._retry is not None):
                return None
            event = ServerSentEvent(event=self._event, data="\n".join(self._data),
                                    id=self._last_event_id, retry=self._retry)
            self._event, self._data, self._retry = "", [], None
            return event
        if line.startswith(":"):  # a comment
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

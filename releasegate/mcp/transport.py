"""One bounded HTTP exchange carrying a JSON-RPC message to an MCP endpoint.

An answer may be a JSON object or an SSE stream (streamable HTTP, every revision): the stream
is read event by event until the response to the request's id arrives — priming events with
empty data, server notifications and requests before it are kept aside — and then closed, even
when the server keeps it open. Every exchange has the profile's connect/read/total limits (the
total enforced on every socket read by releasegate.core.deadline) and a body cap; nothing raises: a
transport failure, an HTML page, a stream cut mid-event or one that never ends, malformed
JSON-RPC or a response for another id all come back as a ``problem``, one line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from releasegate.core.deadline import deadline as exchange_deadline
from releasegate.core.deadline import install as install_deadline
from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Exchange, excerpt
from releasegate.core.profile import Timeouts
from releasegate.core.redact import MASK, Redactor, is_credential_key
from releasegate.http.client import HEADERS_THAT_MATTER, Fetch, describe_transport_error, is_unreachable
from releasegate.http.sse import COMMENT, EventParser
from releasegate.mcp import jsonrpc
from releasegate.mcp.remedies import remedy_for

if TYPE_CHECKING:
    from httpx_sse import ServerSentEvent

ACCEPT_BOTH = "application/json, text/event-stream"
EXCERPT_BYTES = 16 * 1024  # what is kept of a body for the report; the cap bounds what is read
# After the response arrived on an SSE stream: read on this long / this much more for the end of
# the stream, so the connection can be reused (a stream left unread closes it).
DRAIN_S = 0.05
DRAIN_BYTES = 64 * 1024
MCP_HEADERS = ("mcp-session-id", "mcp-protocol-version", "allow", "x-accel-buffering",
               "www-authenticate")


@dataclass
class McpReply:
    """What one exchange gave: the HTTP side, the JSON-RPC answer, or why there is none."""

    label: str  # "MCP tools/call get_database_stats"
    fetch: Fetch  # status, headers, (capped) body, latency, transport error
    sent: Mapping[str, Any] | None = None  # the JSON-RPC message posted
    want_id: int | str | None = None
    message: Mapping[str, Any] | None = None  # the response to ``sent`` (or an id-less error)
    problem: str | None = None  # why there is no usable answer
    events: list[ServerSentEvent] = field(default_factory=list)
    others: list[Mapping[str, Any]] = field(default_factory=list)  # notifications/requests seen
    wrong_ids: list[Any] = field(default_factory=list)
    made_up: frozenset[str] = frozenset()  # request headers whose values releasegate invented

    @property
    def status(self) -> int | None:
        return self.fetch.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self.fetch.headers

    @property
    def elapsed_s(self) -> float:
        return self.fetch.elapsed_s

    @property
    def content_type(self) -> str:
        return self.fetch.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def sse(self) -> bool:
        return self.content_type == "text/event-stream"

    @property
    def error(self) -> Mapping[str, Any] | None:
        """The JSON-RPC error object of the answer, if it is one."""
        return jsonrpc.error_of(self.message)

    @property
    def result(self) -> Any:
        return None if self.message is None else self.message.get("result")

    @property
    def outcome(self) -> int | str | None:
        """The HTTP status, with the JSON-RPC error code when the answer is an error."""
        if self.status is None:
            return None
        return f"{self.status} error {self.error.get('code')}" if self.error else self.status

    @property
    def key(self) -> str:
        """The same string as this exchange's ``Exchange.key``: failures sharing it share a cause."""
        return f"{self.label} → {self.problem or self.fetch.error or self.outcome}"

    def describe(self) -> str:
        """What came back, in a few words: '400 with JSON-RPC error -32600 'Missing session ID''."""
        if self.status is None:
            return f"no answer ({self.problem or self.fetch.error})"
        text = self.fetch.status_text()
        if self.error is not None:
            return f"{text} with {jsonrpc.describe_error(self.error)}"
        if self.problem:
            return f"{text}: {self.problem}"
        return text

    # --- failing a check on what came back ----------------------------------------------------

    def fail(self, message: str, remedy: str | None = None) -> CheckFailed:
        return CheckFailed(message, remedy=remedy or remedy_for(self), cause=self.key)

    def require_answer(self) -> McpReply:
        """Fail unless a JSON-RPC answer came back (whatever its HTTP status)."""
        __tracebackhide__ = True
        if self.problem or self.message is None:
            raise self.fail(f"{self.label}: {self.describe()}")
        return self

    def require_result(self) -> Any:
        """Fail unless the server answered 200 with a JSON-RPC result; return the result."""
        __tracebackhide__ = True
        if self.status is not None and self.status != 200 and not self.problem:
            raise self.fail(f"{self.label} answered {self.describe()}, expected 200 with a result")
        self.require_answer()
        if self.error is not None:
            raise self.fail(f"{self.label} answered {jsonrpc.describe_error(self.error)}")
        return self.result

    # --- evidence ---------------------------------------------------------------------------

    def exchange(self, redactor: Redactor, env_values: Iterable[str] = ()) -> Exchange:
        excerpt_text = (json.dumps(_readable(self.message), ensure_ascii=False, separators=(",", ":"))
                        if self.message is not None else
                        self.fetch.body[:EXCERPT_BYTES].decode("utf-8", "replace").strip())
        headers = {k: v for k, v in self.fetch.headers.items()
                   if k in HEADERS_THAT_MATTER or k in MCP_HEADERS}
        return Exchange(request=self.label, host=self.fetch.host, status=self.outcome,
                        latency_ms=round(self.fetch.elapsed_s * 1000, 1), headers=headers,
                        excerpt=excerpt(excerpt_text), error=self.problem or self.fetch.error,
                        unreachable=self.fetch.unreachable,
                        reproduce=redactor.shell(self.curl(frozenset(env_values))))

    def curl(self, env_values: frozenset[str]) -> list[str]:
        """The same exchange as a curl command (credentials that are not ${VAR}s masked)."""
        argv = ["curl", "-sS", "-i"]
        if self.fetch.timeout_s:
            argv += ["--max-time", f"{self.fetch.timeout_s:g}"]
        argv += ["-X", self.fetch.method, self.fetch.url]
        for name, value in self.fetch.request_headers.items():
            if is_credential_key(name) and name.lower() not in self.made_up and not any(
                    v in value for v in env_values):
                value = MASK
            argv += ["-H", f"{name}: {value}"]
        if self.sent is not None:
            argv += ["--data", json.dumps(self.sent, separators=(",", ":"))]
        return argv


def _readable(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """The answer with a tool result's structuredContent and isError first: the excerpt is cut."""
    result = message.get("result")
    if not isinstance(result, Mapping) or "structuredContent" not in result:
        return message
    first = {k: result[k] for k in ("isError", "structuredContent") if k in result}
    return {**message, "result": {**first, **{k: v for k, v in result.items() if k not in first}}}


def merge_headers(*layers: Mapping[str, str] | None, drop: Iterable[str] = ()) -> dict[str, str]:
    """Later layers win, names compared case-insensitively; ``drop`` removes names."""
    out: dict[str, str] = {}
    for layer in layers:
        for name, value in (layer or {}).items():
            for existing in [k for k in out if k.lower() == name.lower()]:
                del out[existing]
            out[name] = value
    dropped = {d.lower() for d in drop}
    return {k: v for k, v in out.items() if k.lower() not in dropped}


class McpTransport:
    """HTTP to one MCP endpoint with the profile's headers on every request; never raises."""

    def __init__(self, url: str, *, timeouts: Timeouts, body_limit: int,
                 headers: Mapping[str, str] | None = None, verify: bool | str = True,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self.timeouts = timeouts
        self.body_limit = body_limit
        self.headers = dict(headers or {})
        # same origin only and no redirects followed: a plain-http endpoint never does TLS, so
        # no CA bundle is loaded for it (~20 ms)
        plain = url.startswith("http:")
        self._client = httpx.Client(
            transport=transport or install_deadline(httpx.HTTPTransport(verify=False if plain else verify)),
            follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def send(self, label: str, message: Mapping[str, Any] | None = None, *, method: str = "POST",
             headers: Mapping[str, str] | None = None, drop: Iterable[str] = (),
             raw_body: bytes | None = None, read_body: bool = True,
             timeouts: Timeouts | None = None, made_up: Iterable[str] = ()) -> McpReply:
        """One exchange. ``message`` is posted as JSON (``raw_body`` posts bytes as they are);
        a request's answer is read until its response; ``read_body=False`` stops at the headers
        of an SSE answer (a GET that may open an endless stream)."""
        limits = timeouts or self.timeouts
        standard = {"Accept": ACCEPT_BOTH}
        if method == "POST":
            standard["Content-Type"] = "application/json"
        request_headers = merge_headers(self.headers, standard, headers, drop=drop)
        want_id = message.get("id") if message is not None and "method" in message else None
        body = raw_body if raw_body is not None else (
            json.dumps(message, separators=(",", ":")).encode() if message is not None else None)
        fetch = Fetch(method=method, url=self.url, request_headers=request_headers,
                      timeout_s=limits.total)
        reply = McpReply(label, fetch, sent=message, want_id=want_id,
                         made_up=frozenset(h.lower() for h in made_up))
        timeout = httpx.Timeout(connect=limits.connect, read=min(limits.read, limits.total),
                                write=limits.read, pool=limits.connect)
        started = time.perf_counter()
        try:
            with exchange_deadline(limits.total), self._client.stream(
                    method, self.url, content=body, headers=request_headers,
                    timeout=timeout) as response:
                fetch.status = response.status_code
                fetch.headers = {k.lower(): v for k, v in response.headers.items()}
                if read_body or not reply.sse:  # a stream that may never end is not read
                    self._read(response, reply, started + limits.total)
        except httpx.TimeoutException as exc:
            spent = time.perf_counter() - started
            if fetch.status is not None and reply.sse:
                reply.problem = (f"the SSE stream stayed open {spent:.3g}s without the response to "
                                 f"id {want_id} ({len(reply.events)} events; total timeout "
                                 f"{limits.total:.3g}s)")
            elif spent >= limits.total * 0.99:
                reply.problem = f"no complete response within {limits.name} ({limits.total:.3g}s)"
            else:
                reply.problem = describe_transport_error(exc, limits)
            fetch.unreachable = isinstance(exc, httpx.ConnectTimeout)
        except Exception as exc:  # every transport failure becomes a one-line reason
            reply.problem = describe_transport_error(exc, limits)
            fetch.unreachable = is_unreachable(exc)
            if fetch.status is not None and reply.sse and not reply.message:
                reply.problem = f"the SSE stream broke before the response to id {want_id}: {reply.problem}"
        fetch.elapsed_s = time.perf_counter() - started
        fetch.error = reply.problem if fetch.status is None else None
        return reply

    # --- reading the answer -----------------------------------------------------------------

    def _read(self, response: httpx.Response, reply: McpReply, ends_at: float) -> None:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.body_limit:
            reply.problem = f"body of {int(declared):,} bytes exceeds the {self.body_limit:,}-byte cap"
            return
        if reply.sse:
            self._read_stream(response, reply, ends_at)
            return
        body, over = self._read_capped(response)
        reply.fetch.body = body
        if over:
            reply.problem = f"body exceeds the {self.body_limit:,}-byte cap"
            return
        self._judge_body(reply)

    @staticmethod
    def _drain(stream: Iterator[bytes], ends_at: float) -> None:
        """The end of an answered stream, if it comes at once, so the connection is kept;
        otherwise leave it (and the connection) behind — the answer is complete either way."""
        seconds = min(DRAIN_S, ends_at - time.perf_counter())
        if seconds <= 0:
            return
        read = 0
        try:
            with exchange_deadline(seconds):
                for chunk in stream:
                    read += len(chunk)
                    if read > DRAIN_BYTES:
                        return
        except Exception:  # after the answer, nothing the stream does matters
            pass

    def _read_capped(self, response: httpx.Response) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.body_limit:
                return b"".join(chunks), True
            chunks.append(chunk)
        return b"".join(chunks), False

    def _judge_body(self, reply: McpReply) -> None:
        """A JSON body (or none): the answer, an id-less error, or why it is not one."""
        status, body = reply.status or 0, reply.fetch.body
        if reply.want_id is None:
            return  # a notification, GET or DELETE: the status says it all
        ok = 200 <= status < 300
        if reply.fetch.is_html or 300 <= status < 400:
            if ok or 300 <= status < 400:
                reply.problem = (f"answered {reply.fetch.status_text()} instead of a JSON-RPC answer"
                                 + (": a login page or proxy stands in front of the MCP endpoint"
                                    if reply.fetch.is_html else ""))
            return
        if "json" not in reply.content_type:
            if ok:
                reply.problem = (f"content-type is {reply.content_type or 'missing'!r}, expected "
                                 "application/json or text/event-stream")
            return
        try:
            message = json.loads(body)
        except ValueError as exc:
            if ok:
                reply.problem = (f"body is not valid JSON ({exc.msg} at char {exc.pos})"
                                 if isinstance(exc, json.JSONDecodeError) else "body is not valid JSON")
            return
        if ok or jsonrpc.response_problem(message) is None:
            self._accept(reply, message)  # an error status may carry a JSON-RPC error, or not

    def _accept(self, reply: McpReply, message: Any) -> bool:
        """Take ``message`` as the answer if it is one; True when reading can stop."""
        if jsonrpc.kind(message) in ("request", "notification"):
            reply.others.append(message)
            return False
        problem = jsonrpc.response_problem(message)
        if problem:
            reply.problem = f"malformed JSON-RPC response: {problem}"
            return True
        answer_id = message.get("id")
        if answer_id == reply.want_id or (answer_id is None and "error" in message):
            reply.message = message
            return True
        reply.wrong_ids.append(answer_id)
        return False

    def _read_stream(self, response: httpx.Response, reply: McpReply, ends_at: float) -> None:
        """Events until the response to our id; then stop reading, whatever the server does."""
        parser = EventParser()
        kept: list[bytes] = []
        size = 0
        stream = response.iter_bytes()
        for chunk in stream:
            size += len(chunk)
            if size - len(chunk) < EXCERPT_BYTES:
                kept.append(chunk)
            reply.fetch.body = b"".join(kept)
            if size > self.body_limit:
                reply.problem = (f"the SSE stream passed the {self.body_limit:,}-byte cap without "
                                 f"the response to id {reply.want_id}")
                return
            if self._take(reply, parser.feed(chunk)):
                if reply.message is not None:
                    self._drain(stream, ends_at)
                return
        if reply.message is None:
            reply.problem = self._why_no_response(reply, parser.unfinished())

    def _take(self, reply: McpReply, items: Iterable[Any]) -> bool:
        for event in items:
            if event is COMMENT:
                continue  # a keep-alive
            reply.events.append(event)
            if not event.data.strip():
                continue  # a priming event (2025-11-25: an id and empty data) or a keep-alive
            try:
                message = json.loads(event.data)
            except ValueError:
                reply.problem = f"SSE event data is not JSON: {excerpt(event.data, 80)!r}"
                return True
            if self._accept(reply, message):
                return True
        return False

    @staticmethod
    def _why_no_response(reply: McpReply, unfinished: int) -> str:
        want = f"the response to id {reply.want_id}"
        if reply.wrong_ids:
            return (f"the SSE stream carried a response for id {reply.wrong_ids[0]!r} but never {want}"
                    ": responses must answer the request they belong to")
        if unfinished:
            return (f"the SSE stream ended mid-event ({unfinished} characters of an unterminated "
                    f"event) before {want}")
        return f"the SSE stream ended after {len(reply.events)} events without {want}"

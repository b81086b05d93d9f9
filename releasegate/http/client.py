"""The HTTP layer every HTTP check stands on.

Every exchange has connect/read/total limits and a body cap and never raises: a refused
connection, a timeout, a trickling or huge body, a TLS failure all come back as a ``Fetch`` with
an ``error`` — one line naming what went wrong — so a hostile target makes a failed check, not an
INTERNALERROR or a hang. httpx has no total timeout, so releasegate.core.deadline bounds every
socket read by one.
"""

from __future__ import annotations

import json
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from releasegate.core.deadline import deadline as exchange_deadline
from releasegate.core.deadline import install as install_deadline
from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Exchange, excerpt
from releasegate.core.profile import Timeouts
from releasegate.core.redact import Redactor

# Response headers worth showing beside a status: where a redirect goes, what auth is asked
# for, rate limits, deprecation, the session an MCP server issued (masked as a credential).
HEADERS_THAT_MATTER = ("content-type", "content-length", "location", "www-authenticate",
                       "retry-after", "deprecation", "sunset", "link", "x-request-id",
                       "mcp-session-id", "mcp-protocol-version", "x-ratelimit-remaining")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)


@dataclass
class Fetch:
    """What one HTTP exchange gave: a response, or the one-line reason there was none."""

    method: str
    url: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed_s: float = 0.0
    error: str | None = None
    unreachable: bool = False  # no connection at all: refused, DNS, connect timeout
    request_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float | None = field(default=None, repr=False)
    curl_body: tuple[str, ...] = field(default=(), repr=False)  # curl arguments sending the body
    _json: Any = field(default=None, repr=False)
    _json_error: str | None = field(default=None, repr=False)
    _json_done: bool = field(default=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.url}"

    @property
    def host(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"

    @property
    def key(self) -> str:
        """The same string as this exchange's ``Exchange.key`` before redaction."""
        return f"{self.label} → {self.error or self.status}"

    @property
    def is_html(self) -> bool:
        return "html" in self.headers.get("content-type", "")

    def status_text(self) -> str:
        """'302 redirect to https://sso/login', '200 with an HTML page "Sign in"', or '503'."""
        if self.status is None:
            return "no answer"
        if 300 <= self.status < 400:
            return f"{self.status} redirect to {self.headers.get('location', '(no Location)')}"
        if self.is_html:
            title = _TITLE.search(self.body[:4096])
            name = " ".join(title.group(1).decode("utf-8", "replace").split())[:80] if title else ""
            return f"{self.status} with an HTML page" + (f" {name!r}" if name else "")
        return str(self.status)

    def exchange(self, redactor: Redactor) -> Exchange:
        """The exchange as evidence: request line, status, latency, headers, excerpt, curl."""
        command = ["curl", "-sS", "-i"]
        if self.timeout_s:
            command += ["--max-time", f"{self.timeout_s:g}"]
        if self.method != "GET":
            command += ["-X", self.method]
        for name, value in self.request_headers.items():
            command += ["-H", f"{name}: {value}"]
        command += [*self.curl_body, self.url]
        return Exchange(
            request=self.label, host=self.host, status=self.status,
            latency_ms=round(self.elapsed_s * 1000, 1),
            headers={k: v for k, v in self.headers.items() if k in HEADERS_THAT_MATTER},
            excerpt=excerpt(self.body.decode("utf-8", "replace")) if self.status is not None else "",
            error=self.error, unreachable=self.unreachable, reproduce=redactor.shell(command))

    def require_response(self) -> Fetch:
        """Fail the check with the transport reason when there was no HTTP response."""
        __tracebackhide__ = True
        if self.error:
            raise CheckFailed(f"{self.label}: {self.error}", cause=self.key, kind="no_answer")
        return self

    def expect_status(self, *codes: int, why: str = "", html_ok: bool = False) -> Fetch:
        """Fail unless the response status is one of ``codes``.

        A redirect is named with its Location; a 2xx answered with an HTML page fails too
        (unless ``html_ok``): a login page or proxy stood in front of the service.
        """
        __tracebackhide__ = True
        self.require_response()
        wanted = " or ".join(map(str, codes))
        if self.status not in codes:
            detail = _body_hint(self)
            raise CheckFailed(
                f"{self.label} returned {self.status_text()}, expected {wanted}"
                + (f" ({why})" if why else "") + (f"; body: {detail}" if detail else ""),
                cause=self.key, kind="wrong_status")
        if self.is_html and not html_ok and self.status is not None and 200 <= self.status < 300:
            raise CheckFailed(f"{self.label} answered {self.status_text()}, expected the service's "
                              f"own {wanted}: a login page or proxy stands in front of the service",
                              cause=self.key, kind="wrong_body")
        return self

    def json(self) -> Any:
        """The body parsed as JSON; fails the check on a wrong content type or invalid JSON."""
        __tracebackhide__ = True
        self.require_response()
        if not self._json_done:
            self._json_done = True
            ctype = self.headers.get("content-type", "")
            if self.status is not None and 300 <= self.status < 400:
                self._json_error = f"answered {self.status_text()} instead of JSON"
            elif self.is_html:
                self._json_error = (f"answered {self.status_text()} instead of JSON: a login page "
                                    "or proxy stands in front of the service")
            elif "json" not in ctype:
                self._json_error = f"content-type is {ctype or 'missing'!r}, expected application/json"
            else:
                try:
                    self._json = json.loads(self.body)
                except ValueError as exc:
                    self._json_error = f"body is not valid JSON ({exc.msg} at char {exc.pos})"
        if self._json_error:
            raise CheckFailed(f"{self.label}: {self._json_error}", cause=self.key, kind="wrong_body")
        return self._json


def _body_hint(fetch: Fetch, limit: int = 160) -> str:
    if fetch.is_html:
        return ""  # status_text() already names the page; its markup says nothing more
    return excerpt(" ".join(fetch.body[:limit * 2].decode("utf-8", "replace").split()), limit)


def describe_transport_error(exc: BaseException, timeouts: Timeouts) -> str:
    """One line for a transport failure, naming the limit that was hit."""
    chain = [exc, *_causes(exc)]
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "certificate verify failed" in text:
        return ("TLS certificate not trusted (certificate verify failed); "
                "set ca_bundle in the profile or fix the certificate")
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within the connect timeout ({timeouts.connect:.3g}s)"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no response data within the read timeout ({timeouts.read:.3g}s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__}, limits {timeouts.connect:.3g}/{timeouts.read:.3g}s)"
    if isinstance(exc, httpx.ConnectError):
        if "refused" in text:
            return "connection refused (nothing listening on that host and port)"
        if "name or service not known" in text or "nodename nor servname" in text:
            return "host name does not resolve"
        if "name resolution" in text:  # EAI_AGAIN: the runner's DNS did not answer
            return "host name does not resolve (temporary failure in name resolution)"
        if "network is unreachable" in text or "no route to host" in text:
            return "network is unreachable from this runner (no route to host)"
        return f"cannot connect: {_first_line(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"malformed HTTP response: {_first_line(exc)}"
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__}: {_first_line(exc)}"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def is_unreachable(exc: BaseException) -> bool:
    """Nothing answered at the host: refused, unresolvable, or no connection in time (not TLS)."""
    chain = [exc, *_causes(exc)]
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return False
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))


def _causes(exc: BaseException) -> list[BaseException]:
    out, seen = [], {id(exc)}
    cur = exc.__cause__ or exc.__context__
    while cur is not None and id(cur) not in seen:
        out.append(cur)
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class HttpTarget:
    """One base URL with a pooled client; ``fetch`` and ``poll_until`` never raise."""

    def __init__(
        self,
        base_url: str,
        *,
        timeouts: Timeouts,
        body_limit: int,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        local_address: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.body_limit = body_limit
        self.local_address = local_address  # the source address requests leave from (allowlists)
        self._headers = dict(headers or {})
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            # A plain-http base URL never does TLS (no redirect is followed): no CA bundle to load
            # (~20 ms per client, three or more clients per run).
            transport=install_deadline(httpx.HTTPTransport(
                verify=verify if self.base_url.startswith("https:") else False,
                local_address=local_address)),
            follow_redirects=False,
            trust_env=False,  # a check must reach the target named in the profile, not a proxy
        )

    @property
    def client(self) -> httpx.Client:
        """The pooled client, for streaming readers (releasegate.http.sse) that bound reads themselves."""
        return self._client

    def close(self) -> None:
        self._client.close()

    def fetch(self, path: str, *, method: str = "GET", timeouts: Timeouts | None = None,
              headers: Mapping[str, str] | None = None, json_body: Any = None,
              files: Mapping[str, tuple[str, bytes]] | None = None) -> Fetch:
        """One request, bounded by ``timeouts`` (default: the profile's) and the body cap.

        ``json_body`` sends a JSON body; ``files`` a multipart form ({field: (filename, bytes)},
        as ``curl -F field=@filename``).
        """
        limits = timeouts or self.timeouts
        result = Fetch(method=method, url=f"{self.base_url}{path}",
                       request_headers={**self._headers, **(headers or {})}, timeout_s=limits.total)
        body: dict[str, Any] = {}
        if json_body is not None:
            body["json"] = json_body
            result.curl_body = ("-H", "Content-Type: application/json",
                                "--data", json.dumps(json_body, separators=(",", ":")))
        if files:
            body["files"] = dict(files)
            result.curl_body = tuple(a for field_name, (filename, _) in files.items()
                                     for a in ("-F", f"{field_name}=@{filename}"))
        timeout = httpx.Timeout(connect=limits.connect, read=min(limits.read, limits.total),
                                write=limits.read, pool=limits.connect)
        started = time.perf_counter()
        try:
            with exchange_deadline(limits.total), \
                    self._client.stream(method, path, headers=headers, timeout=timeout,
                                        **body) as response:
                result.status = response.status_code
                result.headers = {k.lower(): v for k, v in response.headers.items()}
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.body_limit:
                    result.error = (f"body of {int(declared):,} bytes exceeds the "
                                    f"{self.body_limit:,}-byte cap")
                else:
                    result.body, result.error = self._read_capped(response)
        except httpx.TimeoutException as exc:
            spent = time.perf_counter() - started
            result.error = (f"no complete response within {limits.name} ({limits.total:.3g}s)"
                            if spent >= limits.total * 0.99 else describe_transport_error(exc, limits))
            result.unreachable = isinstance(exc, httpx.ConnectTimeout)
        except Exception as exc:  # every transport failure becomes a one-line reason
            result.error = describe_transport_error(exc, limits)
            result.unreachable = is_unreachable(exc)
        result.elapsed_s = time.perf_counter() - started
        return result

    def _read_capped(self, response: httpx.Response) -> tuple[bytes, str | None]:
        """The body, stopping at the cap; the exchange deadline bounds each read."""
        chunks: list[bytes] = []
        size = 0
        # No chunk_size: httpx would buffer until it has a full chunk; each network read (at most
        # 64 KiB) comes through as it arrives.
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.body_limit:
                return b"".join(chunks), f"body exceeds the {self.body_limit:,}-byte cap"
            chunks.append(chunk)
        return b"".join(chunks), None

    def poll_until(self, path: str, done: Callable[[Fetch], bool], *, wait_s: float,
                   interval_s: float, timeouts: Timeouts | None = None) -> tuple[Fetch, int]:
        """Fetch until ``done`` holds or ``wait_s`` is spent; return the last fetch and attempts.

        The total wait is bounded: no attempt starts after the deadline and each attempt's own
        total timeout is cut to what is left.
        """
        deadline = time.perf_counter() + wait_s
        attempts = 0
        while True:
            attempts += 1
            limits = timeouts or self.timeouts
            left = max(deadline - time.perf_counter(), 0.05)
            fetch = self.fetch(path, timeouts=limits if left >= limits.total
                               else limits.capped(left, "what was left of the wait"))
            if done(fetch) or time.perf_counter() + interval_s > deadline:
                return fetch, attempts
            time.sleep(interval_s)

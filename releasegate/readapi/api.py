"""The Read API of a target (runbook 000 §3): REST endpoints, SSE streams, basic auth, allowlist.

Several checks judge the same answer (an endpoint's status, its schema, its limit, its
filters), so every request is made once per run and shared; each check records the exchanges
it judged as its own evidence (``ReadApiView``). Requests leave from ``source_address`` when the
profile names one (an address on the allowlist), and from ``allowlist.outside_address`` for the
checks that the allowlist refuses strangers. Credentials go as HTTP basic auth; their encoded
form is registered with the redactor, and reproduce commands say ``curl -u "$USER:$PASSWORD"``.
"""

from __future__ import annotations

import base64
import ipaddress
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from releasegate.core.paths import SCHEMAS
from releasegate.core.profile import Target
from releasegate.core.redact import Redactor
from releasegate.http.client import Fetch, HttpTarget
from releasegate.http.sse import Reading, read_stream
from releasegate.readapi.openapi import DEFAULT_PATH as OPENAPI_PATH
from releasegate.readapi.openapi import OpenApiContract

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
WRONG_PASSWORD = "releasegate-wrong-password"  # sent on purpose: it must be refused
SPOOF_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
STREAM_DEFAULTS: dict[str, Any] = {"within_s": 10.0, "resume": True}
ENDPOINT_DEFAULTS: dict[str, Any] = {"items": "items", "limit_param": "limit"}
NONE, RIGHT, WRONG = "none", "right", "wrong"  # which credentials a request carries


def query(path: str, params: Mapping[str, Any] | None) -> str:
    """``/v1/fixtures`` + {league_id: 1, live: true} → ``/v1/fixtures?league_id=1&live=true``."""
    if not params:
        return path
    text = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
    return f"{path}{'&' if '?' in path else '?'}{urlencode(text)}"


def forwarding_claim(header: str, address: str) -> dict[str, str]:
    """``header`` claiming the request was forwarded for ``address`` (RFC 7239 quotes IPv6)."""
    if header.lower() == "forwarded":
        return {header: f'for="[{address}]"' if ":" in address else f"for={address}"}
    return {header: address}


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def is_local_host(url: str) -> bool:
    """True for loopback literals, ``localhost`` and ``*.localhost`` (RFC 6761): traffic that never
    leaves the machine. Names are not resolved: a name is taken to mean another host."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shipped(name: str) -> str | None:
    return name if (SCHEMAS / name).is_file() else None


# --- the engine ---------------------------------------------------------------------------------


@dataclass
class Call:
    """One request and the curl command that repeats it (credentials as given in the profile)."""

    fetch: Fetch
    argv: list[str]


def _background(make: Callable[[], Any]) -> Future[Any]:
    """Run ``make`` in a daemon thread: a reading nobody waits for must not hold up the exit."""
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(make())
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="releasegate-sse", daemon=True).start()
    return future


class ReadApi:
    """The Read API of one target; every request made at most once per run."""

    def __init__(self, target: Target, redactor: Redactor) -> None:
        self.target = target
        self.cfg: Mapping[str, Any] = target.section("read_api") or {}
        self.auth: Mapping[str, str] | None = self.cfg.get("auth")
        self.source: str | None = self.cfg.get("source_address")
        self._verify: bool | str = self.cfg.get("ca_bundle") or self.cfg.get("verify_tls", True)
        self._clients: dict[str | None, HttpTarget] = {}
        self._calls: dict[tuple[Any, ...], Call] = {}
        self._streams: dict[tuple[str, str], Future[Any]] = {}
        self._lock = threading.RLock()
        self._openapi: OpenApiContract | None = None
        if self.auth:  # what goes over the wire is a secret too, in whatever form it is echoed
            user, password = self.auth["username"], self.auth["password"]
            redactor.add([password, basic(user, password), basic(user, WRONG_PASSWORD),
                          basic(user, password).split()[1]])

    # --- configuration ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return str(self.cfg["base_url"])

    def endpoints(self) -> Mapping[str, Mapping[str, Any]]:
        return self.cfg.get("endpoints") or {}

    def endpoint(self, name: str) -> dict[str, Any]:
        return {**ENDPOINT_DEFAULTS, **self.endpoints()[name]}

    def stream(self, name: str) -> dict[str, Any]:
        cfg = {**STREAM_DEFAULTS, "max_bytes": self.target.body_limit,
               **(self.cfg.get("streams") or {})[name]}
        if cfg.get("keepalive_s") and "observe_s" not in cfg:
            cfg["observe_s"] = 2 * cfg["keepalive_s"]
        return cfg

    def schema_for(self, name: str) -> str | None:
        """An endpoint's body schema: its ``schema`` (a file, or ``openapi`` for the service's own
        document), else readapi/<name>.schema.json if shipped (runbook 000's fields only)."""
        return self.endpoint(name).get("schema") or _shipped(f"readapi/{name}.schema.json")

    def item_schema_for(self, name: str) -> str | None:
        """The schema each item of a list endpoint must match: its ``item_schema``, else
        readapi/<name>.item.schema.json if shipped (runbook 000's fields only)."""
        return self.endpoint(name).get("item_schema") or _shipped(f"readapi/{name}.item.schema.json")

    def openapi(self) -> OpenApiContract:
        """The service's own OpenAPI document (``openapi_path``, default /openapi.json), loaded once."""
        __tracebackhide__ = True
        with self._lock:
            if self._openapi is None:
                self._openapi = OpenApiContract.from_fetch(self.call(self.openapi_path).fetch)
            return self._openapi

    @property
    def openapi_path(self) -> str:
        return str(self.cfg.get("openapi_path") or OPENAPI_PATH)

    def stream_schema(self, name: str) -> str | None:
        cfg = self.stream(name)
        return cfg.get("schema") or _shipped(f"readapi/sse-{cfg['event']}.schema.json")

    def read_only(self) -> tuple[list[str], list[str]]:
        """(methods, paths) of the read-only check: default all four, every endpoint's path."""
        cfg = self.cfg.get("read_only") or {}
        paths = cfg.get("paths") or list(dict.fromkeys(ep["path"] for ep in self.endpoints().values()))
        return list(cfg.get("methods") or WRITE_METHODS), paths

    def allowlist(self) -> dict[str, Any]:
        cfg = dict(self.cfg.get("allowlist") or {})
        cfg.setdefault("listed_address", self.source)
        cfg.setdefault("refused_status", [403])
        return cfg

    def trusted_address(self) -> str:
        """The address a forged forwarding header claims: the allowlisted one when an allowlist is
        configured, else loopback (what a service most often trusts as "internal")."""
        if self.cfg.get("allowlist"):
            listed = self.allowlist().get("listed_address")
            if listed:
                return str(listed)
        return "127.0.0.1"

    def protected_path(self) -> str | None:
        """Where the access-control checks knock: auth.path, else the first endpoint but health."""
        if self.auth and self.auth.get("path"):
            return str(self.auth["path"])
        for name, ep in self.endpoints().items():
            if name != "health":
                return query(ep["path"], ep.get("params"))
        return None

    # --- requests -----------------------------------------------------------------------------

    def http(self, source: str | None = None) -> HttpTarget:
        """One pooled client per source address (the allowlisted one, or the outside one)."""
        source = source or self.source
        with self._lock:
            if source not in self._clients:
                self._clients[source] = HttpTarget(
                    self.base_url, timeouts=self.target.timeouts, body_limit=self.target.body_limit,
                    headers=self.cfg.get("headers"), verify=self._verify, local_address=source)
            return self._clients[source]

    def credentials(self, which: str) -> dict[str, str]:
        if which == NONE or not self.auth:
            return {}
        password = self.auth["password"] if which == RIGHT else WRONG_PASSWORD
        return {"Authorization": basic(self.auth["username"], password)}

    def curl(self, path: str, *, method: str = "GET", which: str = RIGHT, source: str | None = None,
             headers: Mapping[str, str] | None = None, stream_s: float | None = None) -> list[str]:
        """The curl command for a request: ``-u user:password`` (written back as $VARs), the
        source address as ``--interface``; ``stream_s`` makes it an SSE read of that long."""
        limits = self.target.timeouts
        argv = ["curl", "-sS", "-i", "--max-time", f"{stream_s or limits.total:g}"]
        if stream_s:
            argv += ["-N", "-H", "Accept: text/event-stream"]
        if source or self.source:
            argv += ["--interface", str(source or self.source)]
        if which != NONE and self.auth:
            password = self.auth["password"] if which == RIGHT else WRONG_PASSWORD
            argv += ["-u", f"{self.auth['username']}:{password}"]
        if method != "GET":
            argv += ["-X", method]
        for name, value in {**(self.cfg.get("headers") or {}), **(headers or {})}.items():
            argv += ["-H", f"{name}: {value}"]
        return [*argv, f"{self.base_url}{path}"]

    def call(self, path: str, *, method: str = "GET", which: str = RIGHT, source: str | None = None,
             headers: Mapping[str, str] | None = None) -> Call:
        """One request, made once per run for the same method, path, credentials and source."""
        key = (method, path, which, source, tuple(sorted((headers or {}).items())))
        if key not in self._calls:
            fetch = self.http(source).fetch(path, method=method,
                                            headers={**self.credentials(which), **(headers or {})})
            self._calls[key] = Call(fetch, self.curl(path, method=method, which=which, source=source,
                                                     headers=headers))
        return self._calls[key]

    def get(self, name: str) -> Call:
        """An endpoint of the profile, with its parameters and the right credentials."""
        ep = self.endpoint(name)
        return self.call(query(ep["path"], ep.get("params")))

    # --- streams ------------------------------------------------------------------------------

    def _read(self, name: str, *, deadline_s: float, stop: bool, last_event_id: str = "") -> Reading:
        cfg = self.stream(name)
        return read_stream(self.http(), cfg["path"], deadline_s=deadline_s, max_bytes=cfg["max_bytes"],
                           stop_on=cfg["event"] if stop else None, headers=self.credentials(RIGHT),
                           last_event_id=last_event_id)

    def _prefetch(self, kind: str, make: Callable[[str], Callable[[], Reading]]) -> None:
        """Start ``kind`` readings of every stream at once: their waits overlap, not add up."""
        with self._lock:
            for name in self.cfg.get("streams") or {}:
                if (kind, name) not in self._streams:
                    self._streams[(kind, name)] = _background(make(name))

    def first_event(self, name: str) -> Reading:
        """Read until the stream's expected event arrives, for at most within_s."""
        self._prefetch("first", lambda n: lambda: self._read(
            n, deadline_s=self.stream(n)["within_s"], stop=True))
        return self._streams[("first", name)].result()

    def start_windows(self) -> None:
        """Start watching every stream now: the windows pass while the other checks run."""
        self._prefetch("window", lambda n: lambda: self._read(
            n, deadline_s=self.stream(n).get("observe_s") or self.stream(n)["within_s"], stop=False))

    def window(self, name: str) -> Reading:
        """Read the stream for observe_s whatever arrives: the gaps between events and keep-alives."""
        self.start_windows()
        return self._streams[("window", name)].result()

    def resumed(self, name: str, last_event_id: str) -> Reading:
        """Reconnect with Last-Event-ID and read until the expected event arrives (within_s)."""
        key = ("resume", name)
        with self._lock:
            if key not in self._streams:
                self._streams[key] = _background(lambda: self._read(
                    name, deadline_s=self.stream(name)["within_s"], stop=True,
                    last_event_id=last_event_id))
        return self._streams[key].result()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

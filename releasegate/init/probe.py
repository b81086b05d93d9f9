"""What a live target serves, found read-only (after goss's `autoadd`): the starting point of a profile.

Only GET requests, and for MCP ``initialize``, ``notifications/initialized``, ``tools/list`` and
the session's DELETE — never a tool call. Every answer is read for what is stable about the
service (which endpoints exist, which checks the readiness answer lists, the tools and their
read-only hints, the metric families); what changes between deploys or requests (build_id,
config_hash, timestamps, counters) is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from releasegate.core.profile import Timeouts
from releasegate.mcp.client import McpClient
from releasegate.mcp.transport import McpTransport

TIMEOUT_S = 5.0
BODY_LIMIT = 4 * 1024 * 1024
HEALTH_PATHS = {"live": "/healthz/live", "ready": "/healthz/ready", "startup": "/healthz/startup"}
LEGACY_PATH = "/healthz"  # 004's legacy probe
RELEASE_PATH = "/health/ready"  # 002 §2.1
OPENAPI_PATHS = ("/openapi.json", "/api/openapi.json", "/v3/api-docs")
METRICS_PATH = "/metrics"
MCP_PATH = "/mcp"
_FAMILY = re.compile(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary)", re.M)


@dataclass
class Findings:
    """Everything init learned, and what it could not decide (written as TODO comments)."""

    base_url: str
    probes: dict[str, str] = field(default_factory=dict)  # kind -> path
    environment: str | None = None
    legacy: bool = False
    release_checks: list[str] | None = None  # None: no /health/ready with build_id
    mcp: dict[str, Any] | None = None
    metrics: list[dict[str, str]] | None = None
    openapi_path: str | None = None
    get_paths: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (path, status)
    streams: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # "GET /x -> 200", for the profile's header


def _json(response: httpx.Response | None) -> Any:
    if response is None or "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


class Prober:
    """GETs against one base URL with the given headers; never raises for a target's answer."""

    def __init__(self, base_url: str, headers: Mapping[str, str], findings: Findings) -> None:
        self.base_url = base_url.rstrip("/")
        self.findings = findings
        self.client = httpx.Client(headers=dict(headers), timeout=TIMEOUT_S, trust_env=False,
                                   follow_redirects=False)

    def get(self, path: str) -> httpx.Response | None:
        try:
            with self.client.stream("GET", self.base_url + path) as response:
                if "text/event-stream" in response.headers.get("content-type", ""):
                    self.findings.seen.append(f"GET {path} -> {response.status_code} (event stream)")
                    return response  # not read: a stream never ends
                response.read()
        except httpx.HTTPError as exc:
            self.findings.seen.append(f"GET {path} -> no answer ({type(exc).__name__})")
            return None
        self.findings.seen.append(f"GET {path} -> {response.status_code}")
        return response

    def close(self) -> None:
        self.client.close()


def _health(prober: Prober, found: Findings) -> None:
    for kind, path in HEALTH_PATHS.items():
        response = prober.get(path)
        if response is not None and response.status_code in (200, 503) and _json(response) is not None:
            found.probes[kind] = path
            body = _json(response)
            if kind == "ready" and isinstance(body, Mapping) and isinstance(body.get("environment"), str):
                found.environment = body["environment"]
    legacy = prober.get(LEGACY_PATH)
    found.legacy = legacy is not None and legacy.status_code == 200 and _json(legacy) is not None
    release = _json(prober.get(RELEASE_PATH))
    if isinstance(release, Mapping) and release.get("build_id"):
        checks = release.get("checks")
        found.release_checks = sorted(checks) if isinstance(checks, Mapping) else []
        found.todo.append("health.release: build_id changes with every deploy — pass it as "
                          "--expect-build git:<sha>; config_hash too, add it when it is pinned")


def _metrics(prober: Prober, found: Findings) -> None:
    response = prober.get(METRICS_PATH)
    kind = response.headers.get("content-type", "") if response is not None else ""
    if response is None or response.status_code != 200 or not ("text/plain" in kind or "openmetrics" in kind):
        return
    families = [{"name": n, "type": t} for n, t in _FAMILY.findall(response.text)
                if not n.startswith(("python_", "process_")) and not n.endswith("_created")]
    found.metrics = families[:30]
    if len(families) > 30:
        found.todo.append(f"metrics.families: {len(families) - 30} more families exported; "
                          "list the ones your alerts need")


def _openapi(prober: Prober, found: Findings) -> None:
    for path in OPENAPI_PATHS:
        document = _json(prober.get(path))
        if isinstance(document, Mapping) and ("openapi" in document or "swagger" in document):
            found.openapi_path = path
            break
    else:
        return
    for route, ops in (document.get("paths") or {}).items():
        get = ops.get("get") if isinstance(ops, Mapping) else None
        if not isinstance(get, Mapping):
            continue
        streams = any("text/event-stream" in (r.get("content") or {})
                      for r in (get.get("responses") or {}).values() if isinstance(r, Mapping))
        if "{" in route:
            found.todo.append(f"versioning.endpoints: GET {route} takes path parameters: give a "
                              "concrete path to check it")
            continue
        if streams:
            found.streams.append(route)
            continue
        response = prober.get(route)
        name = re.sub(r"[^a-z0-9]+", "_", route.lower()).strip("_") or "root"
        if response is not None:
            found.get_paths[name] = (route, response.status_code)


def _mcp(url: str, headers: Mapping[str, str], found: Findings) -> None:
    """initialize + tools/list on ``url``; nothing else is sent (no tool is ever called)."""
    transport = McpTransport(url, timeouts=Timeouts(2.0, TIMEOUT_S, TIMEOUT_S * 2),
                             body_limit=BODY_LIMIT, headers=headers)
    client = McpClient(transport)
    try:
        reply = client.initialize()
        found.seen.append(f"MCP initialize {url} -> {reply.status}")
        if reply.status != 200 or client.negotiated is None:
            if reply.status in (401, 403):
                found.todo.append(f"mcp: {url} answered {reply.status} to initialize: give its "
                                  "credentials with --header 'Authorization: Bearer ${MCP_TOKEN}'")
            return
        client.initialized()
        listing = client.list_tools()
        tools = listing.tools if listing.problem is None else []
        read_only = [str(t.get("name")) for t in tools
                     if isinstance(t.get("annotations"), Mapping) and t["annotations"].get("readOnlyHint")]
        found.mcp = {"url": url, "stateful": client.session_id is not None,
                     "revision": client.negotiated, "tools": [str(t.get("name")) for t in tools],
                     "read_only": read_only}
        unhinted = sorted(set(found.mcp["tools"]) - set(read_only))
        if unhinted:
            found.todo.append(f"mcp.allow_tools: {', '.join(unhinted)} carry no readOnlyHint: "
                              "allow them only if they change nothing")
        found.todo.append("mcp.calls: init calls no tool; add the calls your runbook names "
                          "(with arguments), and mcp.pass_rule")
        if client.session_id:
            client.delete()
    finally:
        transport.close()


def _mcp_candidates(urls: list[str]) -> list[str]:
    """The MCP endpoint: a URL given with a path (http://host/mcp), else base URL + /mcp."""
    given = [u for u in urls[1:]] + [urls[0].rstrip("/") + MCP_PATH]
    return [u for u in given if urlsplit(u).path not in ("", "/")] or given


def discover(urls: Iterable[str], headers: Mapping[str, str]) -> Findings:
    """Probe the service at ``urls[0]`` (and an MCP endpoint among the others)."""
    urls = list(urls)
    found = Findings(base_url=urls[0].rstrip("/"))
    prober = Prober(urls[0], headers, found)
    try:
        _health(prober, found)
        _metrics(prober, found)
        _openapi(prober, found)
    finally:
        prober.close()
    for candidate in _mcp_candidates(urls):
        _mcp(candidate, headers, found)
        if found.mcp:
            break
    if not found.probes:
        found.todo.append("health.probes: none of /healthz/live|ready|startup answered JSON; "
                          "name your service's probes")
    return found


__all__ = ["Findings", "discover"]

"""The MCP server of a target: talked to once per run, read by many checks.

``McpEndpoint`` is the engine (like releasegate.health.probes.HealthEndpoints): it makes the handshake,
lists the tools and makes each configured call at most once per run, and makes the conformance
probes the checks ask for. ``McpView`` is what one check uses: the same engine, recording the
exchanges that check judged as its own evidence, and turning "cannot judge" into N/A and "the
server misbehaved" into a one-line failure with the runbook's remedy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from releasegate.core.errors import CheckFailed, NotApplicable
from releasegate.core.evidence import Evidence
from releasegate.core.extras import installed
from releasegate.core.profile import Target
from releasegate.core.redact import Redactor, is_credential_key
from releasegate.mcp import jsonrpc
from releasegate.mcp.client import (
    CLIENT_INFO,
    LATEST_MODERN,
    LATEST_SESSION,
    MODERN_REVISIONS,
    SESSION_HEADER,
    SESSION_REVISIONS,
    VERSION_HEADER,
    McpClient,
    ToolListing,
)
from releasegate.mcp.config import AUTO, CallSpec, McpConfig
from releasegate.mcp.remedies import remedy_for
from releasegate.mcp.sdk_check import BackgroundSdkRun, SdkOutcome, SdkRequest, run_sdk_client
from releasegate.mcp.transport import McpReply, McpTransport

UNKNOWN_SESSION = "releasegate-unknown-session-0000"  # visible ASCII, never issued by anyone
UNKNOWN_METHOD = "releasegate/no-such-method"
BAD_VERSION = "1999-01-01"


@dataclass
class Handshake:
    """How the server answered the opening of a conversation, in each era the profile allows."""

    expect_session: bool
    expect_modern: bool
    session_required: bool = True  # mcp.stateful: a broken initialize is a failure, never N/A
    session: McpClient | None = None
    initialize: McpReply | None = None
    initialized: McpReply | None = None
    session_problem: str | None = None
    modern: McpClient | None = None
    discover: McpReply | None = None
    speaks_modern: bool = False
    modern_reason: str = ""

    @property
    def session_ok(self) -> bool:
        return self.session is not None and self.session_problem is None

    @property
    def modern_ok(self) -> bool:
        """The server speaks 2026-07-28 and answered server/discover with a result."""
        return self.speaks_modern and self.discover is not None and isinstance(
            self.discover.result, Mapping) and self.discover.status == 200

    @property
    def modern_only(self) -> bool:
        """Auto mode, a profile that does not require the session, and a server that answers
        only the sessionless revision."""
        return (self.expect_session and self.expect_modern and not self.session_required
                and not self.session_ok and self.modern_ok)

    @property
    def primary(self) -> McpClient | None:
        """The conversation tool checks use: the session when there is one, else 2026-07-28."""
        if self.session_ok:
            return self.session
        if self.modern_ok and (self.modern_only or not self.expect_session):
            return self.modern
        return None


class McpEndpoint:
    """The MCP endpoint of one target; handshake, tools/list and each call made at most once."""

    def __init__(self, config: McpConfig, target: Target, redactor: Redactor,
                 transport: McpTransport | None = None) -> None:
        self.config = config
        self.target = target
        self.transport = transport or McpTransport(
            config.url, timeouts=target.timeouts, body_limit=target.body_limit,
            headers=config.headers, verify=config.verify)
        self._secrets = redactor.secrets
        self._env = dict(target.env)
        self._session_ids: set[str] = set()
        self._cache: dict[str, Any] = {}
        self._sdk: BackgroundSdkRun | None = None

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # --- evidence ---------------------------------------------------------------------------

    def remember_session(self, client: McpClient) -> None:
        if client.session_id:
            self._session_ids.add(client.session_id)

    def redactor(self) -> Redactor:
        """The run's redactor, plus the session ids seen: masked, and "$MCP_SESSION_ID" in curl."""
        ids = {sid: "MCP_SESSION_ID" for sid in self._session_ids}
        return Redactor(self._secrets | set(ids), env={**self._env, **ids})

    def exchange(self, reply: McpReply) -> Any:
        return reply.exchange(self.redactor(), [*self._env, *self._session_ids])

    # --- the conversation ---------------------------------------------------------------------

    def handshake(self) -> Handshake:
        return self._once("handshake", self._handshake)

    def _handshake(self) -> Handshake:
        revision = self.config.revision
        h = Handshake(expect_session=revision == AUTO or revision in SESSION_REVISIONS,
                      expect_modern=revision == AUTO or revision in MODERN_REVISIONS,
                      session_required=self.config.stateful)
        if h.expect_session:
            h.session = McpClient(self.transport, era="session",
                                  version=LATEST_SESSION if revision == AUTO else revision)
            h.initialize = h.session.initialize()
            self.remember_session(h.session)
            h.session_problem = self._initialize_problem(h.initialize, h.session)
            if h.session_problem is None:
                h.initialized = h.session.initialized()
        if h.expect_modern:
            h.modern = McpClient(self.transport, era="modern",
                                 version=LATEST_MODERN if revision == AUTO else revision)
            h.discover = h.modern.discover()
            h.speaks_modern, h.modern_reason = _speaks_modern(h.discover)
        return h

    def _initialize_problem(self, reply: McpReply, client: McpClient) -> str | None:
        if reply.problem or reply.status != 200 or reply.message is None or reply.error:
            return f"{reply.label} answered {reply.describe()}"
        result = reply.result
        if not isinstance(result, Mapping):
            return f"{reply.label}: the result is not an object"
        version = result.get("protocolVersion")
        pinned = self.config.revision if self.config.revision != AUTO else None
        if not isinstance(version, str):
            return f"{reply.label}: the result has no protocolVersion"
        if pinned and version != pinned:
            return (f"{reply.label}: the server negotiated revision {version}, the profile expects "
                    f"{pinned} (mcp.revision)")
        if version not in SESSION_REVISIONS:
            return (f"{reply.label}: the server negotiated revision {version!r}, which the session "
                    f"handshake does not define (offered {client.version})")
        if not isinstance(result.get("capabilities"), Mapping):
            return f"{reply.label}: the result has no capabilities object"
        info = result.get("serverInfo")
        if not isinstance(info, Mapping) or not isinstance(info.get("name"), str):
            return f"{reply.label}: the result has no serverInfo.name"
        return None

    def tools(self) -> ToolListing:
        client = self.handshake().primary
        assert client is not None
        return self._once("tools", client.list_tools)

    def call(self, spec: CallSpec) -> McpReply:
        client = self.handshake().primary
        assert client is not None and self.config.forbidden(spec.tool) is None

        def make() -> McpReply:
            tool = self.tools().by_name().get(spec.tool) if client.era == "modern" else None
            return client.call_tool(spec.tool, spec.arguments, (tool or {}).get("inputSchema"))

        return self._once(f"call:{spec.id}", make)

    # --- the official SDK client (test_real_client) ---------------------------------------------

    def sdk_request(self) -> SdkRequest | None:
        """The SDK's conversation: the era tools go through, the first configured call."""
        client = self.handshake().primary
        if client is None or not self.config.calls or self.config.forbidden(self.config.calls[0].tool):
            return None
        spec, limits = self.config.calls[0], self.target.timeouts
        return SdkRequest(self.config.url, dict(self.config.headers), self.config.verify,
                          timeout_s=limits.read, deadline_s=limits.total, tool=spec.tool,
                          arguments=dict(spec.arguments),
                          modern_version=client.version if client.era == "modern" else None)

    def prestart_sdk(self) -> None:
        """Start the SDK conversation in a child process now, to overlap the other checks."""
        request = self.sdk_request()
        if request is not None and self._sdk is None and installed("mcp", "httpx2"):  # else N/A
            self._sdk = BackgroundSdkRun(request)

    def sdk_outcome(self, request: SdkRequest) -> SdkOutcome:
        if self._sdk is not None and self._sdk.request == request:
            return self._sdk.outcome()
        return run_sdk_client(request)

    # --- conformance probes (each made for the one check that asks) ----------------------------

    def probe_accept_json_only(self, client: McpClient) -> McpReply:
        return client.request("tools/list", {"cursor": None},
                              label="MCP tools/list with Accept: application/json only",
                              headers={"Accept": "application/json"})

    def probe_without_session(self, client: McpClient) -> McpReply:
        return client.request("tools/list", {"cursor": None},
                              label="MCP tools/list without mcp-session-id", drop=[SESSION_HEADER])

    def probe_unknown_session(self, client: McpClient) -> McpReply:
        return client.request("tools/list", {"cursor": None},
                              label="MCP tools/list with an unknown mcp-session-id",
                              headers={SESSION_HEADER: UNKNOWN_SESSION}, made_up=[SESSION_HEADER])

    def probe_params_not_object(self, client: McpClient) -> McpReply:
        return client.request("tools/list", [], label="MCP tools/list with params []",
                              header_params={})

    def probe_unknown_method(self, client: McpClient) -> McpReply:
        return client.request(UNKNOWN_METHOD, {}, label=f"MCP {UNKNOWN_METHOD} (unknown method)")

    def probe_bad_version(self, client: McpClient) -> McpReply:
        return client.request("tools/list", {"cursor": None},
                              label=f"MCP tools/list with MCP-Protocol-Version: {BAD_VERSION}",
                              headers={VERSION_HEADER: BAD_VERSION})

    def probe_foreign_origin(self, client: McpClient) -> McpReply:
        return client.request("tools/list", {"cursor": None},
                              label=f"MCP tools/list with Origin: {self.config.origin}",
                              headers={"Origin": self.config.origin})

    def probe_get(self, client: McpClient) -> McpReply:
        """GET the endpoint; only the status and content type are read (the stream may not end)."""
        return self.transport.send("MCP GET (server-to-client stream)", method="GET",
                                   headers={**client.headers_for("", None),
                                            "Accept": "text/event-stream"}, read_body=False)

    def probe_delete(self) -> tuple[list[McpReply], McpClient]:
        """A session of its own: initialize, initialized, DELETE, then a request with its id."""
        client = McpClient(self.transport, era="session", version=self.handshake().session.version)
        replies = [client.initialize()]
        self.remember_session(client)
        if not client.session_id:
            return replies, client
        replies.append(client.initialized())
        replies.append(client.delete())
        replies.append(client.request("tools/list", {"cursor": None},
                                      label="MCP tools/list on the deleted session"))
        return replies, client

    def probe_unauthenticated(self) -> McpReply:
        """The opening request without the profile's credentials (Authorization, API keys, …)."""
        drop = [name for name in self.config.headers if is_credential_key(name)] or ["Authorization"]
        h = self.handshake()
        if h.primary is h.modern and h.modern is not None:
            return h.modern.request("server/discover", {}, label="MCP server/discover without credentials",
                                    drop=drop)
        params = {"protocolVersion": LATEST_SESSION, "capabilities": {}, "clientInfo": CLIENT_INFO}
        return McpClient(self.transport).request("initialize", params, drop=drop,
                                                 label="MCP initialize without credentials")

    def probe_modern(self, case: str, client: McpClient) -> McpReply:
        """2026-07-28 rejections: header/body mismatch, unsupported version, unknown method, GET."""
        if case == "header_mismatch":
            return client.request("tools/list", {"cursor": None},
                                  headers={"Mcp-Method": "server/discover"},
                                  label="MCP tools/list with Mcp-Method: server/discover")
        if case == "unsupported_version":
            odd = McpClient(self.transport, era="modern", version=BAD_VERSION)
            return odd.request("tools/list", {"cursor": None},
                               label=f"MCP tools/list at protocol version {BAD_VERSION}")
        if case == "unknown_method":
            return client.request(UNKNOWN_METHOD, {}, label=f"MCP {UNKNOWN_METHOD} (2026-07-28)")
        if case == "get":
            return self.transport.send("MCP GET at 2026-07-28", method="GET", read_body=False,
                                       headers={VERSION_HEADER: client.version,
                                                "Accept": "text/event-stream"})
        raise ValueError(case)

    def close(self) -> None:
        """End the run's session (SHOULD, Transports §Session Management 5), then the connections."""
        h = self._cache.get("handshake")
        try:
            if self._sdk is not None:
                self._sdk.close()
            if h is not None and h.session is not None and h.session.session_id:
                h.session.delete()
        finally:
            self.transport.close()


def _speaks_modern(reply: McpReply) -> tuple[bool, str]:
    """2026-07-28 'Backward Compatibility': a result, or a recognized modern error, means modern."""
    result = reply.result
    if reply.status == 200 and isinstance(result, Mapping) and "supportedVersions" in result:
        return True, "answers server/discover"
    error = reply.error
    if error is not None and reply.status in (400, 404):
        code = error.get("code")
        if code in jsonrpc.MODERN_ERRORS or (reply.status == 404 and code == jsonrpc.METHOD_NOT_FOUND):
            return True, f"answers server/discover with {jsonrpc.describe_error(error)}"
    return False, f"server/discover answered {reply.describe()}"


class McpView:
    """What one check uses: the shared endpoint, recording this check's exchanges."""

    def __init__(self, endpoint: McpEndpoint, evidence: Evidence) -> None:
        self.endpoint = endpoint
        self.evidence = evidence
        self.config = endpoint.config

    def record(self, *replies: McpReply | None) -> None:
        for reply in replies:
            if reply is not None:
                self.evidence.exchange(self.endpoint.exchange(reply))

    # --- what a check needs, or N/A, or the failure that prevents it ----------------------------

    def handshake(self) -> Handshake:
        return self.endpoint.handshake()

    def session(self) -> McpClient:
        """The session-era conversation; N/A when the profile or the server is sessionless."""
        __tracebackhide__ = True
        h = self.handshake()
        if not h.expect_session:
            raise NotApplicable(f"mcp.revision is {self.config.revision}: "
                                "the session revisions' rules are N/A")
        if h.modern_only:
            self.record(h.initialize)
            raise NotApplicable(f"the server speaks only 2026-07-28 ({h.modern_reason}; "
                        f"initialize answered {h.initialize.describe() if h.initialize else 'nothing'})")
        if h.session_problem:
            self.record(h.initialize)
            raise CheckFailed(f"MCP session could not start: {h.session_problem}",
                              remedy=remedy_for(h.initialize) if h.initialize else None,
                              cause=h.initialize.key if h.initialize else None)
        assert h.session is not None
        return h.session

    def stateful_session(self) -> McpClient:
        """A session the server issued an id for; N/A when it issued none (it is not stateful)."""
        __tracebackhide__ = True
        client = self.session()
        if not client.session_id:
            raise NotApplicable("the server issued no mcp-session-id, so it keeps no session to enforce "
                        "(test_session_id_issued judges whether it should)")
        return client

    def modern(self) -> McpClient:
        """The 2026-07-28 conversation; N/A unless the server speaks that revision."""
        __tracebackhide__ = True
        h = self.handshake()
        if not h.expect_modern:
            raise NotApplicable(f"mcp.revision is {self.config.revision}: 2026-07-28 rules are N/A")
        if not h.speaks_modern:
            self.record(h.discover)
            raise NotApplicable(f"the server does not speak 2026-07-28 ({h.modern_reason})")
        assert h.modern is not None
        return h.modern

    def primary(self) -> McpClient:
        """The conversation tools are judged through; fails when neither era could start."""
        __tracebackhide__ = True
        h = self.handshake()
        client = h.primary
        if client is not None:
            return client
        if h.expect_session and h.initialize is not None:
            self.session()  # raises the handshake failure
        reply = h.discover
        self.record(reply)
        detail = reply.describe() if reply else "nothing"
        raise CheckFailed(f"MCP server/discover answered {detail}: no conversation could start",
                          remedy=remedy_for(reply) if reply else None,
                          cause=reply.key if reply else None)

    def declares_tools(self) -> McpClient:
        """The primary conversation, N/A when the server declared no tools capability."""
        __tracebackhide__ = True
        client = self.primary()
        if client.server_capabilities is not None and "tools" not in client.server_capabilities:
            raise NotApplicable("the server declares no tools capability "
                        f"(capabilities: {', '.join(client.server_capabilities) or 'none'})")
        return client

    def tools(self) -> ToolListing:
        __tracebackhide__ = True
        self.declares_tools()
        listing = self.endpoint.tools()
        self.record(*listing.pages)
        if listing.problem:
            failed = listing.failed
            raise CheckFailed(listing.problem, remedy=remedy_for(failed) if failed else None,
                              cause=failed.key if failed else None)
        self.evidence.note(tools=len(listing.tools), pages=len(listing.pages))
        return listing

    def call(self, spec: CallSpec) -> McpReply:
        """The configured call's shared answer; never a tool the profile does not allow."""
        __tracebackhide__ = True
        forbidden = self.config.forbidden(spec.tool)
        if forbidden:
            raise CheckFailed(f"mcp.calls {spec.id}: {forbidden}")
        self.declares_tools()
        reply = self.endpoint.call(spec)
        self.record(reply)
        return reply

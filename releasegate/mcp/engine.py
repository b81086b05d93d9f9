"""The MCP server of a target: talked to once per run, read by many checks.

``McpEndpoint`` is the engine (like releasegate.health.probes.HealthEndpoints): it opens the
conversation (``handshake``), lists the tools and makes each configured call at most once per
run, runs the official SDK's client beside it, and makes the conformance probes (``probes``) the
checks ask for. ``releasegate.mcp.view.McpView`` is what one check uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from releasegate.core.extras import installed
from releasegate.core.profile import Target
from releasegate.core.redact import Redactor
from releasegate.mcp.client import McpClient, ToolListing
from releasegate.mcp.config import CallSpec, McpConfig
from releasegate.mcp.handshake import Handshake, open_handshake
from releasegate.mcp.probes import ConformanceProbes
from releasegate.mcp.sdk_check import BackgroundSdkRun, SdkOutcome, SdkRequest, run_sdk_client
from releasegate.mcp.transport import McpReply, McpTransport


class McpEndpoint(ConformanceProbes):
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
        return self._once("handshake", lambda: open_handshake(
            self.config, self.transport, self.remember_session))

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

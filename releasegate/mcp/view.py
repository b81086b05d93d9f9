"""What one MCP check uses: the run's shared engine, recording the exchanges it judged.

``McpView`` turns "cannot judge" into N/A (NotApplicable) and "the server misbehaved" into a
one-line failure with the runbook's remedy; the conversation itself is the engine's, made once.
"""

from __future__ import annotations

from releasegate.core.errors import CheckFailed, NotApplicable
from releasegate.core.evidence import Evidence
from releasegate.mcp.client import McpClient, ToolListing
from releasegate.mcp.config import CallSpec
from releasegate.mcp.engine import McpEndpoint
from releasegate.mcp.handshake import Handshake
from releasegate.mcp.remedies import remedy_for
from releasegate.mcp.transport import McpReply


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

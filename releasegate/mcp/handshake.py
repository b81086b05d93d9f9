"""Opening a conversation with an MCP server, in each era the profile allows.

Session revisions: ``initialize`` then ``notifications/initialized`` (Lifecycle §Initialization);
2026-07-28: ``server/discover`` ('Backward Compatibility' says how to tell it speaks that
revision). The answers are kept as they came: the handshake checks judge them, the others use
the conversation that started.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from releasegate.mcp import jsonrpc
from releasegate.mcp.client import (
    LATEST_MODERN,
    LATEST_SESSION,
    MODERN_REVISIONS,
    SESSION_REVISIONS,
    McpClient,
)
from releasegate.mcp.config import AUTO, McpConfig
from releasegate.mcp.transport import McpReply, McpTransport


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


def open_handshake(config: McpConfig, transport: McpTransport,
                   remember: Callable[[McpClient], None]) -> Handshake:
    """initialize + notifications/initialized, and server/discover, as far as the profile's
    revision allows; what each answered is kept for the checks that judge it."""
    revision = config.revision
    h = Handshake(expect_session=revision == AUTO or revision in SESSION_REVISIONS,
                  expect_modern=revision == AUTO or revision in MODERN_REVISIONS,
                  session_required=config.stateful)
    if h.expect_session:
        h.session = McpClient(transport, era="session",
                              version=LATEST_SESSION if revision == AUTO else revision)
        h.initialize = h.session.initialize()
        remember(h.session)
        h.session_problem = initialize_problem(h.initialize, h.session, config.revision)
        if h.session_problem is None:
            h.initialized = h.session.initialized()
    if h.expect_modern:
        h.modern = McpClient(transport, era="modern",
                             version=LATEST_MODERN if revision == AUTO else revision)
        h.discover = h.modern.discover()
        h.speaks_modern, h.modern_reason = speaks_modern(h.discover)
    return h

def initialize_problem(reply: McpReply, client: McpClient, revision: str) -> str | None:
    """Why the initialize answer does not open a session (None when it does)."""
    if reply.problem or reply.status != 200 or reply.message is None or reply.error:
        return f"{reply.label} answered {reply.describe()}"
    result = reply.result
    if not isinstance(result, Mapping):
        return f"{reply.label}: the result is not an object"
    version = result.get("protocolVersion")
    pinned = revision if revision != AUTO else None
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


def speaks_modern(reply: McpReply) -> tuple[bool, str]:
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

"""The conformance probes: each one deliberately odd request, made for the one check that asks.

Every probe sends only what the revision's schema allows apart from the one thing it tests:
tools/list goes out with params ``{}`` (``cursor`` is an optional *string* in every revision's
schema.ts, ListToolsRequest → PaginatedRequestParams; a JSON null is not a string, and the
TypeScript SDK refuses it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from releasegate.core.redact import is_credential_key
from releasegate.mcp.client import (
    CLIENT_INFO,
    LATEST_SESSION,
    SESSION_HEADER,
    VERSION_HEADER,
    McpClient,
)
from releasegate.mcp.config import McpConfig
from releasegate.mcp.transport import McpReply, McpTransport

if TYPE_CHECKING:
    from releasegate.mcp.handshake import Handshake

UNKNOWN_SESSION = "releasegate-unknown-session-0000"  # visible ASCII, never issued by anyone
UNKNOWN_METHOD = "releasegate/no-such-method"
BAD_VERSION = "1999-01-01"
LIST_PARAMS: dict[str, str] = {}  # the first page: no cursor (schema.ts PaginatedRequestParams)


class ConformanceProbes:
    """Mixed into the engine: the probes use its transport, profile, handshake and session log."""

    config: McpConfig
    transport: McpTransport
    handshake: Callable[[], Handshake]
    remember_session: Callable[[McpClient], None]

    def probe_accept_json_only(self, client: McpClient) -> McpReply:
        return client.request("tools/list", LIST_PARAMS,
                              label="MCP tools/list with Accept: application/json only",
                              headers={"Accept": "application/json"})

    def probe_without_session(self, client: McpClient) -> McpReply:
        return client.request("tools/list", LIST_PARAMS,
                              label="MCP tools/list without mcp-session-id", drop=[SESSION_HEADER])

    def probe_unknown_session(self, client: McpClient) -> McpReply:
        return client.request("tools/list", LIST_PARAMS,
                              label="MCP tools/list with an unknown mcp-session-id",
                              headers={SESSION_HEADER: UNKNOWN_SESSION}, made_up=[SESSION_HEADER])

    def probe_params_not_object(self, client: McpClient) -> McpReply:
        return client.request("tools/list", [], label="MCP tools/list with params []",
                              header_params={})

    def probe_unknown_method(self, client: McpClient) -> McpReply:
        return client.request(UNKNOWN_METHOD, {}, label=f"MCP {UNKNOWN_METHOD} (unknown method)")

    def probe_bad_version(self, client: McpClient) -> McpReply:
        return client.request("tools/list", LIST_PARAMS,
                              label=f"MCP tools/list with MCP-Protocol-Version: {BAD_VERSION}",
                              headers={VERSION_HEADER: BAD_VERSION})

    def probe_foreign_origin(self, client: McpClient) -> McpReply:
        return client.request("tools/list", LIST_PARAMS,
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
        replies.append(client.request("tools/list", LIST_PARAMS,
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
            return client.request("tools/list", LIST_PARAMS,
                                  headers={"Mcp-Method": "server/discover"},
                                  label="MCP tools/list with Mcp-Method: server/discover")
        if case == "unsupported_version":
            odd = McpClient(self.transport, era="modern", version=BAD_VERSION)
            return odd.request("tools/list", LIST_PARAMS,
                               label=f"MCP tools/list at protocol version {BAD_VERSION}")
        if case == "unknown_method":
            return client.request(UNKNOWN_METHOD, {}, label=f"MCP {UNKNOWN_METHOD} (2026-07-28)")
        if case == "get":
            return self.transport.send("MCP GET at 2026-07-28", method="GET", read_body=False,
                                       headers={VERSION_HEADER: client.version,
                                                "Accept": "text/event-stream"})
        raise ValueError(case)

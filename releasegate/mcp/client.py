"""The MCP client on the wire: the session revisions' handshake, or 2026-07-28's envelope.

Session revisions (2025-03-26, 2025-06-18, 2025-11-25): ``initialize``, capture the
``mcp-session-id`` the server issues, ``notifications/initialized``, then every request carries the
session id and (from 2025-06-18) ``MCP-Protocol-Version``; DELETE ends the session.

2026-07-28 is sessionless: no handshake; every request carries ``_meta`` with the protocol
version, client info and capabilities, and the headers ``MCP-Protocol-Version``, ``Mcp-Method``
and ``Mcp-Name`` (tools/call) mirror the body; ``server/discover`` says what the server speaks.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from releasegate import __version__
from releasegate.mcp import jsonrpc
from releasegate.mcp.transport import McpReply, McpTransport

# The revisions a streamable-HTTP client meets, oldest first. 2024-11-05 is negotiable through
# initialize (the SDKs still accept it) and follows 2025-03-26's rules on this transport.
SESSION_REVISIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
HEADER_REVISIONS = ("2025-06-18", "2025-11-25")  # MCP-Protocol-Version header defined
MODERN_REVISIONS = ("2026-07-28",)
LATEST_SESSION = SESSION_REVISIONS[-1]
LATEST_MODERN = MODERN_REVISIONS[-1]
KNOWN_REVISIONS = (*SESSION_REVISIONS, *MODERN_REVISIONS)
CLIENT_INFO = {"name": "releasegate", "version": __version__}
SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "MCP-Protocol-Version"
MAX_PAGES = 50
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT = "io.modelcontextprotocol/clientInfo"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"


def header_safe(value: str) -> str:
    """2026-07-28 'Value Encoding': visible ASCII as is, anything else as =?base64?…?=."""
    plain = all(0x20 <= ord(c) <= 0x7E for c in value) and value == value.strip() and not (
        value.startswith("=?base64?") and value.endswith("?="))
    if plain:
        return value
    return "=?base64?" + base64.b64encode(value.encode()).decode() + "?="


def mirrored_params(input_schema: Any, arguments: Mapping[str, Any]) -> dict[str, str]:
    """2026-07-28 'Custom Headers from Tool Parameters': every property annotated x-mcp-header
    whose value is present becomes ``Mcp-Param-{name}`` (clients MUST send them)."""
    headers: dict[str, str] = {}

    def walk(schema: Any, values: Any) -> None:
        if not isinstance(schema, Mapping) or not isinstance(values, Mapping):
            return
        for key, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, Mapping) or values.get(key) is None:
                continue
            value = values[key]
            name = prop.get("x-mcp-header")
            if isinstance(name, str) and name:
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                headers[f"Mcp-Param-{name}"] = header_safe(text)
            walk(prop, value)

    walk(input_schema, arguments)
    return headers


def session_id_problem(session_id: str) -> str | None:
    """Session ids MUST be visible ASCII, 0x21-0x7E (Transports §Session Management 1)."""
    bad = [c for c in session_id if not 0x21 <= ord(c) <= 0x7E]
    if not session_id:
        return "is empty"
    return f"contains {len(bad)} characters outside visible ASCII (0x21-0x7E)" if bad else None


@dataclass
class ToolListing:
    """tools/list followed through every nextCursor page."""

    pages: list[McpReply] = field(default_factory=list)
    tools: list[Mapping[str, Any]] = field(default_factory=list)
    problem: str | None = None
    failed: McpReply | None = None  # the page whose answer was wrong

    def by_name(self) -> dict[str, Mapping[str, Any]]:
        return {str(t.get("name")): t for t in self.tools}


class McpClient:
    """One conversation with an MCP endpoint in one era: 'session' or 'modern'."""

    def __init__(self, transport: McpTransport, *, era: str = "session",
                 version: str = LATEST_SESSION) -> None:
        self.transport = transport
        self.era = era
        self.version = version  # offered in initialize (session) or stamped on every request (modern)
        self.session_id: str | None = None
        self.negotiated: str | None = version if era == "modern" else None
        self.server_capabilities: Mapping[str, Any] | None = None
        self._ids = itertools.count(1)

    # --- building requests --------------------------------------------------------------------

    def headers_for(self, method: str, params: Mapping[str, Any] | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.era == "modern":
            headers[VERSION_HEADER] = self.version
            headers["Mcp-Method"] = method
            name = (params or {}).get("name", (params or {}).get("uri"))
            if method in ("tools/call", "resources/read", "prompts/get") and isinstance(name, str):
                headers["Mcp-Name"] = header_safe(name)
            return headers
        if self.session_id:
            headers[SESSION_HEADER] = self.session_id
        if self.negotiated in HEADER_REVISIONS or (
                self.negotiated is not None and self.negotiated not in SESSION_REVISIONS):
            headers[VERSION_HEADER] = self.negotiated
        return headers

    def params_for(self, params: Any) -> Any:
        if self.era != "modern" or not isinstance(params, Mapping):
            return params
        meta = {META_VERSION: self.version, META_CLIENT: CLIENT_INFO, META_CAPABILITIES: {}}
        return {**params, "_meta": {**meta, **dict(params.get("_meta") or {})}}

    def request(self, method: str, params: Any = None, *, label: str | None = None,
                headers: Mapping[str, str] | None = None, drop: Iterable[str] = (),
                header_params: Mapping[str, Any] | None = None, **send: Any) -> McpReply:
        """One JSON-RPC request. ``header_params`` builds the mirrored headers from other params
        than the body's (to make them disagree on purpose)."""
        body_params = self.params_for(params)
        message = jsonrpc.request(next(self._ids), method, body_params)
        mirrored = self.headers_for(method, header_params if header_params is not None
                                    else (params if isinstance(params, Mapping) else None))
        return self.transport.send(label or f"MCP {method}", message,
                                   headers={**mirrored, **(headers or {})}, drop=drop, **send)

    def notify(self, method: str, params: Any = None, *, label: str | None = None) -> McpReply:
        message = jsonrpc.notification(method, self.params_for(params))
        return self.transport.send(label or f"MCP {method}", message,
                                   headers=self.headers_for(method, None))

    # --- the protocol -------------------------------------------------------------------------

    def initialize(self) -> McpReply:
        """The handshake; on success the session id and negotiated revision are kept."""
        params = {"protocolVersion": self.version, "capabilities": {}, "clientInfo": CLIENT_INFO}
        reply = self.request("initialize", params)
        result = reply.result if reply.status == 200 and not reply.problem else None
        if isinstance(result, Mapping):
            version = result.get("protocolVersion")
            self.negotiated = version if isinstance(version, str) else None
            capabilities = result.get("capabilities")
            self.server_capabilities = capabilities if isinstance(capabilities, Mapping) else None
            self.session_id = reply.headers.get(SESSION_HEADER) or None
        return reply

    def initialized(self) -> McpReply:
        return self.notify("notifications/initialized")

    def discover(self) -> McpReply:
        reply = self.request("server/discover", {})
        result = reply.result
        if reply.status == 200 and isinstance(result, Mapping):
            capabilities = result.get("capabilities")
            self.server_capabilities = capabilities if isinstance(capabilities, Mapping) else None
        return reply

    def list_tools(self) -> ToolListing:
        """tools/list following nextCursor pages: params ``{}``, then ``{"cursor": <nextCursor>}``.

        000 §1.4's curl sends ``{"cursor": null}``; the spec's schema (every revision's
        PaginatedRequestParams) makes ``cursor`` an optional *string*, and a strict server (the
        TypeScript SDK) refuses null — 000 §5.4's point, params as an object, holds for ``{}``."""
        listing = ToolListing()
        cursor: str | None = None
        seen: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            label = "MCP tools/list" + (f" (page {page})" if page > 1 else "")
            reply = self.request("tools/list", {} if cursor is None else {"cursor": cursor}, label=label)
            listing.pages.append(reply)
            problem = self._page_problem(reply)
            if problem:
                listing.problem, listing.failed = problem, reply
                return listing
            result = reply.result
            listing.tools += [t for t in result["tools"]]
            cursor = result.get("nextCursor")
            if cursor is None:
                return listing
            if not isinstance(cursor, str) or cursor in seen:
                listing.problem = (f"{label}: nextCursor {cursor!r} "
                                   + ("repeats an earlier page" if cursor in seen else "is not a string"))
                listing.failed = reply
                return listing
            seen.add(cursor)
        listing.problem = f"MCP tools/list: still more pages after {MAX_PAGES}"
        return listing

    @staticmethod
    def _page_problem(reply: McpReply) -> str | None:
        if reply.problem or reply.message is None or reply.status != 200 or reply.error:
            return f"{reply.label} answered {reply.describe()}"
        result = reply.result
        if not isinstance(result, Mapping) or not isinstance(result.get("tools"), list):
            return f"{reply.label}: result has no 'tools' list"
        unnamed = [i for i, t in enumerate(result["tools"])
                   if not isinstance(t, Mapping) or not isinstance(t.get("name"), str)]
        if unnamed:
            return f"{reply.label}: tools[{unnamed[0]}] has no name"
        return None

    def call_tool(self, name: str, arguments: Mapping[str, Any],
                  input_schema: Any = None) -> McpReply:
        """``input_schema`` (the tool's, from tools/list) gives 2026-07-28's Mcp-Param-* headers."""
        extra = mirrored_params(input_schema, arguments) if self.era == "modern" else {}
        return self.request("tools/call", {"name": name, "arguments": dict(arguments)},
                            label=f"MCP tools/call {name}", headers=extra)

    def delete(self) -> McpReply:
        """End the session (Transports §Session Management 5); the status is what the server said."""
        return self.transport.send("MCP DELETE session", method="DELETE",
                                   headers=self.headers_for("", None))

"""A protected MCP server: no credentials, no service; and where to get credentials (RFC 9728).

MCP Authorization (2025-06-18 and later): a request without a valid token gets 401 with a
WWW-Authenticate challenge; the protected-resource metadata a server publishes names the
authorization servers that issue its tokens, for the resource it is served for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.mcp.config import origin_of

pytestmark = pytest.mark.mcp

RESOURCE_METADATA = re.compile(r'resource_metadata="([^"]+)"')


@pytest.fixture
def unauthenticated(mcp):
    if not mcp.config.auth_required:
        pytest.skip("mcp.auth.required is not set: the server may be open")
    reply = mcp.endpoint.probe_unauthenticated()
    mcp.record(reply)
    return reply


@pytest.mark.runbook("003", "§5 API 401/403", "a request without credentials gets 401 with a "
                     "WWW-Authenticate challenge (MCP Authorization)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("003 Troubleshooting (API connection error 401/403): check the JWT secret and RBAC "
                    "(src/middleware/auth.ts, src/rbac/); the MCP endpoint must refuse anonymous calls")
def test_request_without_credentials_is_401(unauthenticated):
    reply = unauthenticated
    if reply.status != 401:
        raise reply.fail(f"{reply.label} answered {reply.describe()}, expected 401 Unauthorized"
                         + (": anyone can call this server" if reply.status == 200 else ""))
    challenge = reply.headers.get("www-authenticate", "")
    if not challenge.lower().startswith("bearer"):
        raise reply.fail(f"{reply.label} answered 401 with WWW-Authenticate {challenge or 'missing'!r}, "
                         "expected a Bearer challenge clients can act on")


@pytest.mark.runbook("003", "§5 API 401/403", "published RFC 9728 metadata is served and names an "
                     "authorization server for this resource")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("003 Troubleshooting (API 401/403): serve /.well-known/oauth-protected-resource for "
                    "the MCP URL with its authorization_servers, through the proxy too")
def test_protected_resource_metadata_names_authorization_server(mcp, unauthenticated, mcp_http):
    named = RESOURCE_METADATA.search(unauthenticated.headers.get("www-authenticate", ""))
    endpoint = urlsplit(mcp.config.url)
    candidates = [named.group(1)] if named else [
        f"{origin_of(mcp.config.url)}/.well-known/oauth-protected-resource{endpoint.path.rstrip('/')}",
        f"{origin_of(mcp.config.url)}/.well-known/oauth-protected-resource"]
    fetch = None
    for url in candidates:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        fetch = mcp.evidence.http(mcp_http(url).fetch(path))
        if fetch.status != 404 or named:
            break
    assert fetch is not None
    if fetch.status == 404 and not named:
        pytest.skip("the server publishes no protected-resource metadata (no resource_metadata in its "
                    "challenge; .well-known/oauth-protected-resource answers 404)")
    fetch.expect_status(200, why="the challenge names this metadata" if named else "")
    body = fetch.json()
    servers = body.get("authorization_servers") if isinstance(body, Mapping) else None
    resource = body.get("resource") if isinstance(body, Mapping) else None
    mcp.evidence.note(resource=resource, authorization_servers=servers)
    if not isinstance(servers, list) or not servers or not all(
            isinstance(s, str) and s.startswith(("https://", "http://")) for s in servers):
        raise CheckFailed(f"{fetch.label} names no authorization server (authorization_servers: "
                          f"{servers!r}): clients cannot get a token", cause=fetch.key)
    if isinstance(resource, str) and resource.rstrip("/") not in (mcp.config.url.rstrip("/"),
                                                                  origin_of(mcp.config.url)):
        raise CheckFailed(f"{fetch.label} is for resource {resource!r}, not {mcp.config.url!r} "
                          "(RFC 9728 §3.3: clients must reject it)", cause=fetch.key)

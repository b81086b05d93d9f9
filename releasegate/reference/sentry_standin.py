"""A Sentry STAND-IN, not Sentry: no Sentry server can run here (runbook 001 §6.2's test event).

It takes what sentry-sdk sends — `POST {dsn path}api/{project_id}/envelope/` with an
`X-Sentry-Auth: Sentry sentry_key=…` header, gzip (or brotli, when the SDK can import it) NDJSON
envelopes — and answers the one documented web API call the check makes, "Retrieve an Event for
a Project": `GET /api/0/projects/{org}/{project}/events/{event_id}/` with `Authorization: Bearer
<token>`, in Sentry's shape (eventID, tags as key/value pairs, entries with the exception and its
stack trace, contexts). Events are kept in memory for the life of the app.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

PREFIX = "/sentry"
MAX_ENVELOPE = 1024 * 1024
_SENTRY_KEY = re.compile(r"sentry_key=([^,\s]+)")


def decode_body(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "br":
        import brotli  # only sent by sentry-sdk when brotli is importable, as it is then here

        return brotli.decompress(body)
    if encoding in ("", "identity"):
        return body
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def parse_envelope(data: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """Envelope header and (item header, payload) pairs; items have a length or end at a newline."""
    head, _, rest = data.partition(b"\n")
    header = json.loads(head)
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        line, _, rest = rest.partition(b"\n")
        item = json.loads(line)
        if "length" in item:
            payload, rest = rest[:item["length"]], rest[item["length"]:].removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((item, payload))
    return header, items


def api_event(event: dict[str, Any], project: str) -> dict[str, Any]:
    """An ingested event as the web API returns it."""
    tags = dict(event.get("tags") or {})
    if event.get("environment"):
        tags["environment"] = event["environment"]
    if event.get("release"):
        tags["release"] = event["release"]
    entries = []
    exception = event.get("exception")
    if exception:
        values = exception.get("values", exception) if isinstance(exception, dict) else exception
        entries.append({"type": "exception", "data": {"values": values}})
    return {"id": event.get("event_id"), "eventID": event.get("event_id"), "projectID": project,
            "dateCreated": event.get("timestamp"), "platform": event.get("platform"),
            "message": event.get("message") or "", "tags": [{"key": k, "value": str(v)}
                                                            for k, v in sorted(tags.items())],
            "entries": entries, "contexts": event.get("contexts") or {},
            "context": event.get("extra") or {}, "sdk": event.get("sdk") or {}}


def routes(public_key: str, token: str, projects: dict[str, str],
           faults: frozenset[str]) -> Sequence[BaseRoute]:
    """``projects`` maps a DSN's project id to the project slug the web API uses."""
    events: dict[str, tuple[str, dict[str, Any]]] = {}

    async def envelope(request: Request) -> Response:
        auth = request.headers.get("x-sentry-auth", "") or request.query_params.get("sentry_key", "")
        found = _SENTRY_KEY.search(auth)
        if (found.group(1) if found else auth) != public_key:
            return JSONResponse({"detail": "invalid public key"}, 401)
        body = await request.body()
        if len(body) > MAX_ENVELOPE:
            return JSONResponse({"detail": "envelope too large"}, 413)
        try:
            _, items = parse_envelope(decode_body(body, request.headers.get("content-encoding", "")))
        except (ValueError, OSError, ImportError) as exc:
            return JSONResponse({"detail": f"bad envelope: {exc}"}, 400)
        project = request.path_params["project_id"]
        for item, payload in items:
            if item.get("type") == "event" and "sentry_event_lost" not in faults:
                event = json.loads(payload)
                events[event["event_id"]] = (project, event)
        return JSONResponse({"id": next((json.loads(p).get("event_id") for i, p in items
                                         if i.get("type") == "event"), None)})

    async def get_event(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"detail": "Invalid token"}, 401)
        found = events.get(request.path_params["event_id"].replace("-", ""))
        if found is None or projects.get(found[0]) != request.path_params["project"]:
            return JSONResponse({"detail": "Event not found"}, 404)
        return JSONResponse(api_event(found[1], found[0]))

    return [Route(PREFIX + "/api/{project_id}/envelope/", envelope, methods=["POST"]),
            Route(PREFIX + "/api/0/projects/{org}/{project}/events/{event_id}/", get_event)]

"""Read API part of the reference stack (runbook 000 §3): REST + SSE behind basic auth and an allowlist.

The whole 127.0.0.0/8 range is loopback here, so the allowlist admits 127.0.0.2 and refuses
127.0.0.1: the runner sends from 127.0.0.2 (``source_address``) and tests the refusal from
127.0.0.1. uvicorn trusts X-Forwarded-For from 127.0.0.1 by default, which is exactly the spoof
the allowlist checks look for, so this part tells it to trust no proxy (FORWARDED_ALLOW_IPS="");
the ``readapi_allowlist_xff_bypass`` fault trusts every one ("*"), the classic misconfiguration.
/v1/health is open (load balancers probe it); everything else needs the allowlist and basic auth.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date, datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from releasegate.reference._sql import DatabaseDown, Queries
from releasegate.reference.parts import AppContext, Fault, Part, StackContext

Handler = Callable[[Request], Awaitable[Response]]

USER = "ops"
PASSWORD = "reference-read-api-pw"  # the stack's own throwaway credential, written into its profile
ROTATED_PASSWORD = "rotated-read-api-pw"
ALLOWLIST = frozenset({"127.0.0.2"})  # READ_API_IP_ALLOWLIST
LISTED, OUTSIDE = "127.0.0.2", "127.0.0.1"
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
WRITES = ("POST", "PUT", "PATCH", "DELETE")

FAULTS = (
    Fault("readapi_health_route_missing", "/v1/health answers 404 (the route was lost)", "000 §3.1"),
    Fault("readapi_schema_drift", "/v1/fixtures items rename date_utc and drop home_team and away_team "
          "(000 §1.2 E's fields)", "000 §1.2 E, §3.1"),
    Fault("readapi_limit_ignored", "the Read API ignores limit= and returns every match", "000 §3.1"),
    Fault("readapi_filter_ignored", "the Read API ignores its filters (league_id, date, status, search, "
          "season)", "000 §3.1"),
    Fault("unknown_id_500", "an unknown id answers 500 (/v1/standings, /api/v1/leads/{domain}/"
          "sales-summary)", "000 §3.1, 001 §6.4"),
    Fault("readapi_write_accepted", "POST, PUT, PATCH and DELETE /v1/fixtures answer 2xx",
          "000 §0, §3.1 (read-only)"),
    Fault("readapi_auth_disabled", "the Read API answers without credentials", "000 §3.3"),
    Fault("readapi_any_password", "any password is accepted for READ_API_BASIC_USER", "000 §3.3"),
    Fault("readapi_password_rotated", "the service's password was rotated; the profile's no longer "
          "works", "000 §3.3"),
    Fault("readapi_plain_http_remote", "the profile reaches the Read API over plain http on a "
          "non-local host name", "000 §3.3"),
    Fault("readapi_allowlist_off", "READ_API_IP_ALLOWLIST is not enforced", "000 §3.3"),
    Fault("readapi_allowlist_xff_bypass", "X-Forwarded-For is trusted from any client: a spoofed "
          "header passes the allowlist", "000 §3.3"),
    Fault("readapi_forwarded_skips_auth", "a request whose X-Forwarded-For, X-Real-IP or Forwarded claims an "
          "allowlisted or loopback address is let in without credentials", "000 §3.3"),
    Fault("sse_wrong_event", "the streams send system-status / live-score-update instead of "
          "system_status / live_score_update", "000 §3.2"),
    Fault("sse_stalls", "after the first event the streams send nothing, not even keep-alives",
          "000 §3.2"),
    Fault("sse_data_malformed", "the event data lacks its required fields", "000 §3.2"),
    Fault("sse_resume_ignored", "reconnecting with Last-Event-ID starts again from the first event",
          "000 §3.2"),
)

STREAM_NAMES = {"system_status": "system-status", "live_score_update": "live-score-update"}


def _basic_ok(header: str, password: str, any_password: bool) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, USER) and (any_password or hmac.compare_digest(given, password))


def _claims_internal(request: Request) -> bool:
    """The fault's shortcut: "forwarded for an internal address" taken as already authenticated."""
    claimed = [request.headers.get("x-forwarded-for", "").split(",")[0].strip(),
               request.headers.get("x-real-ip", "").strip(),
               request.headers.get("forwarded", "").partition("for=")[2].split(";")[0].strip('"[] ')]
    return any(c and (c in ALLOWLIST or c.startswith("127.")) for c in claimed)


def _int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    return int(value)  # ValueError → 400 in _guarded


def page(items: list[Any], limit: int | None) -> dict[str, Any]:
    return {"items": items, "count": len(items), **({"limit": limit} if limit else {})}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def routes(ctx: AppContext) -> Sequence[BaseRoute]:
    faults = ctx.faults
    q = Queries(ctx.settings.dsn)
    password = ROTATED_PASSWORD if "readapi_password_rotated" in faults else PASSWORD
    event_s = float(os.environ.get("RG_SSE_EVENT_S", "0.3"))
    ping_s = float(os.environ.get("RG_SSE_PING_S", "0.15"))
    filters_on = "readapi_filter_ignored" not in faults

    def refused(request: Request) -> Response | None:
        client = request.client.host if request.client else ""
        if "readapi_allowlist_off" not in faults and client not in ALLOWLIST:
            return JSONResponse({"detail": f"{client} is not on READ_API_IP_ALLOWLIST"}, 403)
        if "readapi_auth_disabled" in faults:
            return None
        if "readapi_forwarded_skips_auth" in faults and _claims_internal(request):
            return None
        if _basic_ok(request.headers.get("authorization", ""), password,
                     "readapi_any_password" in faults):
            return None
        return JSONResponse({"detail": "authentication required"}, 401,
                            headers={"WWW-Authenticate": 'Basic realm="read_api"'})

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            denied = refused(request)
            if denied is not None:
                return denied
            try:
                return await handler(request)
            except ValueError as exc:
                return JSONResponse({"detail": f"bad parameter: {exc}"}, 400)
            except DatabaseDown as exc:
                return JSONResponse({"detail": f"database unavailable: {exc}"}, 503)
        return endpoint

    def limit_of(request: Request) -> int | None:
        limit = min(_int(request, "limit") or DEFAULT_LIMIT, MAX_LIMIT)
        return None if "readapi_limit_ignored" in faults else limit

    def arg(request: Request, name: str, convert: Callable[[str], Any] = str) -> Any:
        value = request.query_params.get(name)
        return convert(value) if value not in (None, "") and filters_on else None

    async def health(_: Request) -> Response:
        if "readapi_health_route_missing" in faults:
            return JSONResponse({"detail": "Not Found"}, 404)
        try:
            await q.rows("SELECT 1 AS ok")
            return JSONResponse({"status": "ok", "db": "ok", "time": _iso(datetime.now(timezone.utc))})
        except DatabaseDown:
            return JSONResponse({"status": "degraded", "db": "error"}, 503)

    async def quota(_: Request) -> Response:
        rows = await q.rows(
            "SELECT fetched_at, (response_headers->>'x-ratelimit-requests-remaining')::int AS daily,"
            " (response_headers->>'X-RateLimit-Remaining')::int AS minute"
            " FROM raw.api_responses ORDER BY fetched_at DESC LIMIT 1")
        row = rows[0] if rows else {}
        return JSONResponse({"daily_limit": 7500, "daily_remaining": row.get("daily"),
                             "minute_remaining": row.get("minute"),
                             "observed_at": _iso(row.get("fetched_at"))})

    async def fixtures(request: Request) -> Response:
        params = {"league": arg(request, "league_id", int), "status": arg(request, "status"),
                  "day": arg(request, "date", date.fromisoformat), "limit": limit_of(request)}
        rows = await q.rows(
            "SELECT f.id, f.league_id, f.season, f.date_utc, f.status, f.home_team_id, f.away_team_id,"
            " h.name AS home_team, a.name AS away_team, f.home_goals, f.away_goals FROM core.fixtures f"
            " JOIN core.teams h ON h.id = f.home_team_id JOIN core.teams a ON a.id = f.away_team_id"
            " WHERE (%(league)s::int IS NULL OR f.league_id = %(league)s)"
            " AND (%(status)s::text IS NULL OR f.status = %(status)s)"
            " AND (%(day)s::date IS NULL OR (f.date_utc AT TIME ZONE 'UTC')::date = %(day)s)"
            " ORDER BY f.date_utc, f.id LIMIT %(limit)s", params)
        items = [{"id": r["id"], "league_id": r["league_id"], "season": r["season"],
                  "date": r["date_utc"].astimezone(timezone.utc).date().isoformat(),
                  "date_utc": _iso(r["date_utc"]), "kickoff_utc": _iso(r["date_utc"]),
                  "status": r["status"], "home_team": r["home_team"], "away_team": r["away_team"],
                  "home_team_id": r["home_team_id"], "away_team_id": r["away_team_id"],
                  "home_goals": r["home_goals"], "away_goals": r["away_goals"]} for r in rows]
        if "readapi_schema_drift" in faults:  # a refactor renamed and dropped runbook 000's fields
            for item in items:
                item["kickoff"] = item.pop("date_utc")
                del item["home_team"], item["away_team"]
        return JSONResponse(page(items, params["limit"]))

    async def fixtures_or_write(request: Request) -> Response:
        if request.method != "GET":  # readapi_write_accepted: "accepted", nothing is written
            return JSONResponse({"accepted": True}, 201 if request.method == "POST" else 200)
        return await fixtures(request)

    async def standings(request: Request) -> Response:
        league, season = int(request.path_params["league_id"]), int(request.path_params["season"])
        rows = await q.rows(
            "SELECT s.rank, s.team_id, t.name AS team_name, s.points FROM core.standings s"
            " JOIN core.teams t ON t.id = s.team_id WHERE s.league_id = %s AND s.season = %s"
            " ORDER BY s.rank", (league, season))
        if not rows:
            if "unknown_id_500" in faults:
                return Response("Internal Server Error", 500, media_type="text/plain")
            return JSONResponse({"detail": f"no standings for league {league} season {season}"}, 404)
        return JSONResponse({"league_id": league, "season": season, "items": rows})

    async def teams(request: Request) -> Response:
        search = arg(request, "search")
        params = {"league": arg(request, "league_id", int), "limit": limit_of(request),
                  "search": f"%{search}%" if search else None}
        rows = await q.rows(
            "SELECT t.id, t.name, t.league_id, v.id AS venue_id, v.name AS venue_name, v.city"
            " FROM core.teams t LEFT JOIN core.venues v ON v.id = t.venue_id"
            " WHERE (%(league)s::int IS NULL OR t.league_id = %(league)s)"
            " AND (%(search)s::text IS NULL OR t.name ILIKE %(search)s)"
            " ORDER BY t.id LIMIT %(limit)s", params)
        items = [{"id": r["id"], "name": r["name"], "league_id": r["league_id"],
                  "venue": {"id": r["venue_id"], "name": r["venue_name"], "city": r["city"]}}
                 for r in rows]
        return JSONResponse(page(items, params["limit"]))

    async def injuries(request: Request) -> Response:
        params = {k: arg(request, k, int) for k in ("league_id", "season", "team_id", "player_id")}
        params["limit"] = limit_of(request)
        rows = await q.rows(
            "SELECT id, league_id, season, team_id, player_id, player_name, reason FROM core.injuries"
            " WHERE (%(league_id)s::int IS NULL OR league_id = %(league_id)s)"
            " AND (%(season)s::int IS NULL OR season = %(season)s)"
            " AND (%(team_id)s::int IS NULL OR team_id = %(team_id)s)"
            " AND (%(player_id)s::int IS NULL OR player_id = %(player_id)s)"
            " ORDER BY id LIMIT %(limit)s", params)
        return JSONResponse(page(rows, params["limit"]))

    # --- SSE ----------------------------------------------------------------------------------

    def stream(event: str, data: Callable[[int], Awaitable[dict[str, Any]]]) -> Handler:
        name = STREAM_NAMES[event] if "sse_wrong_event" in faults else event

        async def handler(request: Request) -> Response:
            last = request.headers.get("last-event-id", "")
            start = int(last) + 1 if last.isdigit() and "sse_resume_ignored" not in faults else 1
            return StreamingResponse(events(request, start), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

        async def events(request: Request, start: int) -> AsyncIterator[str]:
            number, next_event, next_ping = start, time.monotonic(), time.monotonic() + ping_s
            while True:
                now = time.monotonic()
                if now >= next_event:
                    body = await data(number)
                    yield f"event: {name}\nid: {number}\ndata: {json.dumps(body)}\n\n"
                    number += 1
                    next_event += event_s
                    while "sse_stalls" in faults:  # silent until the client goes away
                        if await request.is_disconnected():
                            return
                        await asyncio.sleep(0.2)
                elif now >= next_ping:
                    yield ": ping\n\n"
                    next_ping = now + ping_s
                await asyncio.sleep(max(0.0, min(next_event, next_ping) - time.monotonic()))

        return guarded(handler)

    async def system_status(number: int) -> dict[str, Any]:
        try:
            rows = await q.rows("SELECT (response_headers->>'x-ratelimit-requests-remaining')::int AS d"
                                " FROM raw.api_responses ORDER BY fetched_at DESC LIMIT 1")
            body: dict[str, Any] = {"status": "ok", "db": "ok",
                                    "quota_daily_remaining": rows[0]["d"] if rows else None}
        except DatabaseDown:
            body = {"status": "degraded", "db": "error", "quota_daily_remaining": None}
        body["ts"] = _iso(datetime.now(timezone.utc))
        if "sse_data_malformed" in faults:
            body = {"state": body.pop("status"), "ts": body["ts"]}
        return body

    live: list[dict[str, Any]] = []

    async def live_score(number: int) -> dict[str, Any]:
        if not live:
            live.extend(await q.rows("SELECT id, league_id FROM core.fixtures WHERE status = 'NS'"
                                     " ORDER BY id LIMIT 20"))
        fixture = live[number % len(live)]
        body = {"fixture_id": fixture["id"], "league_id": fixture["league_id"], "status": "LIVE",
                "minute": number % 90, "home_goals": number % 3, "away_goals": number % 2,
                "ts": _iso(datetime.now(timezone.utc))}
        if "sse_data_malformed" in faults:
            body = {"match": fixture["id"], "score": f"{number % 3}-{number % 2}"}
        return body

    fixture_methods = ["GET", *WRITES] if "readapi_write_accepted" in faults else ["GET"]
    return [
        Route("/v1/health", health),
        Route("/v1/quota", guarded(quota)),
        Route("/v1/fixtures", guarded(fixtures_or_write), methods=fixture_methods),
        Route("/v1/standings/{league_id:int}/{season:int}", guarded(standings)),
        Route("/v1/teams", guarded(teams)),
        Route("/v1/injuries", guarded(injuries)),
        Route("/v1/sse/system-status", stream("system_status", system_status)),
        Route("/v1/sse/live-scores", stream("live_score_update", live_score)),
    ]


def before_app(ctx: StackContext) -> None:
    """Who may set X-Forwarded-For: no one, or (the fault) every client."""
    ctx.app_env["FORWARDED_ALLOW_IPS"] = "*" if "readapi_allowlist_xff_bypass" in ctx.faults else ""


def own(name: str) -> str:
    """The reference stack's own schema for an endpoint or event: more than runbook 000 defines."""
    return f"reference/readapi/{name}.schema.json"


def profile(ctx: StackContext) -> dict[str, Any]:
    base = ctx.base_url
    if "readapi_plain_http_remote" in ctx.faults:  # the same service, named by a remote host name
        base = base.replace("127.0.0.1", "read-api.invalid")
    stream = {"within_s": 3, "keepalive_s": 1, "observe_s": 2}
    return {"read_api": {
        "base_url": base,
        "source_address": LISTED,
        "auth": {"username": USER, "password": PASSWORD},
        "endpoints": {  # the stack's own contract (schemas/reference/) beside runbook 000's built in
            "health": {"path": "/v1/health", "schema": own("health")},
            "quota": {"path": "/v1/quota", "schema": own("quota")},
            "fixtures": {"path": "/v1/fixtures", "params": {"league_id": 1, "status": "FT", "limit": 5},
                         "schema": own("fixtures"),
                         "filters": {"league_id": "league_id", "status": "status"}},
            "fixtures_by_date": {"path": "/v1/fixtures", "params": {"date": "2025-08-02"},
                                 "item_schema": "readapi/fixtures.item.schema.json",  # runbook's only
                                 "filters": {"date": {"field": "date_utc", "match": "prefix"}}},
            "standings": {"path": "/v1/standings/1/2025", "unknown_path": "/v1/standings/999999/2025",
                          "schema": own("standings")},
            "teams": {"path": "/v1/teams", "params": {"search": "Team 1", "league_id": 1, "limit": 3},
                      "schema": own("teams"),
                      "filters": {"search": {"field": "name", "match": "contains"},
                                  "league_id": "league_id"}},
            "injuries": {"path": "/v1/injuries", "params": {"league_id": 1, "season": 2025, "limit": 5},
                         "schema": own("injuries"),
                         "filters": {"league_id": "league_id", "season": "season"}},
        },
        "streams": {
            "system_status": {"path": "/v1/sse/system-status", "event": "system_status",
                              "schema": own("sse-system_status"), **stream},
            "live_scores": {"path": "/v1/sse/live-scores", "event": "live_score_update",
                            "schema": own("sse-live_score_update"), **stream},
        },
        "allowlist": {"outside_address": OUTSIDE},
    }}


PART = Part("readapi", order=30, faults=FAULTS, routes=routes, before_app=before_app, profile=profile)

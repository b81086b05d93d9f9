"""An independent Read API (runbook 000 §3), written the way another team would write one.

It shares nothing with releasegate/reference/: FastAPI with pydantic response models (so it
publishes its own /openapi.json), in-memory data, HTTPBasic from fastapi.security, an allowlist
middleware, its own envelopes and field names — ``data``/``meta``, ``results``, a bare list for
standings, ``team_name``, ``year``, ``player.name`` — except the fields runbook 000 names
(fixtures: id, league_id, date_utc, status, home_team, away_team; standings rows: team_id;
quota: daily_remaining, minute_remaining). Faults are switched on by name in ``create_app``.
"""


import asyncio
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel

USER, PASSWORD = "reader", "independent-read-api-pw"
ALLOWLIST = ("127.0.0.2",)
FAULTS = {
    "health_500": "GET /v1/health answers 500",
    "fixtures_drop_home_team": "the Fixture model lost home_team (its own OpenAPI document agrees)",
    "teams_break_own_openapi": "teams answer team_id as a string where /openapi.json says integer",
    "limit_ignored": "limit= is ignored",
    "filter_ignored": "league_id= is ignored on fixtures",
    "standings_unknown_500": "an unknown league/season answers 500",
    "accepts_post": "POST /v1/fixtures answers 201",
    "forwarded_skips_auth": "X-Real-IP naming an allowlisted address skips basic auth",
    "spoofable_allowlist": "the allowlist believes X-Forwarded-For",
    "sse_event_renamed": "the streams send systemStatus / liveScoreUpdate",
    "sse_no_keepalive": "after the first event the streams are silent",
    "sse_resume_ignored": "Last-Event-ID is ignored",
}

# --- data ----------------------------------------------------------------------------------------

CLUBS = {39: ["Manchester United", "Newcastle United", "West Ham United", "Sheffield United", "Arsenal",
              "Chelsea"],
         140: ["Real Sociedad", "Athletic Club", "Sevilla", "Valencia"]}
TEAMS = [{"team_id": 100 * league + i, "team_name": name, "league": league}
         for league, names in CLUBS.items() for i, name in enumerate(names, 1)]
KICKOFF = datetime(2025, 8, 16, 14, 0, tzinfo=timezone.utc)
MATCHES = [{"id": 5000 + n, "league_id": t["league"], "date_utc": KICKOFF + timedelta(days=n // 3),
            "status": "FT" if n % 4 else "NS", "home_team": t["team_name"],
            "away_team": TEAMS[(n + 1) % len(TEAMS)]["team_name"], "round_name": f"Round {1 + n // 6}",
            "score": {"home": n % 3, "away": n % 2} if n % 4 else None}
           for n, t in enumerate(TEAMS[(3 * i) % len(TEAMS)] for i in range(30))]  # leagues interleave
STANDINGS = {(39, 2025): [{"position": i, "team_id": t["team_id"], "team": t["team_name"], "pts": 30 - 3 * i}
                          for i, t in enumerate((t for t in TEAMS if t["league"] == 39), 1)]}
ABSENCES = [{"player": {"id": 900 + i, "name": f"Player {i}"}, "team_id": TEAMS[i % 6]["team_id"],
             "league": 39, "year": 2025, "kind": "hamstring"} for i in range(8)]


class Score(BaseModel):
    home: int
    away: int


class Fixture(BaseModel):
    id: int
    league_id: int
    date_utc: datetime
    status: str
    home_team: str
    away_team: str
    round_name: str
    score: Score | None = None


class DriftedFixture(BaseModel):  # fixtures_drop_home_team: a refactor renamed the field
    id: int
    league_id: int
    date_utc: datetime
    status: str
    host: str
    away_team: str
    round_name: str
    score: Score | None = None


class Meta(BaseModel):
    returned: int
    page_size: int


class FixturePage(BaseModel):
    data: list[Fixture | DriftedFixture]
    meta: Meta


class Team(BaseModel):
    team_id: int
    team_name: str
    league: int


class TeamList(BaseModel):
    results: list[Team]


class StandingRow(BaseModel):
    position: int
    team_id: int
    team: str
    pts: int


class Player(BaseModel):
    id: int
    name: str


class Absence(BaseModel):
    player: Player
    team_id: int
    league: int
    year: int
    kind: str


class AbsenceList(BaseModel):
    data: list[Absence]


class Quota(BaseModel):
    daily_remaining: int | None
    minute_remaining: int | None
    plan: str


class Health(BaseModel):
    ok: bool
    database: str


# --- the app -------------------------------------------------------------------------------------


def create_app(faults: frozenset[str] = frozenset(), *, event_s: float = 0.3, ping_s: float = 0.2) -> FastAPI:
    unknown = faults - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown faults: {sorted(unknown)}")
    app = FastAPI(title="scores-read-api", version="2.4.1")
    security = HTTPBasic(auto_error=False)

    @app.middleware("http")
    async def allowlist(request: Request, call_next):  # READ_API_IP_ALLOWLIST
        peer = request.client.host if request.client else ""
        if "spoofable_allowlist" in faults:
            peer = request.headers.get("x-forwarded-for", peer).split(",")[0].strip()
        if peer not in ALLOWLIST:
            return JSONResponse({"error": "forbidden", "peer": peer}, 403)
        return await call_next(request)

    def reader(request: Request, creds: Annotated[HTTPBasicCredentials | None, Depends(security)]) -> str:
        if "forwarded_skips_auth" in faults and request.headers.get("x-real-ip") in ALLOWLIST:
            return "internal"
        ok = creds is not None and hmac.compare_digest(creds.username, USER) \
            and hmac.compare_digest(creds.password, PASSWORD)
        if not ok:
            raise HTTPException(401, "bad credentials", headers={"WWW-Authenticate": 'Basic realm="scores"'})
        return creds.username

    def page_size(limit: int) -> int | None:
        return None if "limit_ignored" in faults else limit

    @app.get("/v1/health", response_model=Health, dependencies=[Depends(reader)])
    def health():
        if "health_500" in faults:
            raise HTTPException(500, "database pool exhausted")
        return Health(ok=True, database="up")

    @app.get("/v1/quota", response_model=Quota, dependencies=[Depends(reader)])
    def quota():
        return Quota(daily_remaining=7210, minute_remaining=281, plan="pro")

    if "accepts_post" in faults:  # an import endpoint someone added, and its CORS-style OPTIONS
        @app.post("/v1/fixtures", status_code=201, dependencies=[Depends(reader)])
        def import_fixtures():
            return {"created": True}

        @app.options("/v1/fixtures", dependencies=[Depends(reader)])
        def fixtures_options():
            return Response(status_code=204, headers={"Allow": "GET, POST, OPTIONS"})

    @app.get("/v1/fixtures", response_model=FixturePage, dependencies=[Depends(reader)])
    def fixtures(league_id: int | None = None, date: str | None = None,
                 status: str | None = None, limit: int = Query(20, ge=1, le=100)):
        rows = [m for m in MATCHES
                if (league_id is None or "filter_ignored" in faults or m["league_id"] == league_id)
                and (status is None or m["status"] == status)
                and (date is None or m["date_utc"].date().isoformat() == date)]
        rows = rows[:page_size(limit)]
        model = DriftedFixture if "fixtures_drop_home_team" in faults else Fixture
        data = [model(**{("host" if k == "home_team" and model is DriftedFixture else k): v
                         for k, v in m.items()}) for m in rows]
        return FixturePage(data=data, meta=Meta(returned=len(data), page_size=limit))

    @app.get("/v1/standings/{league_id}/{season}", response_model=list[StandingRow],
             dependencies=[Depends(reader)])
    def standings(league_id: int, season: int):
        table = STANDINGS.get((league_id, season))
        if table is None:
            if "standings_unknown_500" in faults:
                raise HTTPException(500, "KeyError: (39, 1990)")  # the global handler's answer
            raise HTTPException(404, f"no table for {league_id}/{season}")
        return table

    @app.get("/v1/teams", response_model=TeamList, dependencies=[Depends(reader)])
    def teams(search: str | None = None, league_id: int | None = None, limit: int = Query(20, ge=1)):
        rows = [t for t in TEAMS if (league_id is None or t["league"] == league_id)
                and (search is None or search.lower() in t["team_name"].lower())][:page_size(limit)]
        if "teams_break_own_openapi" in faults:  # a hand-built answer skipping the response model
            return JSONResponse({"results": [{**t, "team_id": str(t["team_id"])} for t in rows]})
        return TeamList(results=rows)

    @app.get("/v1/injuries", response_model=AbsenceList, dependencies=[Depends(reader)])
    def injuries(league_id: int | None = None, season: int | None = None, team_id: int | None = None,
                 player_id: int | None = None, limit: int = Query(20, ge=1)):
        rows = [a for a in ABSENCES if (league_id is None or a["league"] == league_id)
                and (season is None or a["year"] == season) and (team_id is None or a["team_id"] == team_id)
                and (player_id is None or a["player"]["id"] == player_id)][:page_size(limit)]
        return AbsenceList(data=rows)

    # --- SSE ------------------------------------------------------------------------------------

    def sse(path: str, event: str, renamed: str, payload) -> None:
        name = renamed if "sse_event_renamed" in faults else event

        async def frames(request: Request, start: int) -> AsyncIterator[str]:
            number, next_event, next_ping = start, time.monotonic(), time.monotonic() + ping_s
            while True:  # ends when the client goes: Starlette cancels the stream
                now = time.monotonic()
                if now >= next_event:
                    yield f"id: {number}\nevent: {name}\ndata: {json.dumps(payload(number))}\n\n"
                    number, next_event = number + 1, now + event_s
                    if "sse_no_keepalive" in faults:
                        next_event = next_ping = now + 3600
                elif now >= next_ping:
                    yield ": keep-alive\n\n"
                    next_ping = now + ping_s
                await asyncio.sleep(min(0.05, max(0.0, min(next_event, next_ping) - time.monotonic())))

        async def stream(request: Request, _: Annotated[str, Depends(reader)]):
            last = request.headers.get("last-event-id", "")
            start = int(last) + 1 if last.isdigit() and "sse_resume_ignored" not in faults else 1
            return StreamingResponse(frames(request, start), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})

        app.add_api_route(path, stream, methods=["GET"])

    sse("/v1/sse/system-status", "system_status", "systemStatus", lambda n: {"state": "green", "seq": n})
    sse("/v1/sse/live-scores", "live_score_update", "liveScoreUpdate",
        lambda n: {"match_id": MATCHES[n % len(MATCHES)]["id"], "score": f"{n % 3}:{n % 2}", "clock": n % 90})
    return app

"""The reference MCP server: runbook 000's tools over the seeded RAW/CORE/MART data.

Built with the official SDK (``MCPServer``, stateful streamable HTTP at /mcp, SSE answers; it is
dual-era, so 2026-07-28 requests are served too), bearer-token protected with RFC 9728
metadata, plus runbook 003's module health endpoints ``/mcp/<module>/health``. It runs in its own
process beside the reference app (reference/mcp.py starts it): only stacks that include the MCP
part pay for the SDK.

Faults are SDK settings where the SDK has one (stateless, no DNS-rebinding protection, no auth),
tool behaviour where the tool is at fault, and otherwise reference/_mcp_faults.py, an ASGI layer
in front, where the SDK cannot be made to misbehave.

    python -m releasegate.reference._mcp_server --fd N     # env: RG_DSN, RG_MCP_URL, RG_MCP_TOKEN, RG_FAULTS
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import uvicorn
from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from releasegate.reference._mcp_faults import FaultLayer
from releasegate.reference._mcp_models import (
    BackfillJob,
    BackfillProgress,
    CoverageStatus,
    CoverageSummary,
    DatabaseStats,
    DriftedFixture,
    EndpointCoverage,
    EndpointErrors,
    EndpointSync,
    Fixture,
    Job,
    JobStatus,
    LastSyncTime,
    LogError,
    PendingTask,
    RateLimitStatus,
    RawErrorSummary,
    RecentLogErrors,
    SeasonCoverage,
)
from releasegate.reference._mcp_wiring import StaticTokenVerifier, paginate_tools
from releasegate.reference._sql import DatabaseDown, Queries

MODULES = ("finbot", "mubot", "aiops", "observability")  # runbook 003
ISSUER = "https://auth.reference.invalid"
# 000 §1.2 D: the collector's config-driven jobs (config/jobs.yaml in the runbook's stack)
CONFIG_JOBS = (
    ("fixtures_daily", True, "0 3 * * *"), ("standings_daily", True, "15 3 * * *"),
    ("injuries_daily", True, "30 3 * * *"), ("fixtures_backfill", True, "*/10 * * * *"),
    ("teams_bootstrap", False, "manual"),
)
DB_ERRORS = (psycopg.Error, DatabaseDown)  # a tool that reports ok=false catches these
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)


@dataclass(frozen=True)
class Settings:
    dsn: str
    url: str  # this server's MCP endpoint, as clients reach it
    token: str
    faults: frozenset[str]
    slow_s: float = 0.8

    @classmethod
    def from_env(cls) -> Settings:
        return cls(dsn=os.environ["RG_DSN"], url=os.environ["RG_MCP_URL"],
                   token=os.environ["RG_MCP_TOKEN"],
                   faults=frozenset(f for f in os.environ.get("RG_FAULTS", "").split(",") if f),
                   slow_s=float(os.environ.get("RG_MCP_SLOW_S", "0.8")))


class Database:
    """reference/_sql.Queries (one read-only connection, re-opened when it breaks), rows as tuples
    (so every column a query selects needs a name of its own)."""

    def __init__(self, dsn: str) -> None:
        self._queries = Queries(dsn)

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return [tuple(row.values()) for row in await self._queries.rows(sql, params)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _reason(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


# --- tool outputs (pydantic models: the SDK advertises them as outputSchema) -------------------


def build_server(settings: Settings, db: Database) -> MCPServer:
    faults = settings.faults
    auth = None if "mcp_auth_not_enforced" in faults else AuthSettings(
        issuer_url=ISSUER, resource_server_url=settings.url, validate_token_resource=False)
    server = MCPServer("reference-collector-mcp", version="3.0.0",
                       instructions="Read-only observation tools for the collector stack (runbook 000).",
                       token_verifier=None if auth is None else StaticTokenVerifier(settings.token),
                       auth=auth, middleware=[paginate_tools(faults)])

    @server.tool(annotations=READ_ONLY)
    async def get_rate_limit_status() -> RateLimitStatus:
        """Quota left, from the latest API response headers (000 §1.2 A, §2.2)."""
        try:
            rows = await db.rows(
                "SELECT fetched_at, response_headers->>'x-ratelimit-requests-remaining' AS daily,"
                " response_headers->>'X-RateLimit-Remaining' AS minute FROM raw.api_responses"
                " WHERE response_headers ? 'x-ratelimit-requests-remaining'"
                "    OR response_headers ? 'X-RateLimit-Remaining'"
                " ORDER BY fetched_at DESC LIMIT 1")
        except DB_ERRORS as exc:
            return RateLimitStatus(ok=False, error=_reason(exc))
        if not rows:
            return RateLimitStatus(ok=True)
        at, daily, minute = rows[0]
        return RateLimitStatus(ok=True, observed_at=_iso(at),
                               daily_remaining=int(daily) if daily is not None else None,
                               minute_remaining=int(minute) if minute is not None else None)

    @server.tool(annotations=READ_ONLY)
    async def get_database_stats() -> DatabaseStats:
        """Row counts of the RAW, CORE and MART layers (000 §1.2 B, §2.1, §2.3)."""
        # mcp_database_stats_not_ok: a migration renamed core.fixtures under the running server
        fixtures = "core.fixtures_v2" if "mcp_database_stats_not_ok" in faults else "core.fixtures"
        tables = {"raw": ["raw.api_responses"],
                  "core": [fixtures, "core.teams", "core.leagues", "core.standings", "core.injuries"],
                  "mart": ["mart.coverage_status"]}
        counts: dict[str, dict[str, int]] = {layer: {} for layer in tables}
        try:
            for layer, names in tables.items():
                for name in names:
                    (count,), = await db.rows(f"SELECT count(*) FROM {name}")
                    counts[layer][name.split(".", 1)[1]] = int(count)
        except DB_ERRORS as exc:
            return DatabaseStats(ok=False, error=_reason(exc))
        return DatabaseStats(ok=True, **counts)

    @server.tool(annotations=READ_ONLY)
    async def get_coverage_summary(season: int | None = None) -> CoverageSummary:
        """Coverage per season from mart.coverage_status (000 §1.2 C, §2.4); summary may be None."""
        if "mcp_tool_raises" in faults:
            raise RuntimeError("mart.coverage_status is locked by a refresh")  # an unhandled bug
        rows = await db.rows(
            "SELECT season, count(*), avg(overall_coverage)::float, min(overall_coverage)::float,"
            " max(calculated_at) FROM mart.coverage_status"
            " WHERE %s::int IS NULL OR season = %s::int GROUP BY season ORDER BY season DESC",
            season, season)
        summary = [SeasonCoverage(season=s, rows=n, avg_coverage=round(avg, 2), min_coverage=mn,
                                  last_calculated=_iso(at)) for s, n, avg, mn, at in rows]
        return CoverageSummary(ok=True, summary=summary or None)

    @server.tool(annotations=READ_ONLY)
    async def get_coverage_status(league_id: int) -> CoverageStatus:
        """One league's coverage per endpoint (000 §4 drill-down, §5.3)."""
        rows = await db.rows(
            "SELECT endpoint, season, overall_coverage::float, calculated_at FROM mart.coverage_status"
            " WHERE league_id = %s ORDER BY overall_coverage, endpoint", league_id)
        return CoverageStatus(ok=True, league_id=league_id, endpoints=[
            EndpointCoverage(endpoint=e, season=s, overall_coverage=c, calculated_at=_iso(at))
            for e, s, c, at in rows])

    if "mcp_tool_missing" not in faults:  # a refactor dropped the tool from the registry

        @server.tool(annotations=READ_ONLY)
        async def get_job_status() -> JobStatus:
            """The config's jobs; the status of each from its last logged run (000 §1.2 D)."""
            rows = await db.rows(
                "SELECT DISTINCT ON (job_id) job_id, status, finished_at, error FROM ops.job_runs"
                " ORDER BY job_id, started_at DESC")
            last = {job: (status, at, error) for job, status, at, error in rows}
            jobs = []
            for job_id, enabled, schedule in CONFIG_JOBS:
                status, at, error = last.get(job_id, (None, None, None))
                jobs.append(Job(job_id=job_id, enabled=enabled, schedule=schedule, status=status,
                                last_run_at=_iso(at), last_error=error))
            return JobStatus(ok=True, jobs=jobs)

    if "mcp_schema_drift" in faults:

        @server.tool(name="query_fixtures", annotations=READ_ONLY)
        async def query_fixtures_drifted(limit: int = 10) -> list[DriftedFixture]:
            """CORE fixtures sample (000 §1.2 E), after the rename."""
            return [DriftedFixture(id=f.id, league_id=f.league_id, date_utc=f.date_utc,
                                   status=f.status, home_team_name=f.home_team,
                                   away_team_name=f.away_team) for f in await _fixtures(db, limit)]
    else:

        @server.tool(annotations=READ_ONLY)
        async def query_fixtures(limit: int = 10) -> list[Fixture]:
            """CORE fixtures sample (000 §1.2 E): id, league_id, date_utc, status, teams."""
            return await _fixtures(db, limit)

    @server.tool(annotations=READ_ONLY)
    async def get_backfill_progress() -> BackfillProgress:
        """Backfill tasks per job and the pending ones (000 §1.2 Phase 1.5, §2.5)."""
        if "mcp_tool_slow" in faults:
            await asyncio.sleep(settings.slow_s)  # a full scan after an index was dropped
        totals = await db.rows(
            "SELECT job_id, count(*), sum(CASE WHEN completed THEN 1 ELSE 0 END)"
            " FROM core.backfill_progress GROUP BY job_id ORDER BY job_id")
        pending = await db.rows(
            "SELECT job_id, task_key, last_error, updated_at FROM core.backfill_progress"
            " WHERE completed = FALSE ORDER BY updated_at DESC LIMIT 50")
        return BackfillProgress(
            ok=True, jobs=[BackfillJob(job_id=j, total=t, completed=c) for j, t, c in totals],
            pending=[PendingTask(job_id=j, task_key=k, last_error=e, updated_at=_iso(u))
                     for j, k, e, u in pending])

    @server.tool(annotations=READ_ONLY)
    async def get_raw_error_summary(since_minutes: int = 60) -> RawErrorSummary:
        """4xx/5xx and rate-limit answers from the API in a recent window (000 §4, §5.1, §5.2)."""
        window = "now() - make_interval(mins => %s)"
        (total,), = await db.rows(
            f"SELECT count(*) FROM raw.api_responses WHERE fetched_at >= {window}", since_minutes)
        rows = await db.rows(
            "SELECT endpoint, status_code, count(*) FROM raw.api_responses"
            f" WHERE fetched_at >= {window} AND status_code >= 400"
            " GROUP BY endpoint, status_code ORDER BY count(*) DESC", since_minutes)
        return RawErrorSummary(ok=True, since_minutes=since_minutes, total_responses=total,
                               errors=[EndpointErrors(endpoint=e, status_code=s, count=n)
                                       for e, s, n in rows])

    @server.tool(annotations=READ_ONLY)
    async def get_recent_log_errors(limit: int = 50) -> RecentLogErrors:
        """The collector's latest error log events (000 §1.2 Phase 1.5, §4)."""
        rows = await db.rows(
            "SELECT logged_at, job_id, event, message FROM ops.log_events WHERE level = 'error'"
            " ORDER BY logged_at DESC LIMIT %s", limit)
        return RecentLogErrors(ok=True, errors=[
            LogError(logged_at=_iso(at) or "", job_id=j, event=e, message=m) for at, j, e, m in rows])

    @server.tool(annotations=None if "mcp_write_tool_exposed" in faults else READ_ONLY)
    async def get_last_sync_time(endpoint: str | None = None) -> LastSyncTime:
        """When each API endpoint was last fetched (000 §5.3)."""
        rows = await db.rows(
            "SELECT endpoint, max(fetched_at), count(*) FROM raw.api_responses"
            " WHERE %s::text IS NULL OR endpoint = %s::text GROUP BY endpoint ORDER BY endpoint",
            endpoint, endpoint)
        return LastSyncTime(ok=True, endpoints=[
            EndpointSync(endpoint=e, last_fetched=_iso(at), responses=n) for e, at, n in rows])

    if "mcp_write_tool_exposed" in faults:  # an admin tool shipped on the read-only server

        @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
        async def trigger_backfill(job_id: str) -> dict[str, Any]:
            """Queue a backfill run now (admin)."""
            return {"ok": False, "error": "the reference stack never runs this"}

    @server.custom_route("/mcp/{module}/health", methods=["GET"])
    async def module_health(request: Request) -> Response:
        """Runbook 003: each MCP module reports its own health."""
        module = request.path_params["module"]
        if module not in MODULES:
            return JSONResponse({"status": "unknown", "module": module}, 404)
        if "mcp_modules_unhealthy" in faults:  # each module fails its own way
            if module == "finbot":
                return JSONResponse({"status": "degraded", "module": module,
                                     "detail": "Promise.allSettled: 2 of 5 sources rejected"})
            if module == "mubot":
                return JSONResponse({"status": "down", "module": module,
                                     "detail": "redis cache timeout after 120 ms"}, 503)
            if module == "aiops":
                return Response("<html><head><title>AIOps - sign in</title></head></html>",
                                media_type="text/html")
            return JSONResponse({"module": module, "uptime_s": 12})
        return JSONResponse({"status": "ok", "module": module})

    return server


async def _fixtures(db: Database, limit: int) -> list[Fixture]:
    rows = await db.rows(
        "SELECT f.id, f.league_id, f.date_utc, f.status, h.name AS home, a.name AS away"
        " FROM core.fixtures f"
        " JOIN core.teams h ON h.id = f.home_team_id JOIN core.teams a ON a.id = f.away_team_id"
        " ORDER BY f.date_utc DESC, f.id LIMIT %s", max(0, min(limit, 100)))
    return [Fixture(id=i, league_id=lg, date_utc=_iso(d) or "", status=s, home_team=h, away_team=a)
            for i, lg, d, s, h, a in rows]


def build_app(settings: Settings) -> Any:
    """The server's Starlette app (the SDK's), its session manager(s), behind the fault layer."""
    faults = settings.faults
    db = Database(settings.dsn)
    server = build_server(settings, db)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection="mcp_origin_not_validated" not in faults,
        allowed_hosts=["127.0.0.1:*", "localhost:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*"])
    app = server.streamable_http_app(streamable_http_path="/mcp",
                                     stateless_http="mcp_no_session_id" in faults,
                                     transport_security=security)
    lifespans = [server.session_manager.run]
    sessionless = None
    if "mcp_no_session_enforcement" in faults:
        # A second, stateless manager of the same server answers requests that carry no session
        # id: the server issues sessions but never insists on them.
        manager = StreamableHTTPSessionManager(app=server._lowlevel_server, stateless=True,
                                               security_settings=security)
        sessionless = StreamableHTTPASGIApp(manager)
        lifespans.append(manager.run)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for run in lifespans:
                await stack.enter_async_context(run())
            yield

    app.router.lifespan_context = lifespan
    return FaultLayer(app, faults, sessionless=sessionless)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m releasegate.reference._mcp_server")
    parser.add_argument("--fd", type=int, required=True, help="an already bound listening socket")
    args = parser.parse_args(argv)
    config = uvicorn.Config(build_app(Settings.from_env()), log_level="warning", access_log=False,
                            lifespan="on")
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=args.fd)])


if __name__ == "__main__":
    main()


__all__ = ["MODULES", "build_app"]

"""Observability part of the reference stack: /metrics, a real Prometheus, a Sentry stand-in.

- In the app: 004's request-metrics middleware and /metrics (reference/instruments.py), gauges
  read from Postgres and Redis at scrape time, and the Sentry stand-in routes under /sentry.
- Beside the app: traffic (reference/traffic.py) whose real scrapes are backfilled as recent
  history into a real Prometheus server (reference/prometheus_server.py) that then scrapes the
  app every second and evaluates 004's and 003's alert rules; a light live traffic afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg
import redis.asyncio as aioredis
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from releasegate.reference import prometheus_server, sentry_standin
from releasegate.reference.app import QUEUE_KEY
from releasegate.reference.applog import LOG_ENV, LOG_NAME, SIGNALS_ABSENT, log_env
from releasegate.reference.instruments import Instruments, RequestMetrics, instruments
from releasegate.reference.parts import AppContext, Fault, Part, StackContext
from releasegate.reference.traffic import LiveTraffic, Plan, record_history

FAULTS = (
    Fault("metric_family_missing", "/metrics no longer exports db_connection_pool_size",
          "004 Metrics to Track"),
    Fault("metrics_content_type_wrong", "/metrics is served as application/json (a JSONResponse "
          "where 004 uses text/plain)", "004 Prometheus Integration"),
    Fault("db_pool_exhausted", "the app leaks DB connections: pool over 80 %, critical "
          "DBConnectionPoolExhausted firing", "004 Alerting Rules, Incident Response 1"),
    Fault("alert_rule_missing", "Prometheus runs without the HighCeleryTaskFailureRate rule",
          "004 Alerting Rules"),
    Fault("pii_in_logs", "request logs carry email and company_name", "004 PII Policy"),
    Fault("quiet_service", "almost no traffic reaches the service: too few samples to judge",
          "002 §6.2 minimum samples"),
    Fault(SIGNALS_ABSENT, "signal absent: /metrics answers 200 with no family (so Prometheus holds "
          "no series of the service) and the log file the profile names stays empty",
          "004 Prometheus Integration, Structured Logging; 002 §5.1"),
    Fault("sentry_dsn_malformed", "the deployed Sentry DSN has no project id", "001 §6.2"),
    Fault("sentry_event_lost", "Sentry accepts the test event but it never shows up", "001 §6.2"),
)

HISTORY_ROUNDS = 32  # 16 minutes of history, a scrape every 30 s: the runbook's 5/10/15 min windows
HISTORY_STEP_S = 30.0
LIVE_INTERVAL_S = 30.0
SENTRY_PROJECT_ID, SENTRY_ORG, SENTRY_PROJECT = "42", "reference", "reference-api"
SENTRY_KEY_ENV, SENTRY_TOKEN_ENV = "RG_SENTRY_KEY", "RG_SENTRY_TOKEN"
LEAKED_CONNECTIONS = 17  # db_pool_exhausted: 17 + the app's own of 20 is over 80 %


class Exporter:
    """Reads what the gauges mirror (Postgres connections, Redis INFO, queue depth) at scrape time."""

    def __init__(self, ctx: AppContext, m: Instruments) -> None:
        self.ctx = ctx
        self.m = m
        self._db: psycopg.AsyncConnection[Any] | None = None
        self._redis = aioredis.from_url(ctx.settings.redis_url, socket_timeout=1,
                                        socket_connect_timeout=1)
        self._leaked: list[psycopg.AsyncConnection[Any]] = []

    async def refresh(self) -> None:
        await asyncio.gather(self._refresh_db(), self._refresh_redis())

    async def _refresh_db(self) -> None:
        if self.m.db_pool is None:
            return
        try:
            if self._db is None or self._db.closed:
                self._db = await psycopg.AsyncConnection.connect(
                    self.ctx.settings.dsn, connect_timeout=1, autocommit=True,
                    application_name="reference-metrics")
            cur = await self._db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND application_name <> 'reference-metrics'")
            row = await cur.fetchone()
            self.m.db_pool.set(row[0] if row else 0)
        except psycopg.Error:
            self._db = None  # the gauge keeps its last value, as an exporter's would

    async def _refresh_redis(self) -> None:
        try:
            info = await self._redis.info()
            self.m.redis_info.info = info
            self.m.queue_depth.set(await self._redis.llen(QUEUE_KEY))
            pool = self._redis.connection_pool
            self.m.redis_pool.set(len(getattr(pool, "_in_use_connections", ())))
        except (aioredis.RedisError, OSError):
            self.m.redis_info.info = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        if "db_pool_exhausted" in self.ctx.faults:  # a leak: connections opened and never closed
            for _ in range(LEAKED_CONNECTIONS):
                self._leaked.append(await psycopg.AsyncConnection.connect(
                    self.ctx.settings.dsn, connect_timeout=2, application_name="reference"))
        try:
            yield
        finally:
            for conn in [*self._leaked, *([self._db] if self._db else [])]:
                await conn.close()
            await self._redis.aclose()


def routes(ctx: AppContext) -> Sequence[BaseRoute]:
    m = instruments(ctx)
    exporter = Exporter(ctx, m)
    ctx.middleware.append(Middleware(RequestMetrics, instruments=m))
    ctx.lifespans.append(exporter.running)

    async def metrics(request: Request) -> Response:
        await exporter.refresh()
        body, content_type = m.exposition(request.headers.get("accept"))
        if SIGNALS_ABSENT in ctx.faults:  # /metrics answers, exporting nothing
            body, content_type = b"", "text/plain; version=0.0.4; charset=utf-8"
        if "metrics_content_type_wrong" in ctx.faults:
            content_type = "application/json"
        return Response(body, headers={"content-type": content_type})

    sentry = sentry_standin.routes(os.environ.get(SENTRY_KEY_ENV, ""),
                                   os.environ.get(SENTRY_TOKEN_ENV, ""),
                                   {SENTRY_PROJECT_ID: SENTRY_PROJECT}, ctx.faults)
    return [Route("/metrics", metrics), *sentry]


# --- orchestrator side ----------------------------------------------------------------------


def secrets(ctx: StackContext) -> dict[str, str]:
    if "sentry_secrets" not in ctx.facts:
        ctx.facts["sentry_secrets"] = {"key": uuid.uuid4().hex, "token": f"rg-sntrys-{uuid.uuid4().hex}"}
    return ctx.facts["sentry_secrets"]


def before_app(ctx: StackContext) -> None:
    s = secrets(ctx)
    ctx.app_env.update({SENTRY_KEY_ENV: s["key"], SENTRY_TOKEN_ENV: s["token"],
                        LOG_ENV: log_env(ctx.root, ctx.faults)})


def after_app(ctx: StackContext) -> None:
    """Traffic with real scrapes → backfilled history → Prometheus; then live traffic."""
    api_key = ctx.facts.get("pilot_keys", {}).get("api", "")
    quiet = "quiet_service" in ctx.faults
    started = time.perf_counter()
    snapshots = asyncio.run(record_history(ctx.base_url, Plan(api_key, quiet=quiet), HISTORY_ROUNDS))
    target = urlsplit(ctx.base_url).netloc
    history = prometheus_server.backfill_text(snapshots, time.time(), HISTORY_STEP_S,
                                              {"job": prometheus_server.JOB, "instance": target})
    omit = ["HighCeleryTaskFailureRate"] if "alert_rule_missing" in ctx.faults else []
    server = prometheus_server.start(ctx.root, target, history, omit_rules=omit)
    ctx.exit_stack.callback(server.stop)
    ctx.facts["prometheus_url"] = server.url
    ctx.log(f"prometheus on {server.url} with {HISTORY_ROUNDS} scrapes of history "
            f"({time.perf_counter() - started:.1f}s)")
    every = float(os.environ.get("RG_TRAFFIC_INTERVAL_S", LIVE_INTERVAL_S))  # watch self-tests: 0.5
    live = LiveTraffic(ctx.base_url, Plan(api_key, quiet=quiet, pilot=False), every).start()
    ctx.exit_stack.callback(live.stop)


def profile(ctx: StackContext) -> dict[str, Any]:
    s = secrets(ctx)
    host = urlsplit(ctx.base_url).netloc
    project = "" if "sentry_dsn_malformed" in ctx.faults else SENTRY_PROJECT_ID
    section: dict[str, Any] = {
        "metrics": {
            "endpoint": {"base_url": ctx.base_url, "path": "/metrics"},
            "alert_rules": {"required": [r["alert"] for r in prometheus_server.RULES],
                            "critical": ["DBConnectionPoolExhausted", "RedisDown"]},
            "logs": {"file": str(ctx.root / LOG_NAME), "max_lines": 5000},
        },
        "sentry": {
            "dsn": f"${{RG_REFERENCE_SENTRY_DSN:-http://{s['key']}@{host}/sentry/{project}}}",
            "api": {"base_url": f"{ctx.base_url}/sentry", "org": SENTRY_ORG,
                    "project": SENTRY_PROJECT,
                    "token": f"${{RG_REFERENCE_SENTRY_TOKEN:-{s['token']}}}"},
            "wait_s": 3,
            "poll_s": 0.25,
        },
    }
    if "prometheus_url" in ctx.facts:
        section["metrics"]["prometheus"] = {"base_url": ctx.facts["prometheus_url"],
                                            "selector": f'job="{prometheus_server.JOB}"'}
    return section


PART = Part("observability", order=55, faults=FAULTS, routes=routes, before_app=before_app,
            after_app=after_app, profile=profile)


"""Rollback part of the reference stack: the invoice pipeline pilot of runbook 002.

- POST /full-process?tenant_id=… (002 §3.1): classifies an invoice, records the job and its
  incident (S1/S2) in Postgres, queues a follow-up task for the worker; the pilot tenant obeys
  the kill switch (§3.2) and the hourly limit (§3.3, 429).
- GET /jobs/{job_id}?tenant_id=… — a job, visible only under its own tenant (§3.1 isolation).
- /admin/pilot (kill switch), /admin/feedback-stats, /admin/system-health (§4.1), behind
  X-Admin-Key.
- A queue worker (Celery-style task counters, 004) and the §5.1 run_summary log line written
  after every ten invoices of a tenant; the §2.1 startup line with build_id and config_hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
import redis.asyncio as aioredis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from releasegate.reference._pilot_store import PilotDb, TenantStats
from releasegate.reference.app import QUEUE_KEY, config_hash
from releasegate.reference.applog import LOG_ENV, LOG_NAME, app_log, log_env
from releasegate.reference.instruments import instruments
from releasegate.reference.parts import AppContext, Fault, Part, StackContext

FAULTS = (
    Fault("error_5xx_burst", "one in four API requests answers 500", "002 §6.1, 004 High Error Rate"),
    Fault("latency_spike", "POST /full-process answers ~1.2 s late", "002 §6.1-6.2, 004 HighLatency"),
    Fault("queue_stuck", "the queue worker stops: depth rises and nothing is consumed", "002 §6.1"),
    Fault("s1_spike", "half of the incidents are S1", "002 §6.1-6.2"),
    Fault("task_failures", "a third of the queue tasks fail", "004 HighCeleryTaskFailureRate"),
    Fault("run_summary_malformed", "run_summary lines lose build_id, counts and rates", "002 §5.1"),
    Fault("kill_switch_ignored", "the kill switch reports the pilot off but pilot jobs still run",
          "002 §3.2"),
    Fault("rate_limit_never_429", "pilot jobs over the hourly limit are still accepted", "002 §3.3"),
    Fault("pilot_data_leaks", "a pilot job is visible under any tenant_id", "002 §3.1"),
    Fault("feedback_stats_down", "/admin/feedback-stats answers 500", "002 §4.1"),
    Fault("system_health_down", "/admin/system-health answers 500", "002 §4.1"),
)

PILOT_TENANT = "pilot"
SLOW_S = 1.2  # latency_spike: over 004's 1 s p95 and over 2x the reference baseline
SUMMARY_EVERY = 10  # invoices of a tenant per run_summary line ("her run sonunda")
API_KEY_ENV, ADMIN_KEY_ENV, LIMIT_ENV = "RG_API_KEY", "RG_ADMIN_KEY", "RG_PILOT_MAX_PER_HOUR"


class Pipeline:
    """The invoice pipeline's state in the app process."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.faults = ctx.faults
        self.settings = ctx.settings
        self.m = instruments(ctx)
        self.db = PilotDb(ctx.settings.dsn)
        self.redis = aioredis.from_url(ctx.settings.redis_url, socket_timeout=1,
                                       socket_connect_timeout=1)
        self.api_key = os.environ.get(API_KEY_ENV, "")
        self.admin_key = os.environ.get(ADMIN_KEY_ENV, "")
        self.limit = int(os.environ.get(LIMIT_ENV, "50"))
        self.enabled = True  # PILOT_ENABLED
        self.stats: dict[str, TenantStats] = {}
        self.max_depth = 0
        self.burst = itertools.count(1)
        self.tasks_run = itertools.count(1)
        self.log = app_log()

    # --- classification: deterministic shares, so a fault moves a rate by a known amount ------

    def classify(self, tenant: TenantStats) -> dict[str, Any]:
        """The tenant's n-th invoice: every third is a mismatch (an incident), one incident in
        ten is S1 (s1_spike: every other one), one in five OCR-suspect, three in five get feedback,
        one invoice in twelve is accepted with rounding."""
        n = tenant.classified  # counted here, before any await: concurrent requests stay distinct
        tenant.classified += 1
        incident = n % 3 == 2
        k = tenant.incidents_classified
        tenant.incidents_classified += incident
        s1 = incident and (k % 2 == 0 if "s1_spike" in self.faults else k % 10 == 9)
        return {"incident": incident, "severity": "S1" if s1 else "S2",
                "ocr_suspect": incident and k % 5 == 4, "feedback": incident and k % 5 < 3,
                "accept_rounding": n % 12 == 1}

    def burst_error(self) -> bool:
        """error_5xx_burst: every fourth API request fails."""
        return "error_5xx_burst" in self.faults and next(self.burst) % 4 == 0

    async def pilot_jobs_last_hour(self) -> int:
        rows = await self.db.run("SELECT count(*) FROM pilot.jobs WHERE tenant_id = %s "
                                 "AND created_at > now() - interval '1 hour'", (PILOT_TENANT,))
        return int(rows[0][0])

    async def status(self) -> dict[str, Any]:
        """002 §2.4's pilot block of /health/ready."""
        block: dict[str, Any] = {"enabled": self.enabled, "tenant_id": PILOT_TENANT}
        with contextlib.suppress(psycopg.Error):
            current = await self.pilot_jobs_last_hour()
            block["rate_limit"] = {"current": current, "limit": self.limit,
                                   "remaining": max(self.limit - current, 0), "window_seconds": 3600}
        return block

    def tenant(self, tenant_id: str) -> TenantStats:
        return self.stats.setdefault(tenant_id, TenantStats())

    def run_summary(self, tenant_id: str, depth: int) -> None:
        """002 §5.1: one JSON line per run; cumulative for the tenant since start."""
        s = self.tenant(tenant_id)
        if "run_summary_malformed" in self.faults:  # a serializer change broke the line
            self.log.raw(json.dumps({"event": "run_summary", "timestamp": time.time(),
                                     "tenant_id": tenant_id, "counts": "unavailable",
                                     "rates": None}))
            return
        per_incident = max(s.incidents, 1)
        self.log.write(
            "run_summary", build_id=self.settings.build_id, config_hash=config_hash(self.settings),
            tenant_id=tenant_id,
            counts={"total_invoices": s.invoices, "incident_count": s.incidents, "s1_count": s.s1,
                    "s2_count": s.s2, "ocr_suspect_count": s.ocr_suspect,
                    "accept_rounding_count": s.accept_rounding},
            rates={"mismatch_rate": round(s.incidents / max(s.invoices, 1), 4),
                   "s1_rate": round(s.s1 / per_incident, 4),
                   "ocr_suspect_rate": round(s.ocr_suspect / per_incident, 4),
                   "feedback_coverage": round(s.feedback / per_incident, 4)},
            latency={"p95_pipeline_total_ms": s.p95_ms()},
            queue={"depth": depth, "max_depth": self.max_depth},
            errors={"4xx": s.errors_4xx, "5xx": s.errors_5xx})

    # --- the worker ----------------------------------------------------------------------------

    async def work(self) -> None:
        """Consume the follow-up tasks /full-process queues (queue_stuck: never)."""
        task = "notify_operator"
        while True:
            if "queue_stuck" in self.faults:
                await asyncio.sleep(3600)
            try:
                items = await self.redis.rpop(QUEUE_KEY, 100)
            except (aioredis.RedisError, OSError):
                items = None
            for _ in items or ():
                self.m.tasks.labels(task=task).inc()
                if "task_failures" in self.faults and next(self.tasks_run) % 3 == 0:
                    self.m.tasks_failed.labels(task=task).inc()
            await asyncio.sleep(0.02 if items else 0.05)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """App lifespan: the 002 §2.1 startup line, the worker, and closing connections."""
        self.log.write("startup", message=f"Config validation passed build_id={self.settings.build_id} "
                                          f"config_hash={config_hash(self.settings)}",
                       build_id=self.settings.build_id, config_hash=config_hash(self.settings),
                       environment=self.settings.environment)
        worker = asyncio.create_task(self.work())
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await self.db.close()
            await self.redis.aclose()


def routes(ctx: AppContext) -> Sequence[BaseRoute]:
    p = Pipeline(ctx)
    ctx.shared["pilot_status"] = p.status
    ctx.lifespans.append(p.running)

    def denied(request: Request, key: str, header: str) -> Response | None:
        if key and request.headers.get(header) != key:
            return JSONResponse({"detail": f"missing or wrong {header}"}, 401)
        return None

    async def full_process(request: Request) -> Response:
        started = time.perf_counter()
        if (refused := denied(request, p.api_key, "X-API-Key")) is not None:
            return refused
        tenant_id = request.query_params.get("tenant_id", "")
        if not tenant_id:
            return JSONResponse({"detail": "tenant_id is required"}, 400)
        stats = p.tenant(tenant_id)
        body = await request.body()
        if tenant_id == PILOT_TENANT:
            if not p.enabled and "kill_switch_ignored" not in p.faults:
                return JSONResponse({"status": "skipped", "tenant_id": tenant_id,
                                     "reason": "PILOT_ENABLED=false: pilot jobs are skipped"})
            try:
                current = await p.pilot_jobs_last_hour()
            except psycopg.Error:
                return JSONResponse({"detail": "database unavailable"}, 503)
            if current >= p.limit and "rate_limit_never_429" not in p.faults:
                stats.errors_4xx += 1
                return JSONResponse({"detail": f"PILOT_MAX_INVOICES_PER_HOUR ({p.limit}) reached"},
                                    429, headers={"Retry-After": "3600"})
        if p.burst_error():
            stats.errors_5xx += 1
            return JSONResponse({"detail": "internal error: classifier crashed"}, 500)
        if "latency_spike" in p.faults:
            await asyncio.sleep(SLOW_S)
        verdict = p.classify(stats)
        job_id = f"job-{uuid.uuid4().hex[:12]}"
        try:
            await p.db.run("INSERT INTO pilot.jobs (job_id, tenant_id, filename, size_bytes, status) "
                           "VALUES (%s, %s, %s, %s, 'processed')",
                           (job_id, tenant_id, "invoice.pdf", len(body)))
            if verdict["incident"]:
                await p.db.run("INSERT INTO pilot.incidents (job_id, tenant_id, severity, "
                               "ocr_suspect, feedback) VALUES (%s, %s, %s, %s, %s)",
                               (job_id, tenant_id, verdict["severity"], verdict["ocr_suspect"],
                                verdict["feedback"]))
        except psycopg.Error:
            stats.errors_5xx += 1
            return JSONResponse({"detail": "database unavailable"}, 503)
        depth = 0
        with contextlib.suppress(aioredis.RedisError, OSError):
            depth = int(await p.redis.lpush(QUEUE_KEY, job_id))
        p.max_depth = max(p.max_depth, depth)
        p.m.invoices.labels(tenant_id=tenant_id).inc()
        stats.invoices += 1
        stats.accept_rounding += verdict["accept_rounding"]
        if verdict["incident"]:
            p.m.incidents.labels(severity=verdict["severity"]).inc()
            stats.incidents += 1
            stats.s1 += verdict["severity"] == "S1"
            stats.s2 += verdict["severity"] == "S2"
            stats.ocr_suspect += verdict["ocr_suspect"]
            stats.feedback += verdict["feedback"]
        stats.latencies_ms.append((time.perf_counter() - started) * 1000)
        scan: dict[str, Any] = {"domain": f"{tenant_id}.example.com", "score": 85,
                                "segment": "Migration", "scan_status": "success", "job_id": job_id}
        if "pii_in_logs" in p.faults:  # 004 PII Policy: forbidden fields
            scan |= {"email": f"billing@{tenant_id}-corp.com", "company_name": f"{tenant_id.title()} Inc"}
        p.log.write("scan_completed", tenant_id=tenant_id, **scan)
        if stats.invoices % SUMMARY_EVERY == 0:
            p.run_summary(tenant_id, depth)
        return JSONResponse({"job_id": job_id, "tenant_id": tenant_id, "status": "processed",
                             "incident": verdict["severity"] if verdict["incident"] else None})

    async def job(request: Request) -> Response:
        tenant_id = request.query_params.get("tenant_id", "")
        if p.burst_error():
            return JSONResponse({"detail": "internal error"}, 500)
        sql = "SELECT job_id, tenant_id, status, created_at::text FROM pilot.jobs WHERE job_id = %s"
        params: tuple[Any, ...] = (request.path_params["job_id"],)
        if "pilot_data_leaks" not in p.faults:
            sql += " AND tenant_id = %s"
            params += (tenant_id,)
        try:
            rows = await p.db.run(sql, params)
        except psycopg.Error:
            return JSONResponse({"detail": "database unavailable"}, 503)
        if not rows:
            return JSONResponse({"detail": "job not found"}, 404)
        job_id, owner, status, created = rows[0]
        return JSONResponse({"job_id": job_id, "tenant_id": owner, "status": status,
                             "created_at": created})

    async def admin_pilot(request: Request) -> Response:
        if (refused := denied(request, p.admin_key, "X-Admin-Key")) is not None:
            return refused
        if request.method == "POST":
            try:
                wanted = (await request.json())["enabled"]
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"detail": 'body must be {"enabled": true|false}'}, 400)
            if not isinstance(wanted, bool):
                return JSONResponse({"detail": "enabled must be a boolean"}, 400)
            p.enabled = wanted
            p.log.write("pilot_kill_switch", enabled=wanted)
        return JSONResponse(await p.status())

    async def feedback_stats(request: Request) -> Response:
        if (refused := denied(request, p.admin_key, "X-Admin-Key")) is not None:
            return refused
        if "feedback_stats_down" in p.faults:
            return JSONResponse({"detail": "feedback store unavailable"}, 500)
        tenant_id = request.query_params.get("tenant_id", PILOT_TENANT)
        try:
            rows = await p.db.run("SELECT count(*), count(*) FILTER (WHERE feedback) "
                                  "FROM pilot.incidents WHERE tenant_id = %s", (tenant_id,))
        except psycopg.Error:
            return JSONResponse({"detail": "database unavailable"}, 503)
        resolved, with_feedback = rows[0]
        return JSONResponse({"tenant_id": tenant_id, "resolved_incidents": resolved,
                             "feedback_count": with_feedback,
                             "feedback_coverage": round(with_feedback / resolved, 4) if resolved else 0})

    async def system_health(request: Request) -> Response:
        if (refused := denied(request, p.admin_key, "X-Admin-Key")) is not None:
            return refused
        if "system_health_down" in p.faults:
            return JSONResponse({"detail": "metrics store unavailable"}, 500)
        tenant_id = request.query_params.get("tenant_id", PILOT_TENANT)
        try:
            rows = await p.db.run("SELECT count(*) FROM pilot.incidents WHERE tenant_id = %s "
                                  "AND created_at > now() - interval '1 hour'", (tenant_id,))
            depth = int(await p.redis.llen(QUEUE_KEY))
        except (psycopg.Error, aioredis.RedisError, OSError):
            return JSONResponse({"detail": "dependency unavailable"}, 503)
        return JSONResponse({"tenant_id": tenant_id, "status": "ok", "pilot_enabled": p.enabled,
                             "incidents_last_hour": rows[0][0], "queue_depth": depth})

    return [Route("/full-process", full_process, methods=["POST"]),
            Route("/jobs/{job_id}", job),
            Route("/admin/pilot", admin_pilot, methods=["GET", "POST"]),
            Route("/admin/feedback-stats", feedback_stats),
            Route("/admin/system-health", system_health)]


# --- orchestrator side ----------------------------------------------------------------------


def keys(ctx: StackContext) -> dict[str, str]:
    """The stack's API and admin keys (made once; the profile gives them as ${VAR:-…})."""
    if "pilot_keys" not in ctx.facts:
        ctx.facts["pilot_keys"] = {"api": f"rg-api-{uuid.uuid4().hex[:16]}",
                                   "admin": f"rg-admin-{uuid.uuid4().hex[:16]}"}
    return ctx.facts["pilot_keys"]


def before_app(ctx: StackContext) -> None:
    k = keys(ctx)
    ctx.app_env.update({API_KEY_ENV: k["api"], ADMIN_KEY_ENV: k["admin"], LIMIT_ENV: "10",
                        LOG_ENV: log_env(ctx.root, ctx.faults)})


def profile(ctx: StackContext) -> dict[str, Any]:
    k = keys(ctx)
    log = {"file": str(ctx.root / LOG_NAME), "max_lines": 5000}
    return {
        "rollback": {
            "previous_build": "git:0ld0ld0",  # the stable build this release replaced (002 §7.1)
            "deployment": "deployment/api",
            "logs": log,
            "run_summary": {},
            "triggers": {
                # windows of 1 h and 30 min shortened to the history the stack keeps (16 min)
                "s1_spike": {"window": "15m"},
                "latency_spike": {"window": "15m", "baseline_s": 0.25},
                "ready_stable": {"window": "15m"},
            },
        },
        "pilot": {
            "base_url": ctx.base_url,
            "headers": {"X-API-Key": f"${{RG_REFERENCE_API_KEY:-{k['api']}}}"},
            "admin_headers": {"X-Admin-Key": f"${{RG_REFERENCE_ADMIN_KEY:-{k['admin']}}}"},
            "tenant_id": PILOT_TENANT,
            "other_tenant": "acme",
            "rate_limit": {"max_probe_jobs": 20},
        },
    }


PART = Part("rollback", order=60, faults=FAULTS, seed_sql=("pilot.sql",), routes=routes,
            before_app=before_app, profile=profile)

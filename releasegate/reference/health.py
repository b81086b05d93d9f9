"""Health part of the reference stack: both health flavours of the runbooks.

- 001 / 004 (Hunter): /healthz/live, /healthz/ready, /healthz/startup and legacy /healthz.
- 002 (invoice pipeline): /health/ready with build_id, config_hash and checks.*.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from releasegate.reference.app import config_hash
from releasegate.reference.parts import AppContext, Fault, Part, StackContext

FAULTS = (
    Fault("db_down", "Postgres is stopped after boot: readiness must report 503 and db error",
          "001 §6.1, 002 §2.2"),
    Fault("redis_down", "Redis is stopped after boot: readiness must report 503 and redis error",
          "001 §6.1, 001 §6.4"),
    Fault("ready_200_while_db_down", "Postgres is stopped but /healthz/ready still answers 200",
          "004 Readiness Probe"),
    Fault("live_depends_on_db", "/healthz/live queries the database and reports it",
          "001 §6.1 Liveness, 004 Liveness Probe"),
    Fault("wrong_environment", "the service reports environment 'development'",
          "001 §6.1 checklist"),
    Fault("build_id_missing", "/health/ready has no build_id", "002 §2.1"),
    Fault("build_id_stale", "/health/ready reports an older build than the one deployed",
          "002 §2.1"),
    Fault("config_hash_malformed", "/health/ready config_hash is not sha256:<hex>", "002 §2.1"),
    Fault("ready_slow", "/healthz/ready answers after its probe timeoutSeconds", "004 Readiness Probe"),
    Fault("probes_slow", "/healthz/live, /ready and /startup all answer after their timeoutSeconds",
          "004 Kubernetes probe config"),
    Fault("health_body_malformed", "the /healthz probes answer 200 with a body missing status",
          "001 §6.1 expected response"),
    Fault("config_invalid", "/health/ready reports checks.config error (validate_config failed)",
          "002 §2.2, §2.3"),
    Fault("ready_flapping", "/healthz/ready alternates 200 and 503", "002 §1.3"),
    Fault("startup_stuck", "/healthz/startup answers 503 forever", "001 §6.1, 004 Startup Probe"),
    Fault("legacy_healthz_gone", "legacy /healthz answers 404", "004 Legacy Health Check"),
)

# Faults the orchestrator applies by stopping a server once the app is up.
STOP_POSTGRES = frozenset({"db_down", "ready_200_while_db_down"})
STOP_REDIS = frozenset({"redis_down"})


def routes(ctx: AppContext) -> Sequence[BaseRoute]:
    settings, deps, faults = ctx.settings, ctx.deps, ctx.faults
    environment = "development" if "wrong_environment" in faults else settings.environment
    flap = itertools.cycle([200, 503])

    def malformed(body: dict[str, Any]) -> dict[str, Any]:
        """health_body_malformed: the shape a framework upgrade might leave behind."""
        return {"ok": body.get("status") in ("alive", "ready", "started")}

    async def live(_: Request) -> Response:
        if "probes_slow" in faults:
            await asyncio.sleep(settings.live_slow_s)
        if "health_body_malformed" in faults:
            return JSONResponse(malformed({"status": "alive"}))
        if "live_depends_on_db" in faults:
            ok, _detail, _ = await deps.database()
            body = {"status": "alive" if ok else "dead", "db": {"status": "ok" if ok else "error"}}
            return JSONResponse(body, 200 if ok else 503)
        return JSONResponse({"status": "alive"})

    async def ready(_: Request) -> Response:
        if faults & {"ready_slow", "probes_slow"}:
            await asyncio.sleep(settings.ready_slow_s)
        (db_ok, db_detail, _), (redis_ok, redis_detail, _) = await asyncio.gather(
            deps.database(), deps.redis())
        all_ok = db_ok and redis_ok
        code = 200 if all_ok else 503
        if "ready_200_while_db_down" in faults:
            code = 200
        if "ready_flapping" in faults:
            code = next(flap)
            all_ok = code == 200
        body = {
            "status": "ready" if all_ok else "not_ready",
            "environment": environment,
            "db": {"status": "ok" if db_ok else "error", **({} if db_ok else {"detail": db_detail})},
            "redis": {"status": "ok" if redis_ok else "error",
                      **({} if redis_ok else {"detail": redis_detail})},
            "checks": {"database": db_ok, "redis": redis_ok},
        }
        return JSONResponse(malformed(body) if "health_body_malformed" in faults else body, code)

    async def startup(_: Request) -> Response:
        if "probes_slow" in faults:
            await asyncio.sleep(settings.live_slow_s)  # well past startup's wait, never a tie
        if "startup_stuck" in faults or not deps.booted:
            return JSONResponse({"status": "starting"}, 503)
        body = {"status": "started"}
        return JSONResponse(malformed(body) if "health_body_malformed" in faults else body)

    async def legacy(_: Request) -> Response:
        if "legacy_healthz_gone" in faults:
            return JSONResponse({"detail": "Not Found"}, 404)
        (db_ok, _, _), (redis_ok, _, _) = await asyncio.gather(deps.database(), deps.redis())
        return JSONResponse({  # 004: always 200, even when a dependency is down
            "status": "ok" if db_ok and redis_ok else "degraded",
            "database": "connected" if db_ok else "disconnected",
            "redis": "connected" if redis_ok else "disconnected",
            "environment": environment,
        })

    async def pilot_status() -> dict[str, Any]:
        """002 §2.4's pilot block: from the part that runs the pilot, when one does."""
        provider = ctx.shared.get("pilot_status")
        if provider is not None:
            return await provider()
        return {"enabled": True, "tenant_id": "pilot",
                "rate_limit": {"current": 0, "limit": 50, "remaining": 50, "window_seconds": 3600}}

    async def release_ready(_: Request) -> Response:
        (db_ok, db_detail, db_ms), (redis_ok, _, depth) = await asyncio.gather(
            deps.database(), deps.redis())
        checks = {
            "config": {"status": "error", "validated": False, "detail": "validate_config() failed"}
            if "config_invalid" in faults else {"status": "ok", "validated": True},
            "database": {"status": "ok", "latency_ms": db_ms} if db_ok
            else {"status": "error", "detail": db_detail},
            "queue": {"status": "ok", "depth": depth} if redis_ok
            else {"status": "error", "detail": "queue backend unreachable"},
        }
        all_ok = all(c["status"] == "ok" for c in checks.values())
        body: dict[str, Any] = {
            "status": "ready" if all_ok else "not_ready",
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_id": "git:0ld0ld0" if "build_id_stale" in faults else settings.build_id,
            "config_hash": ("sha256:NOT-A-HASH!" if "config_hash_malformed" in faults
                            else config_hash(settings)),
            "checks": checks,
            "pilot": await pilot_status(),
        }
        if "build_id_missing" in faults:
            del body["build_id"]
        return JSONResponse(body, 200 if all_ok else 503)

    return [Route("/healthz/live", live), Route("/healthz/ready", ready),
            Route("/healthz/startup", startup), Route("/healthz", legacy),
            Route("/health/ready", release_ready)]


def stop_servers(ctx: StackContext) -> None:
    if STOP_POSTGRES & ctx.faults:
        ctx.postgres.stop()
    if STOP_REDIS & ctx.faults:
        ctx.redis.stop()


def profile(ctx: StackContext) -> dict[str, Any]:
    settings = ctx.facts["settings"]
    return {"health": {
        "base_url": ctx.base_url,
        "probes": {
            "live": {"path": "/healthz/live", "timeout_s": 2},
            "ready": {"path": "/healthz/ready", "timeout_s": 1, "expect_redis": True},
            "startup": {"path": "/healthz/startup", "timeout_s": 1, "wait_s": 1.5, "period_s": 0.25},
        },
        "legacy": {"path": "/healthz", "expect": "supported"},
        "release": {"path": "/health/ready", "timeout_s": 2, "build_id": settings.build_id,
                    "config_hash": config_hash(settings),
                    "required_checks": ["config", "database", "queue"]},
        "stability": {"polls": 3, "window_s": 0.6},
    }}


PART = Part("health", order=0, faults=FAULTS, routes=routes, apply_faults=stop_servers,
            profile=profile)

"""The reference service: both health flavours of the runbooks, on real Postgres and Redis.

- 001 / 004 (Hunter): /healthz/live, /healthz/ready, /healthz/startup and legacy /healthz.
- 002 (invoice pipeline): /health/ready with build_id, config_hash and checks.*.

Faults (reference/faults.py) are read once from RG_FAULTS at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import psycopg
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

QUEUE_KEY = "reference:jobs"  # the service's own work queue; checks never write here


@dataclass
class Settings:
    dsn: str
    redis_url: str
    environment: str
    build_id: str
    faults: frozenset[str]
    ready_slow_s: float = 1.5
    live_slow_s: float = 2.3

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            dsn=os.environ["RG_DSN"],
            redis_url=os.environ["RG_REDIS_URL"],
            environment=os.environ.get("RG_ENVIRONMENT", "staging"),
            build_id=os.environ.get("RG_BUILD_ID", "git:0000000"),
            faults=frozenset(f for f in os.environ.get("RG_FAULTS", "").split(",") if f),
            ready_slow_s=float(os.environ.get("RG_READY_SLOW_S", "1.5")),
            live_slow_s=float(os.environ.get("RG_LIVE_SLOW_S", "2.3")),
        )

    def summary(self) -> dict[str, Any]:
        """What config_hash covers (002 §12): the settings, never the credentials."""
        return {"environment": self.environment, "queue": QUEUE_KEY, "pilot_enabled": True}


def config_hash(settings: Settings) -> str:
    """002 §12: sha256 of the sorted config summary, first 16 hex characters."""
    digest = hashlib.sha256(json.dumps(settings.summary(), sort_keys=True).encode()).hexdigest()
    return f"sha256:{digest[:16]}"


@dataclass
class Dependencies:
    """Probes of Postgres and Redis that keep one connection each and reconnect on failure."""

    settings: Settings
    _db: psycopg.AsyncConnection[Any] | None = None
    _redis: aioredis.Redis | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def database(self) -> tuple[bool, str, float]:
        started = time.perf_counter()
        async with self._lock:
            for _attempt in range(2):
                try:
                    if self._db is None or self._db.closed:
                        self._db = await psycopg.AsyncConnection.connect(
                            self.settings.dsn, connect_timeout=2, autocommit=True)
                    await self._db.execute("SELECT 1")
                    return True, "ok", _ms(started)
                except psycopg.Error as exc:
                    if self._db is not None:
                        await self._db.close()
                    self._db = None
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
            return False, reason, _ms(started)

    async def redis(self) -> tuple[bool, str, int | None]:
        if self._redis is None:
            self._redis = aioredis.from_url(self.settings.redis_url, socket_timeout=1,
                                            socket_connect_timeout=1)
        try:
            await self._redis.ping()
            depth = int(await self._redis.llen(QUEUE_KEY))
            return True, "ok", depth
        except (aioredis.RedisError, OSError) as exc:
            return False, f"connection failed: {type(exc).__name__}", None

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
        if self._redis is not None:
            await self._redis.aclose()


async def up(_: Request) -> Response:
    return JSONResponse({"up": True})


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    deps = Dependencies(settings)
    faults = settings.faults
    environment = "development" if "wrong_environment" in faults else settings.environment
    flap = itertools.cycle([200, 503])
    booted = {"done": False}

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
        if "startup_stuck" in faults or not booted["done"]:
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
            "pilot": {"enabled": True, "tenant_id": "pilot",
                      "rate_limit": {"current": 0, "limit": 50, "remaining": 50,
                                     "window_seconds": 3600}},
        }
        if "build_id_missing" in faults:
            del body["build_id"]
        return JSONResponse(body, 200 if all_ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await deps.database()
        booted["done"] = True
        yield
        await deps.close()

    routes: list[tuple[str, Callable[[Request], Awaitable[Response]]]] = [
        ("/healthz/live", live), ("/healthz/ready", ready), ("/healthz/startup", startup),
        ("/healthz", legacy), ("/health/ready", release_ready),
        ("/__reference/up", up),  # for the orchestrator only: no fault touches it
    ]
    app = Starlette(routes=[Route(path, fn) for path, fn in routes], lifespan=lifespan)
    app.state.settings = settings
    return app

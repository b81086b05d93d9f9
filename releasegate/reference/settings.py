"""The reference app's settings and its probes of Postgres and Redis.

Apart from app.py so the parts registry (parts.py) can name these types without importing the
app and the routes it builds from the parts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
import redis.asyncio as aioredis

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
    booted: bool = False  # set once the lifespan has run: /healthz/startup answers 200 from then
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


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

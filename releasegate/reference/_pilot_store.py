"""The pilot pipeline's state: per-tenant run_summary counters and its Postgres connection."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg


@dataclass
class TenantStats:
    """What a run_summary line counts, per tenant, since the service started."""

    classified: int = 0  # invoices and incidents classified so far (the deterministic pattern)
    incidents_classified: int = 0
    invoices: int = 0
    incidents: int = 0
    s1: int = 0
    s2: int = 0
    ocr_suspect: int = 0
    accept_rounding: int = 0
    feedback: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))

    def p95_ms(self) -> int:
        ordered = sorted(self.latencies_ms)
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]) if ordered else 0


class PilotDb:
    """One Postgres connection for the pipeline's writes, reconnecting after a failure."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self.dsn, connect_timeout=2, autocommit=True, application_name="reference")
                cur = await self._conn.execute(sql, params)
                return await cur.fetchall() if cur.description else []
            except psycopg.Error:
                if self._conn is not None:
                    await self._conn.close()
                self._conn = None
                raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

"""Read-only queries for the reference stack's Read API and v1 API parts: one connection, reused.

Not a part (the leading underscore keeps discovery away): reference/readapi.py and
reference/versioning.py share it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row


class DatabaseDown(Exception):
    """The query could not run: the part answers 503."""


@dataclass
class Queries:
    dsn: str
    _conn: psycopg.AsyncConnection[Any] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def rows(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        async with self._lock:
            for _attempt in range(2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = await psycopg.AsyncConnection.connect(
                            self.dsn, connect_timeout=2, autocommit=True, row_factory=dict_row,
                            options="-c default_transaction_read_only=on -c statement_timeout=2s")
                    cursor = await self._conn.execute(sql, params)
                    return await cursor.fetchall()
                except psycopg.OperationalError as exc:
                    if self._conn is not None:
                        await self._conn.close()
                    self._conn = None
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
            raise DatabaseDown(reason)

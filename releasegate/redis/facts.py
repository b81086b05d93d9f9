"""What Redis URLs and INFO say, without talking to Redis (no redis-py import: cheap to collect).

Pure helpers shared by the engine (releasegate/redis/engine.py), the per-check view and the checks.
"""

from __future__ import annotations

import shlex
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def endpoint_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
    except ValueError:
        return "?"


def without_userinfo(url: str) -> str:
    """The same server's URL with no user or password in it."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (inclusive method: the value at or below which 95 % fall)."""
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=20, method="inclusive")[18])


@dataclass
class Memory:
    used: int
    limit: int  # maxmemory, or total_system_memory when maxmemory is 0
    limit_kind: str  # "maxmemory" | "total_system_memory"
    policy: str
    maxmemory: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.used / self.limit if self.limit else None


def memory_of(info: dict[str, Any]) -> Memory:
    """Used memory against maxmemory (or the machine's memory when there is no maxmemory)."""
    maxmemory = int(info.get("maxmemory", 0) or 0)
    system = int(info.get("total_system_memory", 0) or 0)
    limit, kind = (maxmemory, "maxmemory") if maxmemory else (system, "total_system_memory")
    return Memory(used=int(info.get("used_memory", 0)), limit=limit, limit_kind=kind,
                  policy=str(info.get("maxmemory_policy", "")), maxmemory=maxmemory)


def shell_arg(text: str) -> str:
    """A word for bash: printable text quoted as usual; control characters (kombu's priority
    separator) written as $'…' escapes, so a reproduce command can be pasted."""
    if text.isprintable():
        return shlex.quote(text)
    return "$'" + "".join(c if c.isprintable() and c not in "'\\" else f"\\x{ord(c):02x}"
                          for c in text) + "'"

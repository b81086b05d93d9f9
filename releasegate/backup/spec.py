"""What a rehearsal is asked (Options, Query) and what it saw (Rehearsal, Expectation).

Plain data, JSON-able (``as_dict``/``from_dict``), so pytest-xdist workers can share one
rehearsal per run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from releasegate.backup import catalog as cat
from releasegate.backup.migrations import AlembicConfig
from releasegate.backup.rows import Counts
from releasegate.servers import Provider


@dataclass
class Query:
    """A post-restore smoke query: it must succeed and return at least ``min_rows`` rows, and
    its first value must equal ``equals`` when that is given."""

    sql: str
    name: str = ""
    min_rows: int = 1
    equals: str | None = None


@dataclass
class Options:
    """How to rehearse (the profile's backup.restore section, resolved)."""

    provider: Provider | None = None  # where restore targets come from (None: get_provider())
    jobs: int = 2
    timeout_s: float = 3600.0
    statement_timeout_s: float = 300.0
    lock_wait_timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    dump_args: Sequence[str] = ()
    queries: Sequence[Query] = ()
    alembic: AlembicConfig | None = None
    count_tolerance_pct: float = 10.0
    counts_suffix: str = ".counts.json"
    workdir: Path | None = None
    keep_dumps: Path | None = None  # keep the fresh dump here (its reproduce command then works)
    progress: Callable[[str], None] | None = None  # where progress lines go (stderr by default)


@dataclass
class Rehearsal:
    """Everything one rehearsal saw; plain data, JSON-able."""

    kind: str  # fresh | latest
    error: str = ""  # could not rehearse at all (no backup, tool missing, no server)
    error_kind: str = ""  # tool | server | source | backup | privilege (the source role's)
    source: dict[str, Any] = field(default_factory=dict)  # database, version, counted_as
    dump: dict[str, Any] = field(default_factory=dict)  # path, format, size, command, duration
    server: dict[str, Any] = field(default_factory=dict)  # provider, version, start_s
    restore: dict[str, Any] = field(default_factory=dict)  # ok, error, duration_s, command, ...
    catalog: dict[str, Any] | None = None  # diff, compared, skipped, basis
    counts: dict[str, Any] | None = None  # expected, restored, diff, basis, tolerance
    queries: list[dict[str, Any]] = field(default_factory=list)
    alembic: dict[str, Any] | None = None

    @property
    def restored(self) -> bool:
        return bool(self.restore.get("ok"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rehearsal:
        return cls(**dict(data))


@dataclass
class Expectation:
    """What the restored database must hold, and where that knowledge came from."""

    catalog: cat.Catalog | None
    skipped: dict[str, int]
    counts: Counts | None
    basis: str  # "the dump's own snapshot", "counts recorded beside the backup", "live source"
    tolerance_pct: float
    # the fresh rehearsal's source snapshot, still open: a values mismatch is narrowed to a key
    # range by reading both sides (closed by the rehearsal, never by the comparison)
    source_conn: psycopg.Connection[Any] | None = None
    database_bytes: int | None = None  # the source's size: progress says "X of ~Y restored"



def failed(result: Rehearsal, kind: str, message: str) -> Rehearsal:
    result.error, result.error_kind = message, kind
    return result


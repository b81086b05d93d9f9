"""The backup section of a profile, resolved; each rehearsal run at most once per test run.

Several checks judge one rehearsal (restore ok, tables, counts, RTO, queries), so each is made once
and shared — also between pytest-xdist workers: the first worker to need it runs it under a file
lock and leaves the result (plain JSON) for the others, so a restore is never rehearsed twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from releasegate.backup.files import BackupFile, find_backups
from releasegate.core.errors import ServerUnavailable
from releasegate.core.profile import Target
from releasegate.servers import Provider, get_provider

if TYPE_CHECKING:  # the rehearsal modules import psycopg, redis and alembic's helpers: a smoke run
    # that only looks at backup files must not pay for them (~0.15 s), so they load on first use
    from releasegate.backup.migrations import AlembicConfig
    from releasegate.backup.redis_snapshot import RedisRehearsal
    from releasegate.backup.rehearsal import Options, Rehearsal


class BackupPlan:
    """What the profile asks of backups, and the rehearsals made for it (once per run)."""

    def __init__(self, target: Target, shared_dir: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.target = target
        self.section: Mapping[str, Any] = target.section("backup") or {}
        self.base = target.path.resolve().parent
        self.shared_dir = shared_dir
        self.progress = progress
        self._cache: dict[str, Any] = {}
        self._provider: Provider | None = None

    # --- profile --------------------------------------------------------------------------------

    def get(self, dotted: str, default: Any = None) -> Any:
        """backup.<dotted> from the profile, or ``default`` when it is not set."""
        value = self.target.section(f"backup.{dotted}")
        return default if value is None else value

    def path(self, value: str) -> str:
        """A profile path, relative to the profile file's directory."""
        return value if os.path.isabs(value) else str(self.base / value)

    @property
    def source_dsn(self) -> str | None:
        return self.get("source.dsn")

    @property
    def fresh_enabled(self) -> bool:
        return "fresh" in self.section and bool(self.get("fresh.enabled", True))

    @property
    def rto_s(self) -> float:
        return float(self.get("restore.rto_min", 15)) * 60

    def provider(self) -> Provider:
        if self._provider is None:
            choice = self.get("restore.provider", "auto")
            try:
                self._provider = get_provider(
                    None if choice == "auto" else choice,
                    postgres_image=self.get("restore.postgres_image"),
                    redis_image=self.get("restore.redis_image"))
            except ServerUnavailable as exc:
                raise ServerUnavailable(f"no throwaway servers for the backup rehearsals "
                                        f"(backup.restore.provider: {choice}): {exc}") from None
        return self._provider

    def alembic(self) -> AlembicConfig | None:
        from releasegate.backup.migrations import AlembicConfig

        cfg = self.get("alembic")
        if not cfg:
            return None
        return AlembicConfig(config=Path(self.path(cfg["config"])),
                             command=tuple(cfg.get("command", ["alembic"])),
                             url_env=cfg.get("url_env", "DATABASE_URL"),
                             url_driver=cfg.get("url_driver", "psycopg") or None,
                             expected_head=cfg.get("expected_head"),
                             timeout_s=float(cfg.get("timeout_s", 300)))

    @property
    def alembic_on(self) -> str:
        """The rehearsal the migrations are rehearsed on: the fresh dump when there is one (the
        state this deploy migrates), else the latest backup."""
        return "fresh" if self.fresh_enabled and self.source_dsn else "latest"

    def options(self, kind: str) -> Options:
        from releasegate.backup.rehearsal import Options, Query

        workdir, keep = self.get("restore.workdir"), self.get("fresh.keep_dumps")
        return Options(
            provider=self.provider(),
            jobs=int(self.get("restore.jobs", 2)),
            timeout_s=float(self.get("restore.timeout_min", 60)) * 60,
            statement_timeout_s=float(self.get("source.statement_timeout_s", 300)),
            lock_wait_timeout_s=float(self.get("source.lock_wait_timeout_s", 60)),
            connect_timeout_s=self.target.timeouts.connect,
            dump_args=tuple(self.get("fresh.pg_dump_args", [])),
            queries=tuple(Query(q["sql"], q.get("name", ""), int(q.get("min_rows", 1)),
                                None if q.get("equals") is None else str(q["equals"]))
                          for q in self.get("restore.queries", [])),
            alembic=self.alembic() if kind == self.alembic_on else None,
            count_tolerance_pct=float(self.get("files.count_tolerance_pct", 10)),
            counts_suffix=self.get("files.counts_suffix", ".counts.json"),
            workdir=Path(self.path(workdir)) if workdir else None,
            keep_dumps=Path(self.path(keep)) if keep else None,
            progress=self.progress)

    # --- once per run ---------------------------------------------------------------------------

    def _once(self, key: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key in self._cache:
            return self._cache[key]
        if self.shared_dir is None:
            self._cache[key] = make()
            return self._cache[key]
        self.shared_dir.mkdir(parents=True, exist_ok=True)
        stored = self.shared_dir / f"backup-{key}.json"
        with FileLock(str(stored) + ".lock"):
            if stored.exists():
                self._cache[key] = json.loads(stored.read_text())
            else:
                self._cache[key] = make()
                stored.write_text(json.dumps(self._cache[key], default=str))
        return self._cache[key]

    def backups(self) -> list[BackupFile]:
        return find_backups(self.path(self.get("files.path")))

    def rehearsal(self, kind: str) -> Rehearsal:
        from releasegate.backup.rehearsal import Rehearsal, rehearse_fresh, rehearse_latest

        """The fresh-dump or latest-backup rehearsal (made on first use)."""
        def make() -> dict[str, Any]:
            if kind == "fresh":
                return rehearse_fresh(str(self.source_dsn), self.options(kind)).as_dict()
            return rehearse_latest(self.path(self.get("files.path")), self.options(kind),
                                   self.source_dsn).as_dict()

        return Rehearsal.from_dict(self._once(kind, make))

    def redis(self) -> RedisRehearsal:
        from releasegate.backup.redis_snapshot import RedisRehearsal, rehearse_redis

        def make() -> dict[str, Any]:
            return rehearse_redis(self.get("redis.url"), self.provider(),
                                  sample_keys=int(self.get("redis.sample_keys", 200)),
                                  timeout_s=float(self.get("redis.timeout_s", 300)),
                                  tolerance_pct=float(self.get("redis.key_tolerance_pct", 1)),
                                  socket_timeout_s=self.target.timeouts.total).as_dict()

        return RedisRehearsal.from_dict(self._once("redis", make))

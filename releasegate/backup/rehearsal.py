"""Restore rehearsal: a dump restored into a throwaway Postgres and compared with its source.

Two ways in (issue 10 §1):

- ``rehearse_fresh``: one read-only REPEATABLE READ transaction on the source exports a snapshot;
  ``pg_dump -Fc --snapshot`` dumps exactly that snapshot while the same transaction counts every
  table and reads the catalog, so the expected counts are exact even under live writes.
- ``rehearse_latest``: the newest existing backup file, compared with the counts and catalog
  recorded beside it (``<file>.counts.json``, written by ``python -m releasegate.backup dump``),
  or with the live source within a tolerance.

Either way the restore target is ALWAYS a throwaway server of the source's major version from the
provider (local binaries or testcontainers), restored with ``--no-owner --no-acl
--exit-on-error`` (``-j`` for archives), timed, compared, queried and torn down on every path —
failure and Ctrl-C included. Nothing is ever restored into the source. The result is plain data
(``as_dict``/``from_dict``) so pytest-xdist workers can share one rehearsal per run.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from releasegate.backup import catalog as cat
from releasegate.backup.files import (
    BackupFile,
    check_plain,
    counts_path,
    detect_format,
    find_backups,
    list_archive,
    read_counts_file,
    toc_header,
    write_counts_file,
)
from releasegate.backup.migrations import AlembicConfig, rehearse_migrations
from releasegate.backup.runner import Background, Progress, human_bytes, libpq_env, run_tool
from releasegate.backup.tools import PgTools, ToolMissing, newest_client_major
from releasegate.core.errors import ReleasegateError, ServerUnavailable
from releasegate.servers import PostgresServer, Provider, get_provider

READ_CHUNK = 1 << 20


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
    progress: Callable[[str], None] | None = None  # where progress lines go (stderr by default)


@dataclass
class Rehearsal:
    """Everything one rehearsal saw; plain data, JSON-able."""

    kind: str  # fresh | latest
    error: str = ""  # could not rehearse at all (no backup, tool missing, no server)
    error_kind: str = ""  # tool | server | source | backup
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


class SourceSession:
    """A read-only REPEATABLE READ transaction on the source that exports its snapshot."""

    def __init__(self, dsn: str, options: Options) -> None:
        self.conn = psycopg.connect(
            dsn, connect_timeout=int(max(1, options.connect_timeout_s)), autocommit=False,
            options=f"-c default_transaction_read_only=on "
                    f"-c statement_timeout={int(options.statement_timeout_s * 1000)} "
                    f"-c lock_timeout={int(options.lock_wait_timeout_s * 1000)} "
                    f"-c idle_in_transaction_session_timeout=0")
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn.read_only = True
        row = self.conn.execute(
            "SELECT pg_export_snapshot(), current_setting('server_version_num')::int, "
            "current_setting('server_version'), current_database(), "
            "pg_encoding_to_char(encoding) FROM pg_database "
            "WHERE datname = current_database()").fetchone()
        assert row is not None
        self.snapshot, version_num, self.version, self.database, self.encoding = row
        self.major = int(version_num) // 10000

    def close(self) -> None:
        """End the transaction (and with it the exported snapshot); idempotent."""
        if self.conn.closed:
            return
        try:
            self.conn.rollback()
        finally:
            self.conn.close()


def rehearse_fresh(source_dsn: str, options: Options) -> Rehearsal:
    """Dump the source now (pg_dump --snapshot), count inside that snapshot, restore, compare."""
    result = Rehearsal("fresh")
    progress = Progress("fresh dump", options.progress)
    with ExitStack() as stack:
        try:
            session = SourceSession(source_dsn, options)
        except psycopg.Error as exc:
            return _failed(result, "source", f"cannot open a read-only snapshot on the source: "
                                             f"{cat.first_line(exc)}")
        stack.callback(session.close)
        result.source = {"database": session.database, "version": session.version,
                         "major": session.major, "snapshot": session.snapshot}
        try:
            tools = PgTools.for_server(session.major)
        except ToolMissing as exc:
            return _failed(result, "tool", str(exc))
        workdir = _workdir(stack, options)
        dump_path = workdir / f"{session.database}-fresh.dump"
        argv = [tools.pg_dump, "-Fc", f"--snapshot={session.snapshot}", "-v",
                f"--lock-wait-timeout={int(options.lock_wait_timeout_s * 1000)}",
                *options.dump_args, "-f", str(dump_path)]
        result.dump = {"path": str(dump_path), "format": "custom", "snapshot": session.snapshot,
                       "argv": [Path(tools.pg_dump).name, "-Fc", "--snapshot=SNAPSHOT",
                                *options.dump_args, "-d", source_dsn, "-f", dump_path.name]}
        tables_dumped = [0]

        def on_line(line: str) -> None:
            if "dumping contents of table" in line:
                tables_dumped[0] += 1

        dumper = Background(argv, libpq_env(source_dsn), options.timeout_s, on_line=on_line)
        stack.callback(dumper.stop)  # an early return or Ctrl-C: pg_dump does not run on
        # Inside the same snapshot, while pg_dump reads it: the catalog, then every table's rows.
        try:
            source_catalog = cat.read_catalog(session.conn)
            skipped = cat.skipped_kinds(session.conn)
            expected = cat.count_rows(session.conn)
        except psycopg.Error as exc:
            return _failed(result, "source", f"cannot read the source in its snapshot: "
                                             f"{cat.first_line(exc)}")
        while dumper.alive():
            dumper.wait(0.5)
            size = dump_path.stat().st_size if dump_path.exists() else 0
            progress.say("pg_dump", f"{tables_dumped[0]} of {len(expected.tables)} tables, "
                                    f"{human_bytes(size)} written")
        session.close()  # pg_dump is done with the snapshot
        run = dumper.wait()
        assert run is not None
        result.source["counted_as"] = expected.counted_as
        result.dump.update(ok=run.ok, error=run.error, duration_s=round(run.duration_s, 3),
                           size_bytes=dump_path.stat().st_size if dump_path.exists() else 0)
        if not run.ok:
            return _failed(result, "source", f"pg_dump failed: {run.error}")
        backup = BackupFile(dump_path, result.dump["size_bytes"], time.time(), "custom")
        expectation = Expectation(source_catalog, skipped, expected, "the dump's own snapshot",
                                  0.0)
        _restore_and_compare(result, backup, session.major, session.database, tools, expectation,
                             options)
    return result


@dataclass
class Expectation:
    """What the restored database must hold, and where that knowledge came from."""

    catalog: cat.Catalog | None
    skipped: dict[str, int]
    counts: cat.Counts | None
    basis: str  # "the dump's own snapshot", "counts recorded beside the backup", "live source"
    tolerance_pct: float


def rehearse_latest(where: str, options: Options, source_dsn: str | None = None,
                    base: Path | None = None) -> Rehearsal:
    """Restore the newest backup under ``where`` and compare it with what was recorded."""
    result = Rehearsal("latest")
    backups = find_backups(where, base)
    if not backups:
        return _failed(result, "backup", f"no backup file found at {where}")
    backup = backups[0]
    result.dump = backup.as_dict()
    recorded: dict[str, Any] | None
    try:
        recorded = read_counts_file(counts_path(backup.path, options.counts_suffix))
    except (ValueError, OSError) as exc:
        return _failed(result, "backup", f"counts file beside {backup.path.name} unreadable: {exc}")
    major, database, dump_version = _dump_facts(backup, recorded)
    result.dump["server_version"] = dump_version
    expectation: Expectation
    if recorded is not None:
        expectation = Expectation(recorded.get("catalog"), recorded.get("skipped", {}),
                                  cat.Counts.from_dict(recorded), "counts recorded beside the "
                                  f"backup ({counts_path(backup.path, options.counts_suffix).name})",
                                  0.0)
        result.source = {"database": recorded.get("database"), "counted_as":
                         recorded.get("counted_as", ""), "recorded_at": recorded.get("taken_at")}
    elif source_dsn:
        try:
            live = _read_live(source_dsn, options)
        except psycopg.Error as exc:
            return _failed(result, "source", f"no counts recorded beside {backup.path.name}, and "
                                             f"the live source cannot be read: {cat.first_line(exc)}")
        major = major or live["major"]
        database = database or live["database"]
        result.source = {"database": live["database"], "version": live["version"],
                         "counted_as": live["counts"].counted_as}
        expectation = Expectation(live["catalog"], live["skipped"], live["counts"],
                                  f"the live source, within {options.count_tolerance_pct:g}% "
                                  "(no counts recorded beside the backup)",
                                  options.count_tolerance_pct)
    else:
        expectation = Expectation(None, {}, None, "nothing: no counts recorded beside the backup "
                                  "and no source DSN", 0.0)
    try:
        tools = PgTools.for_server(major or newest_client_major())
    except ToolMissing as exc:
        return _failed(result, "tool", str(exc))
    _restore_and_compare(result, backup, major or tools.major, database or "restored", tools,
                         expectation, options)
    return result


def _dump_facts(backup: BackupFile, recorded: Mapping[str, Any] | None
                ) -> tuple[int | None, str | None, str | None]:
    """(source major, database name, server version) as the dump or its counts file say."""
    version: str | None = None
    database: str | None = None
    if recorded is not None:
        version = recorded.get("server_version")
        database = recorded.get("database")
    if version is None and backup.format in ("plain", "plain-gzip"):
        version = check_plain(backup.path, gz=backup.format == "plain-gzip").server_version
    elif version is None and backup.format in ("custom", "directory", "tar"):
        try:
            tools = PgTools.for_server(newest_client_major())
            _code, lines, _err = list_archive(tools.pg_restore, backup.path, 60)
            header = toc_header(lines)
            version, database = header.get("server_version"), database or header.get("dbname")
        except ToolMissing:
            pass
    major = int(version.split(".")[0]) if version and version.split(".")[0].isdigit() else None
    return major, database, version


def _read_live(dsn: str, options: Options) -> dict[str, Any]:
    session = SourceSession(dsn, options)
    try:
        return {"major": session.major, "database": session.database,
                "version": session.version, "catalog": cat.read_catalog(session.conn),
                "skipped": cat.skipped_kinds(session.conn), "counts": cat.count_rows(session.conn)}
    finally:
        session.close()


def _failed(result: Rehearsal, kind: str, message: str) -> Rehearsal:
    result.error, result.error_kind = message, kind
    return result


def _workdir(stack: ExitStack, options: Options) -> Path:
    import tempfile

    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
    tmp = stack.enter_context(tempfile.TemporaryDirectory(
        prefix="rg-dump-", dir=str(options.workdir) if options.workdir else None))
    return Path(tmp)


def _restore_and_compare(result: Rehearsal, backup: BackupFile, major: int, database: str,
                         tools: PgTools, expect: Expectation, options: Options) -> None:
    """Start the throwaway server, restore, compare, query; the server is gone on return."""
    progress = Progress(f"restore {result.kind}", options.progress)
    started = time.monotonic()
    try:
        provider = options.provider or get_provider()
        with provider.postgres(major) as server:
            result.server = {"provider": provider.describe(), "version": server.version,
                             "major": major, "start_s": round(time.monotonic() - started, 3)}
            progress.say("throwaway server up", f"{provider.name}, Postgres "
                                                f"{server.version}", force=True)
            _restore_into(result, server, backup, database, tools, options, progress)
            if not result.restored:
                return
            replica = server.dsn(database)
            _compare(result, replica, expect, progress)
            result.queries = [run_query(replica, q, options) for q in options.queries]
            if options.alembic is not None:
                progress.say("alembic rehearsal", "current, downgrade -1, upgrade head",
                             force=True)
                result.alembic = rehearse_migrations(options.alembic, replica).as_dict()
    except ServerUnavailable as exc:
        _failed(result, "server", f"no throwaway Postgres {major} for the restore: {exc}")
    except psycopg.Error as exc:
        _failed(result, "server", f"the throwaway replica failed: {cat.first_line(exc)}")
    except ReleasegateError as exc:
        _failed(result, "tool", str(exc))
    progress.say("done", "throwaway server torn down", force=True)


def _restore_into(result: Rehearsal, server: PostgresServer, backup: BackupFile, database: str,
                  tools: PgTools, options: Options, progress: Progress) -> None:
    with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(database)))
    env = libpq_env(server.dsn(database))
    fmt = detect_format(backup.path)
    items = [0]
    total = _toc_entries(tools, backup) if fmt in ("custom", "directory", "tar") else 0
    fed = [0]

    def tick() -> None:
        if not progress.due():
            return
        size = _database_size(server.dsn(database))
        if total:
            progress.say("pg_restore", f"{min(items[0], total)} of {total} items, "
                                       f"{human_bytes(size)} restored")
        else:
            progress.say("psql", f"{human_bytes(fed[0])} of {human_bytes(backup.size)} read, "
                                 f"{human_bytes(size)} restored")

    if fmt in ("custom", "directory", "tar"):
        jobs = 1 if fmt == "tar" else max(1, options.jobs)
        argv = [tools.pg_restore, "--no-owner", "--no-acl", "--exit-on-error", "-v",
                f"-j{jobs}", "-d", database, str(backup.path)]

        parallel = [False]

        def on_line(line: str) -> None:
            # -j: the pre-data items are created one by one ("creating …"), then the parallel
            # loop reports each item once when it is finished; without -j each is "creating" or
            # "processing data".
            if line.startswith("pg_restore: entering main parallel loop"):
                parallel[0] = True
            elif line.startswith("pg_restore: finished item") if parallel[0] else line.startswith(
                    ("pg_restore: creating ", "pg_restore: processing data")):
                items[0] += 1

        run = run_tool(argv, env, options.timeout_s, on_line=on_line, tick=tick)
        shown = [Path(tools.pg_restore).name, "--no-owner", "--no-acl", "--exit-on-error",
                 f"-j{jobs}", "-d", "REPLICA_URL", str(backup.path)]
    elif fmt in ("plain", "plain-gzip"):
        argv = [tools.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", "-"]

        def chunks() -> Iterator[bytes]:
            opener = gzip.open if fmt == "plain-gzip" else open
            with opener(backup.path, "rb") as fh:  # type: ignore[operator]
                while chunk := fh.read(READ_CHUNK):
                    fed[0] += len(chunk)
                    yield chunk

        run = run_tool(argv, env, options.timeout_s, feed=chunks(), tick=tick)
        shown = ([Path(tools.psql).name, "-X", "-v", "ON_ERROR_STOP=1", "-d", "REPLICA_URL",
                  "-f", str(backup.path)] if fmt == "plain" else
                 ["sh", "-c", f"gunzip -c {backup.path} | psql -X -v ON_ERROR_STOP=1 -d REPLICA_URL"])
    else:
        result.restore = {"ok": False, "format": fmt, "error": f"{backup.path.name} is not a "
                          "pg_dump file (neither plain SQL nor an archive)"}
        return
    restored_bytes = _database_size(server.dsn(database)) if run.ok else 0
    result.restore = {
        "ok": run.ok, "error": run.error, "duration_s": round(run.duration_s, 3),
        "argv": shown, "format": fmt, "jobs": options.jobs if fmt in ("custom", "directory") else 1,
        "dump_bytes": backup.size, "restored_bytes": restored_bytes,
        "throughput_mb_s": round(backup.size / 1048576 / run.duration_s, 2)
        if run.duration_s > 0 else None,
        "items": items[0], "items_total": total,
    }
    progress.say("restored" if run.ok else "restore failed",
                 f"{human_bytes(backup.size)} dump in {run.duration_s:.1f}s", force=True)


def _toc_entries(tools: PgTools, backup: BackupFile) -> int:
    code, lines, _ = list_archive(tools.pg_restore, backup.path, 120)
    return sum(1 for ln in lines if ln and not ln.startswith(";")) if code == 0 else 0


def _database_size(dsn: str) -> int:
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0
    except psycopg.Error:
        return 0


def _compare(result: Rehearsal, replica: str, expect: Expectation, progress: Progress) -> None:
    progress.say("comparing", "catalog, then rows per table", force=True)
    with psycopg.connect(replica, autocommit=False, connect_timeout=10) as conn:
        conn.read_only = True
        restored_catalog = cat.read_catalog(conn)
        restored = cat.count_rows(conn)
        conn.rollback()
    if expect.catalog is not None:
        diff = cat.compare_catalogs(expect.catalog, restored_catalog)
        result.catalog = {"ok": diff.ok, "summary": diff.summary(), "missing": diff.missing,
                          "extra": diff.extra, "changed": diff.changed,
                          "compared": diff.compared, "skipped": expect.skipped,
                          "by_design": cat.BY_DESIGN, "basis": expect.basis}
    else:
        result.catalog = {"ok": None, "basis": expect.basis, "compared": {},
                          "restored": {k: len(v) for k, v in restored_catalog.items()},
                          "skipped": {}, "by_design": cat.BY_DESIGN}
    if expect.counts is not None:
        diff_counts = cat.compare_counts(expect.counts, restored, expect.tolerance_pct)
        result.counts = {"ok": diff_counts.ok, "summary": diff_counts.summary(),
                         "tables": {t: list(v) for t, v in diff_counts.tables.items()},
                         "sequences": {s: list(v) for s, v in diff_counts.sequences.items()},
                         "compared_tables": diff_counts.compared,
                         "compared_sequences": len(expect.counts.sequences),
                         "expected_rows": sum(expect.counts.tables.values()),
                         "restored_rows": sum(restored.tables.values()),
                         "source_errors": expect.counts.errors,
                         "matviews": {"source": expect.counts.matviews,
                                      "restored": restored.matviews},
                         "counted_as_source": expect.counts.counted_as,
                         "counted_as_replica": restored.counted_as,
                         "basis": expect.basis, "tolerance_pct": expect.tolerance_pct}
    else:
        result.counts = {"ok": None, "basis": expect.basis,
                         "restored_rows": sum(restored.tables.values())}


def run_query(dsn: str, query: Query, options: Options) -> dict[str, Any]:
    """One post-restore query in a read-only transaction on the replica."""
    out: dict[str, Any] = {"name": query.name or query.sql, "sql": query.sql,
                           "min_rows": query.min_rows, "equals": query.equals}
    started = time.monotonic()
    try:
        with psycopg.connect(dsn, connect_timeout=10, autocommit=False,
                             options=f"-c statement_timeout={int(options.statement_timeout_s * 1000)}"
                             ) as conn:
            conn.read_only = True
            rows = conn.execute(query.sql).fetchmany(1000)  # type: ignore[arg-type]
            conn.rollback()
    except psycopg.Error as exc:
        out.update(ok=False, error=cat.first_line(exc))
        return out
    first = None if not rows else rows[0][0]
    out.update(rows=len(rows), value=None if first is None else str(first),
               latency_ms=round((time.monotonic() - started) * 1000, 1))
    if len(rows) < query.min_rows:
        out.update(ok=False, error=f"returned {len(rows)} row(s), expected at least {query.min_rows}")
    elif query.equals is not None and str(first) != str(query.equals):
        out.update(ok=False, error=f"returned {first!r}, expected {query.equals!r}")
    else:
        out["ok"] = True
    return out


def record_dump(source_dsn: str, out: Path, options: Options,
                dump_format: str = "c") -> dict[str, Any]:
    """A backup job's dump with its counts recorded beside it, both from one snapshot.

    ``python -m releasegate.backup dump`` runs this: the later rehearsal of this file can then
    compare row counts exactly instead of against a live database that has moved on.
    """
    session = SourceSession(source_dsn, options)
    try:
        tools = PgTools.for_server(session.major)
        argv = [tools.pg_dump, f"-F{dump_format}", f"--snapshot={session.snapshot}",
                f"--lock-wait-timeout={int(options.lock_wait_timeout_s * 1000)}",
                *options.dump_args, "-f", str(out)]
        dumper = Background(argv, libpq_env(source_dsn), options.timeout_s)
        try:
            recorded = {"taken_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "database": session.database, "server_version": session.version,
                        "catalog": cat.read_catalog(session.conn),
                        "skipped": cat.skipped_kinds(session.conn),
                        **cat.count_rows(session.conn).as_dict()}
            run = dumper.wait()
        finally:
            dumper.stop()
    finally:
        session.close()
    if run is None or not run.ok:
        raise ReleasegateError(f"pg_dump failed: {run.error if run else 'no result'}")
    write_counts_file(counts_path(out, options.counts_suffix), recorded)
    return recorded

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

import time
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg

from releasegate.backup import catalog as cat
from releasegate.backup import rows
from releasegate.backup.files import (
    BackupFile,
    check_plain,
    counts_path,
    find_backups,
    list_archive,
    read_counts_file,
    toc_header,
)
from releasegate.backup.privileges import missing_privileges
from releasegate.backup.restore import restore_and_compare
from releasegate.backup.runner import Background, Progress, human_bytes, libpq_env
from releasegate.backup.source import SourceSession, read_live, record_dump
from releasegate.backup.spec import Expectation, Options, Query, Rehearsal, failed
from releasegate.backup.tools import PgTools, ToolMissing, newest_client_major

__all__ = ["Expectation", "Options", "Query", "Rehearsal", "record_dump", "rehearse_fresh",
           "rehearse_latest"]


def rehearse_fresh(source_dsn: str, options: Options) -> Rehearsal:
    """Dump the source now (pg_dump --snapshot), count inside that snapshot, restore, compare."""
    result = Rehearsal("fresh")
    progress = Progress("fresh dump", options.progress)
    with ExitStack() as stack:
        try:
            session = SourceSession(source_dsn, options)
        except psycopg.Error as exc:
            return failed(result, "source", f"cannot open a read-only snapshot on the source: "
                                             f"{cat.first_line(exc)}")
        stack.callback(session.close)
        result.source = {"database": session.database, "version": session.version,
                         "major": session.major, "snapshot": session.snapshot}
        try:
            lacking = missing_privileges(session.conn)
        except psycopg.Error as exc:
            lacking = f"cannot read the source role's privileges: {cat.first_line(exc)}"
        if lacking:
            return failed(result, "privilege", lacking)
        try:
            tools = PgTools.for_server(session.major)
        except ToolMissing as exc:
            return failed(result, "tool", str(exc))
        if options.keep_dumps is not None:  # kept: the reproduce command names a real file
            options.keep_dumps.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S")
            dump_path = options.keep_dumps / f"{session.database}-fresh-{stamp}.dump"
        else:
            dump_path = _workdir(stack, options) / f"{session.database}-fresh.dump"
        argv = [tools.pg_dump, "-Fc", f"--snapshot={session.snapshot}", "-v",
                f"--lock-wait-timeout={int(options.lock_wait_timeout_s * 1000)}",
                *options.dump_args, "-f", str(dump_path)]
        # what a reader can run: a new dump (the snapshot is gone), then the same restore
        result.dump = {"path": str(dump_path), "format": "custom", "snapshot": session.snapshot,
                       "kept": options.keep_dumps is not None,
                       "argv": [Path(tools.pg_dump).name, "-Fc", *options.dump_args, "-d",
                                source_dsn, "-f", str(dump_path) if options.keep_dumps
                                else dump_path.name]}
        tables_dumped = [0]

        def on_line(line: str) -> None:
            if "dumping contents of table" in line:
                tables_dumped[0] += 1

        dumper = Background(argv, libpq_env(source_dsn), options.timeout_s, on_line=on_line)
        stack.callback(dumper.stop)  # an early return or Ctrl-C: pg_dump does not run on
        # Inside the same snapshot, while pg_dump reads it: the catalog, then every table's rows
        # counted and fingerprinted (overlapped with the dump: two connections, one snapshot).
        reading = time.monotonic()
        try:
            source_catalog = cat.read_catalog(session.conn)
            skipped = cat.skipped_kinds(session.conn)
            expected = rows.count_rows(session.conn)
            result.source["read_s"] = round(time.monotonic() - reading, 3)
        except psycopg.Error as exc:
            return failed(result, "source", f"cannot read the source in its snapshot: "
                                             f"{cat.first_line(exc)}")
        while dumper.alive():
            dumper.wait(0.5)
            size = dump_path.stat().st_size if dump_path.exists() else 0
            progress.say("pg_dump", f"{tables_dumped[0]} of {len(expected.tables)} tables, "
                                    f"{human_bytes(size)} written")
        # The snapshot stays open through the restore (the same xmin horizon pg_dump held): a
        # table whose values differ is then narrowed to a key range against it. Closed on return.
        run = dumper.wait()
        assert run is not None
        result.source["counted_as"] = expected.counted_as
        result.dump.update(ok=run.ok, error=run.error, duration_s=round(run.duration_s, 3),
                           size_bytes=dump_path.stat().st_size if dump_path.exists() else 0)
        if not run.ok:
            return failed(result, "source", f"pg_dump failed: {run.error}")
        backup = BackupFile(dump_path, result.dump["size_bytes"], time.time(), "custom")
        expectation = Expectation(source_catalog, skipped, expected, "the dump's own snapshot",
                                  0.0, source_conn=session.conn,
                                  database_bytes=session.database_bytes)
        restore_and_compare(result, backup, session.major, session.database, tools, expectation,
                             options)
    return result


def rehearse_latest(where: str, options: Options, source_dsn: str | None = None,
                    base: Path | None = None) -> Rehearsal:
    """Restore the newest backup under ``where`` and compare it with what was recorded."""
    result = Rehearsal("latest")
    backups = find_backups(where, base)
    if not backups:
        return failed(result, "backup", f"no backup file found at {where}")
    backup = backups[0]
    result.dump = backup.as_dict()
    recorded: dict[str, Any] | None
    try:
        recorded = read_counts_file(counts_path(backup.path, options.counts_suffix))
    except (ValueError, OSError) as exc:
        return failed(result, "backup", f"counts file beside {backup.path.name} unreadable: {exc}")
    major, database, dump_version = _dump_facts(backup, recorded)
    result.dump["server_version"] = dump_version
    expectation: Expectation
    if recorded is not None:
        expectation = Expectation(recorded.get("catalog"), recorded.get("skipped", {}),
                                  rows.Counts.from_dict(recorded), "counts recorded beside the "
                                  f"backup ({counts_path(backup.path, options.counts_suffix).name})",
                                  0.0, database_bytes=recorded.get("database_bytes"))
        result.source = {"database": recorded.get("database"), "counted_as":
                         recorded.get("counted_as", ""), "recorded_at": recorded.get("taken_at")}
    elif source_dsn:
        try:
            live = read_live(source_dsn, options)
        except psycopg.Error as exc:
            return failed(result, "source", f"no counts recorded beside {backup.path.name}, and "
                                             f"the live source cannot be read: {cat.first_line(exc)}")
        if live["lacking"]:
            return failed(result, "privilege", live["lacking"])
        major = major or live["major"]
        database = database or live["database"]
        result.source = {"database": live["database"], "version": live["version"],
                         "counted_as": live["counts"].counted_as}
        expectation = Expectation(live["catalog"], live["skipped"], live["counts"],
                                  f"the live source, within {options.count_tolerance_pct:g}% "
                                  "(no counts recorded beside the backup)",
                                  options.count_tolerance_pct,
                                  database_bytes=live["database_bytes"])
    else:
        expectation = Expectation(None, {}, None, "nothing: no counts recorded beside the backup "
                                  "and no source DSN", 0.0)
    try:
        tools = PgTools.for_server(major or newest_client_major())
    except ToolMissing as exc:
        return failed(result, "tool", str(exc))
    restore_and_compare(result, backup, major or tools.major, database or "restored", tools,
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



def _workdir(stack: ExitStack, options: Options) -> Path:
    import tempfile

    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
    tmp = stack.enter_context(tempfile.TemporaryDirectory(
        prefix="rg-dump-", dir=str(options.workdir) if options.workdir else None))
    return Path(tmp)


"""The restore side: a throwaway server of the source's major, the dump restored into it.

Restored with ``--no-owner --no-acl --exit-on-error`` (``-j`` for archives) or, for a plain dump,
fed to psql with ON_ERROR_STOP; timed, compared, queried and torn down on every path — failure
and Ctrl-C included. Nothing is ever restored into the source.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from releasegate.backup import catalog as cat
from releasegate.backup.compare import compare, run_query
from releasegate.backup.files import BackupFile, detect_format, list_archive
from releasegate.backup.migrations import rehearse_migrations
from releasegate.backup.plain import Skipped, without_owner_and_acl
from releasegate.backup.runner import Progress, human_bytes, libpq_env, run_tool
from releasegate.backup.spec import Expectation, Options, Rehearsal, failed
from releasegate.backup.tools import PgTools
from releasegate.core.errors import ReleasegateError, ServerUnavailable
from releasegate.servers import PostgresServer, get_provider

# what the reproduce command's grep leaves out (the restore itself reads pg_dump's TOC comments)
PLAIN_FILTER = r"^(ALTER [A-Z ]+ .* OWNER TO .*;|GRANT .*;|REVOKE .*;|ALTER DEFAULT PRIVILEGES .*;)$"


def restore_and_compare(result: Rehearsal, backup: BackupFile, major: int, database: str,
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
            _restore_into(result, server, backup, database, tools, options, progress,
                          expect.database_bytes)
            if not result.restored:
                return
            replica = server.dsn(database)
            compare(result, replica, expect, progress, options.jobs)
            result.queries = [run_query(replica, q, options) for q in options.queries]
            if options.alembic is not None:
                progress.say("alembic rehearsal", "current, downgrade -1, upgrade head",
                             force=True)
                result.alembic = rehearse_migrations(options.alembic, replica).as_dict()
    except ServerUnavailable as exc:
        failed(result, "server", f"no throwaway Postgres {major} for the restore: {exc}")
    except psycopg.Error as exc:
        failed(result, "server", f"the throwaway replica failed: {cat.first_line(exc)}")
    except ReleasegateError as exc:
        failed(result, "tool", str(exc))
    progress.say("done", "throwaway server torn down", force=True)


def _restore_into(result: Rehearsal, server: PostgresServer, backup: BackupFile, database: str,
                  tools: PgTools, options: Options, progress: Progress,
                  expected_bytes: int | None = None) -> None:
    with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(database)))
    env = libpq_env(server.dsn(database))
    fmt = detect_format(backup.path)
    items, tables = [0], [0]
    total, tables_total = (toc_entries(tools, backup) if fmt in ("custom", "directory", "tar")
                           else (0, 0))
    fed = [0]
    of = f" of ~{human_bytes(expected_bytes)}" if expected_bytes else ""

    def tick() -> None:
        # bytes in the restored database move all the time; tables count the data loaded
        if not progress.due():
            return
        size = database_size(server.dsn(database))
        if total:
            progress.say("pg_restore", f"{human_bytes(size)}{of} restored, {tables[0]} of "
                                       f"{tables_total} tables' data loaded")
        else:
            progress.say("psql", f"{human_bytes(fed[0])} of {human_bytes(backup.size)} read, "
                                 f"{human_bytes(size)}{of} restored, {tables[0]} tables' data "
                                 "loaded")

    skipped: Skipped | None = None
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
            if (" TABLE DATA " in line and line.startswith("pg_restore: finished item")) or \
                    line.startswith("pg_restore: processing data for table"):
                tables[0] += 1

        run = run_tool(argv, env, options.timeout_s, on_line=on_line, tick=tick)
        shown = [Path(tools.pg_restore).name, "--no-owner", "--no-acl", "--exit-on-error",
                 f"-j{jobs}", "-d", "REPLICA_URL", str(backup.path)]
    elif fmt in ("plain", "plain-gzip"):
        argv = [tools.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", "-"]
        skipped = Skipped()

        def lines() -> Iterator[bytes]:
            opener = gzip.open if fmt == "plain-gzip" else open
            with opener(backup.path, "rb") as fh:  # type: ignore[operator]
                for line in fh:
                    fed[0] += len(line)
                    if line.startswith(b"COPY "):
                        tables[0] += 1
                    yield line

        run = run_tool(argv, env, options.timeout_s, feed=without_owner_and_acl(lines(), skipped),
                       tick=tick)
        # the same, by hand: pg_dump's owner and privilege statements left out, into psql
        unzip = "gunzip -c" if fmt == "plain-gzip" else "cat"
        shown = ["sh", "-c", f"{unzip} {backup.path} | grep -Ev '{PLAIN_FILTER}' | psql -X -v "
                             "ON_ERROR_STOP=1 -d REPLICA_URL"]
    else:
        result.restore = {"ok": False, "format": fmt, "error": f"{backup.path.name} is not a "
                          "pg_dump file (neither plain SQL nor an archive)"}
        return
    restored_bytes = database_size(server.dsn(database)) if run.ok else 0
    result.restore = {
        "ok": run.ok, "error": run.error, "duration_s": round(run.duration_s, 3),
        "argv": shown, "format": fmt, "jobs": options.jobs if fmt in ("custom", "directory") else 1,
        "dump_bytes": backup.size, "restored_bytes": restored_bytes,
        "throughput_mb_s": round(backup.size / 1048576 / run.duration_s, 2)
        if run.duration_s > 0 else None,
        "items": items[0], "items_total": total, "tables": tables[0],
        "tables_total": tables_total or None,
        "owners_and_acls": skipped.describe() if skipped is not None else
        "restored with --no-owner --no-acl: owners and privileges not restored, not compared",
    }
    progress.say("restored" if run.ok else "restore failed",
                 f"{human_bytes(backup.size)} dump in {run.duration_s:.1f}s", force=True)


def toc_entries(tools: PgTools, backup: BackupFile) -> tuple[int, int]:
    """(items, of which table data) in an archive's table of contents."""
    code, lines, _ = list_archive(tools.pg_restore, backup.path, 120)
    if code != 0:
        return 0, 0
    entries = [ln for ln in lines if ln and not ln.startswith(";")]
    return len(entries), sum(1 for ln in entries if " TABLE DATA " in ln)


def database_size(dsn: str) -> int:
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pgdatabase_size(current_database())").fetchone()
        return int(row[0]) if row else 0
    except psycopg.Error:
        return 0


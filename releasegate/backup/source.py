"""The source side of a rehearsal: one read-only snapshot, dumped and counted together.

``SourceSession`` is a read-only REPEATABLE READ transaction that exports its snapshot, so
``pg_dump --snapshot`` dumps exactly what the same transaction counts and reads from the catalog.
``record_dump`` is a backup job's dump with those counts recorded beside it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg

from releasegate.backup import catalog as cat
from releasegate.backup import rows
from releasegate.backup.files import counts_path, write_counts_file
from releasegate.backup.privileges import missing_privileges
from releasegate.backup.runner import Background, libpq_env
from releasegate.backup.spec import Options
from releasegate.backup.tools import PgTools
from releasegate.core.errors import ReleasegateError


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
            "pg_encoding_to_char(encoding), pg_database_size(current_database()) "
            "FROM pg_database WHERE datname = current_database()").fetchone()
        assert row is not None
        (self.snapshot, version_num, self.version, self.database, self.encoding,
         self.database_bytes) = row
        self.major = int(version_num) // 10000

    def close(self) -> None:
        """End the transaction (and with it the exported snapshot); idempotent."""
        if self.conn.closed:
            return
        try:
            self.conn.rollback()
        finally:
            self.conn.close()


def read_live(dsn: str, options: Options) -> dict[str, Any]:
    session = SourceSession(dsn, options)
    try:
        lacking = missing_privileges(session.conn)
        if lacking:
            return {"lacking": lacking}
        return {"lacking": None, "major": session.major, "database": session.database,
                "version": session.version, "database_bytes": session.database_bytes,
                "catalog": cat.read_catalog(session.conn),
                "skipped": cat.skipped_kinds(session.conn), "counts": rows.count_rows(session.conn)}
    finally:
        session.close()


def record_dump(source_dsn: str, out: Path, options: Options,
                dump_format: str = "c") -> dict[str, Any]:
    """A backup job's dump with its counts recorded beside it, both from one snapshot.

    ``python -m releasegate.backup dump`` runs this: the later rehearsal of this file can then
    compare row counts exactly instead of against a live database that has moved on.
    """
    session = SourceSession(source_dsn, options)
    try:
        lacking = missing_privileges(session.conn)
        if lacking:
            raise ReleasegateError(lacking)
        tools = PgTools.for_server(session.major)
        argv = [tools.pg_dump, f"-F{dump_format}", f"--snapshot={session.snapshot}",
                f"--lock-wait-timeout={int(options.lock_wait_timeout_s * 1000)}",
                *options.dump_args, "-f", str(out)]
        dumper = Background(argv, libpq_env(source_dsn), options.timeout_s)
        try:
            recorded = {"taken_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        "database": session.database, "server_version": session.version,
                        "database_bytes": session.database_bytes,
                        "catalog": cat.read_catalog(session.conn),
                        "skipped": cat.skipped_kinds(session.conn),
                        **rows.count_rows(session.conn).as_dict()}
            run = dumper.wait()
        finally:
            dumper.stop()
    finally:
        session.close()
    if run is None or not run.ok:
        raise ReleasegateError(f"pg_dump failed: {run.error if run else 'no result'}")
    write_counts_file(counts_path(out, options.counts_suffix), recorded)
    return recorded

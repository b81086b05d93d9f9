"""What one backup check uses: the shared plan and rehearsals, recording this check's evidence.

Every tool run a check judged becomes an Exchange with a command that reproduces it (the
source's ${VAR} written back as "$VAR"); failures are one line with the tool's own error line.
A missing client tool or throwaway server is not the target's fault: it raises as an error with
the fix, never as a failed check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from releasegate.backup.files import BackupFile, Completeness, check_complete
from releasegate.backup.plan import BackupPlan
from releasegate.backup.tools import PgTools, ToolMissing, newest_client_major
from releasegate.core.errors import CheckFailed, Inconclusive, NotApplicable, ServerUnavailable
from releasegate.core.evidence import Evidence, Exchange
from releasegate.core.profile import require_section

if TYPE_CHECKING:  # loaded on first use (see releasegate/backup/plan.py)
    from releasegate.backup.redis_snapshot import RedisRehearsal
    from releasegate.backup.rehearsal import Rehearsal

REPLICA = "throwaway replica"


def _raise_setup(kind: str, message: str) -> None:
    """Tool and server problems are the runner's, not the target's: an error with the fix."""
    __tracebackhide__ = True
    if kind == "tool":
        raise ToolMissing(message)
    if kind == "server":
        raise ServerUnavailable(message)


class BackupView:
    def __init__(self, plan: BackupPlan, evidence: Evidence,
                 record_fact: Callable[..., None] | None = None,
                 record_note: Callable[[str], None] | None = None) -> None:
        self.plan = plan
        self.evidence = evidence
        self.target = plan.target
        self.record_fact = record_fact
        self.record_note = record_note

    def note_tolerance(self, kind: str, counts: dict[str, Any]) -> None:
        """A GO against a live source within a tolerance still says what differed (issue 20)."""
        within = counts.get("within_tolerance") or []
        if not within:
            return
        self.evidence.note(within_tolerance=within)
        if self.record_note is not None:
            shown = "; ".join(within[:5]) + (f" (+{len(within) - 5} more)" if len(within) > 5
                                             else "")
            self.record_note(f"backup {kind} rehearsal passed against {counts.get('basis')}, "
                             f"but {len(within)} differ(s): {shown} — record counts beside the "
                             "backup (python -m releasegate.backup dump) for an exact basis")

    # --- backup files ---------------------------------------------------------------------------

    def latest_file(self) -> BackupFile:
        __tracebackhide__ = True
        files = require_section(self.target, "backup.files")
        found = self.plan.backups()
        self.evidence.note(backup_path=files["path"], backups_found=len(found))
        if not found:
            raise CheckFailed(f"no backup at {files['path']}: nothing to restore from")
        latest = found[0]
        self.evidence.note(latest=latest.as_dict())
        return latest

    def completeness(self, backup: BackupFile) -> Completeness:
        timeout = float(self.plan.get("files.check_timeout_s", 600))
        # the newest pg_restore reads archives of every older major
        tools = PgTools.for_server(newest_client_major()) if backup.format in (
            "custom", "directory", "tar") else None
        result = check_complete(backup, tools.pg_restore if tools else "pg_restore", timeout)
        argv = result.command or ["tail", "-c", "200", str(backup.path)]
        self.evidence.exchange(Exchange(
            request=" ".join(argv[:1] + argv[1:]), host="backup file",
            status="ok" if result.ok else "failed", excerpt=result.detail,
            error=None if result.ok else result.detail,
            reproduce=self.evidence.command(argv)))
        self.evidence.note(server_version=result.server_version, archive_created=result.created)
        return result

    # --- rehearsals -----------------------------------------------------------------------------

    def rehearsal(self, kind: str) -> Rehearsal:
        """The rehearsal of ``kind`` (N/A when the profile does not ask for it)."""
        __tracebackhide__ = True
        if kind == "fresh":
            require_section(self.target, "backup.fresh")
            require_section(self.target, "backup.source")
            if not self.plan.fresh_enabled:
                raise NotApplicable(f"backup.fresh.enabled is false in target {self.target.name}")
        else:
            require_section(self.target, "backup.files")
        result = self.plan.rehearsal(kind)
        self._record(result)
        if result.error:
            _raise_setup(result.error_kind, result.error)
            if result.error_kind == "privilege":  # the gate's credential, not the target's fault
                raise Inconclusive(f"{kind} rehearsal not run: {result.error}")
            raise CheckFailed(f"{kind} rehearsal could not start: {result.error}")
        return result

    def restored(self, kind: str) -> Rehearsal:
        """A rehearsal whose restore succeeded, or the restore's own error line."""
        __tracebackhide__ = True
        result = self.rehearsal(kind)
        if not result.restored:
            raise CheckFailed(f"restore of {_what(result)} into a throwaway Postgres "
                              f"{result.server.get('major', '')} failed: "
                              f"{result.restore.get('error', 'no result')}",
                              cause=self.restore_key(result))
        return result

    def restore_key(self, result: Rehearsal) -> str | None:
        """The failed restore's exchange: what every check judging that restore follows from.
        A restore that worked causes nothing (findings on it are each their own)."""
        exchange = self._restore_exchange(result)
        return None if exchange is None else self.evidence.exchange(exchange).key

    def _record(self, result: Rehearsal) -> None:
        ev = self.evidence
        if result.kind == "fresh" and result.dump:
            argv = result.dump.get("argv", [])
            ev.exchange(Exchange(
                request=f"pg_dump -Fc --snapshot (source {result.source.get('database', '?')})",
                host=_host(self.plan.source_dsn), status="ok" if result.dump.get("ok") else "failed",
                latency_ms=_ms(result.dump.get("duration_s")),
                excerpt=f"{result.dump.get('size_bytes', 0)} bytes, snapshot "
                        f"{result.dump.get('snapshot', '')}",
                error=result.dump.get("error") or None, reproduce=ev.command(argv) if argv else ""))
        exchange = self._restore_exchange(result)
        if exchange is not None:
            ev.exchange(exchange)
        if result.server.get("provider") and self.record_fact is not None:
            self.record_fact(backup_restore_target=f"{result.server['provider']}, Postgres "
                                                   f"{result.server.get('version', '?')}")
        ev.note(rehearsal=result.kind, dump={k: v for k, v in result.dump.items() if k != "argv"},
                server=result.server, source=result.source)

    def _restore_exchange(self, result: Rehearsal) -> Exchange | None:
        restore = result.restore
        if not restore:
            return None
        argv = list(restore.get("argv", []))
        reproduce = self.evidence.command(argv) if argv else ""
        dump_argv = result.dump.get("argv", [])
        if result.kind == "fresh" and argv and dump_argv and not result.dump.get("kept"):
            # the fresh dump went with its temporary directory: take it again, then restore it
            argv[-1] = dump_argv[-1]
            reproduce = f"{self.evidence.command(dump_argv)} && {self.evidence.command(argv)}"
        tables = (f", {restore.get('tables')} of {restore.get('tables_total')} tables' data"
                  if restore.get("tables_total") else "")
        return Exchange(
            request=f"restore {_what(result)} ({restore.get('format', '?')}) into a throwaway "
                    f"Postgres {result.server.get('major', '')}",
            host=REPLICA, status="ok" if restore.get("ok") else "failed",
            latency_ms=_ms(restore.get("duration_s")),
            excerpt=f"{restore.get('dump_bytes', 0)} bytes in {restore.get('duration_s', 0)}s, "
                    f"{restore.get('throughput_mb_s')} MB/s{tables}; "
                    f"{restore.get('owners_and_acls', '')}" if restore.get("ok") else "",
            error=restore.get("error") or None, reproduce=reproduce)

    def redis(self) -> RedisRehearsal:
        __tracebackhide__ = True
        section = require_section(self.target, "backup.redis")
        result = self.plan.redis()
        ev = self.evidence
        if result.snapshot:
            ev.exchange(Exchange(
                request="redis-cli --rdb (snapshot as a replica would)", host=_host(section["url"]),
                status="ok" if result.snapshot.get("ok") else "failed",
                latency_ms=_ms(result.snapshot.get("duration_s")),
                excerpt=f"{result.snapshot.get('bytes', 0)} bytes",
                error=result.snapshot.get("error") or None,
                reproduce=ev.command(["redis-cli", "-u", section["url"], "--rdb", "snapshot.rdb"])))
        if result.check:
            ev.exchange(Exchange(request="redis-check-rdb snapshot.rdb", host="snapshot file",
                                 status="ok" if result.check.get("ok") else "failed",
                                 excerpt=result.check.get("line", ""),
                                 reproduce=ev.command(["redis-check-rdb", "snapshot.rdb"])))
        ev.note(loaded=result.loaded, keyspace=result.keyspace, samples=result.samples)
        if result.error:
            _raise_setup(result.error_kind, result.error)
        return result


def _what(result: Rehearsal) -> str:
    if result.kind == "fresh":
        return "a fresh dump"
    path = str(result.dump.get("path", "the latest backup"))
    return path.rsplit("/", 1)[-1]


def _ms(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) * 1000, 1)


def _host(url: str | None) -> str:
    """host:port of a libpq or redis URL, for grouping failures by what they talked to."""
    if not url:
        return ""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url) if not url.startswith("redis") else {}
    except Exception:
        params = {}
    if params:
        return f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"

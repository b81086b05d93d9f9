"""Unreachable, silent and broken backup sources, corrupt dumps, missing tools, Ctrl-C.

The backup suite runs in a subprocess (as a user would) against hand-written profiles: each run
must end with a verdict within a bound, never an INTERNALERROR, the judged checks failing with one
line that names the cause — pg_restore's or psql's own error line for a bad dump. Direct engine
tests pin the teardown on Ctrl-C and the messages for missing or too-old client tools.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from releasegate.backup.rehearsal import Options, rehearse_fresh
from releasegate.backup.tools import PgTools, ToolMissing
from releasegate.reference.backup import create_fixture
from releasegate.servers.local import LocalProvider
from tests import hostile
from tests.hostile import HostileServer
from tests.support import SuiteRun, run_suites, write_profile

CONNECT_S = 1
RUN_BOUND_S = 40  # interpreter and plugin start-up, one rehearsal attempt, report


@pytest.fixture(scope="module")
def source_server():
    with LocalProvider().postgres() as server:
        create_fixture(server, 50)
        yield server


def backup_profile(tmp_path: Path, backup: dict) -> Path:
    return write_profile(tmp_path / "target.yaml", {
        "name": "hostile-backup",
        "defaults": {"timeouts": {"connect": CONNECT_S, "read": 2, "total": 4}},
        "backup": backup})


def run_backup(tmp_path: Path, backup: dict, *args: str, env: dict | None = None) -> SuiteRun:
    started = time.monotonic()
    run = run_suites(backup_profile(tmp_path, backup), tmp_path / "reports", "-m", "backup",
                     *args, env=env, timeout=RUN_BOUND_S + 30)
    assert time.monotonic() - started < RUN_BOUND_S, "the run must end within its bound"
    assert "INTERNALERROR" not in run.stdout + run.stderr, run.stdout[-2000:]
    for message in run.failed().values():
        assert "\n" not in message and "Traceback" not in message
    return run


@pytest.mark.parametrize("make_url", ["refused", "silent"])
def test_unreachable_or_silent_source_fails_the_fresh_rehearsal_in_time(tmp_path, make_url):
    with hostile.refused_port() as port, HostileServer(hostile.silent) as silent:
        url = (f"postgresql://app@127.0.0.1:{port}/shop" if make_url == "refused"
               else f"postgresql://app@127.0.0.1:{silent.port}/shop")
        run = run_backup(tmp_path, {"source": {"dsn": url}, "fresh": {}})
    failed = run.failed()
    assert set(failed) == {f"{c}[fresh]" for c in (
        "test_restore_succeeds", "test_restored_objects_match", "test_restored_row_counts_match",
        "test_restore_within_rto")}, failed
    reason = failed["test_restore_succeeds[fresh]"]
    assert reason.startswith("fresh rehearsal could not start: cannot open a read-only snapshot "
                             "on the source: ")
    assert ("refused" in reason) if make_url == "refused" else ("timeout" in reason), reason
    assert run.summary["verdict"] == "ROLLBACK"


def test_corrupt_and_garbage_dumps_fail_with_the_tools_own_line(tmp_path, source_server):
    backups = tmp_path / "backups"
    backups.mkdir()
    corrupt = backups / "backup_1.dump"
    corrupt.write_bytes(b"PGDMP" + os.urandom(4000))
    run = run_backup(tmp_path, {"files": {"path": str(backups), "retention": {"min_count": 1}}})
    failed = run.failed()
    assert failed["test_latest_backup_is_complete"].startswith(
        "backup_1.dump (custom, 4005 bytes) pg_restore --list failed: pg_restore: error: ")
    assert failed["test_restore_succeeds[latest]"].startswith(
        "latest rehearsal could not start") or "pg_restore: error:" in failed[
        "test_restore_succeeds[latest]"], failed
    corrupt.unlink()
    (backups / "backup_2.sql").write_text("-- PostgreSQL database dump\nCREATE TABLE t (;\n"
                                          "-- PostgreSQL database dump complete\n")
    run = run_backup(tmp_path, {"files": {"path": str(backups)}})
    assert "test_latest_backup_is_complete" not in run.failed()  # whole, but not valid SQL
    assert run.failed()["test_restore_succeeds[latest]"].endswith(
        'failed: psql:<stdin>:3: ERROR:  syntax error at or near ";"'), run.failed()


def test_source_secrets_never_reach_any_output(tmp_path, source_server):
    password = "s3cret-backup-pw-9731"
    dsn = source_server.dsn("backup_fixture").replace("postgres@", f"postgres:{password}@")
    run = run_backup(tmp_path, {"source": {"dsn": "${RG_HOSTILE_BACKUP_DSN}"}, "fresh": {}},
                     env={"RG_HOSTILE_BACKUP_DSN": dsn})
    assert run.summary["verdict"] == "GO", run.failed()
    outputs = run.outputs()
    assert password not in outputs
    assert '${RG_HOSTILE_BACKUP_DSN}' in outputs  # the reproduce command names the variable


def test_ctrl_c_during_a_restore_tears_the_replica_down(source_server):
    """KeyboardInterrupt mid-restore: pg_restore is killed and the throwaway server stopped."""
    given = []

    class Recording(LocalProvider):
        @contextmanager
        def postgres(self, major=None):
            with super().postgres(major) as server:
                given.append(server)
                yield server

    def interrupt(line: str) -> None:
        if "throwaway server up" in line:
            raise KeyboardInterrupt

    with psycopg.connect(source_server.dsn("backup_fixture"), autocommit=True) as conn:
        conn.execute("SELECT 1")
    with pytest.raises(KeyboardInterrupt):
        rehearse_fresh(source_server.dsn("backup_fixture"),
                       Options(provider=Recording(), progress=interrupt))
    assert given and all(s.stopped for s in given)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(given[0].dsn(), connect_timeout=2)


def test_missing_or_too_old_client_tools_say_how_to_install_them():
    with pytest.raises(ToolMissing) as caught:
        PgTools.for_server(99)
    message = str(caught.value)
    assert message.startswith("pg_dump 99 or newer is needed for a Postgres 99 server and was not "
                              "found (")
    assert "apt-get install -y postgresql-client-99" in message and "RELEASEGATE_PG_BINDIR" in message
    assert "\n" not in message
    tools = PgTools.for_server(10)  # a newer pg_dump dumps an older server
    assert tools.major >= 10


def test_no_throwaway_server_says_what_to_do(tmp_path, source_server):
    """The runner's problem, not the target's: one line that says what to do; nothing is
    restored anywhere else instead, and the verdict is not GO."""
    run = run_backup(tmp_path, {"source": {"dsn": source_server.dsn("backup_fixture")},
                                "fresh": {}, "restore": {"provider": "docker"}},
                     env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    message = run.failed()["test_restore_succeeds[fresh]"]
    assert message == ("ServerUnavailable: no throwaway servers for the backup rehearsals "
                       "(backup.restore.provider: docker): no Docker engine answers; unset "
                       "RELEASEGATE_PROVIDER or use local"), message
    # the runner's problem: no verdict (a restore not rehearsed is not a GO either), exit 69
    assert (run.returncode, run.summary["verdict"], run.summary["exit_code"]) == (69, None, 69)
    assert "no Docker engine answers" in run.summary["reason"]
    assert run.outcomes()["test_restore_succeeds[fresh]"] == "error"


def test_a_select_only_source_role_is_inconclusive_with_the_grant_not_rollback(tmp_path,
                                                                              source_server):
    """Issue 20 §5: the gate's own credential lacking what a dump needs is no verdict on the
    target — Inconclusive with the GRANT to run, the role's name shown."""
    with psycopg.connect(source_server.dsn("backup_fixture"), autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS zoo_gate; CREATE ROLE zoo_gate LOGIN; "
                      "GRANT USAGE ON SCHEMA app, \"müşteri\" TO zoo_gate; "
                      "GRANT SELECT ON ALL TABLES IN SCHEMA app, public, \"müşteri\" TO zoo_gate")
    try:
        dsn = source_server.dsn("backup_fixture").replace("postgres@", "zoo_gate@")
        run = run_backup(tmp_path, {"source": {"dsn": dsn}, "fresh": {}})
    finally:
        with psycopg.connect(source_server.dsn("backup_fixture"), autocommit=True) as admin:
            admin.execute("DROP OWNED BY zoo_gate; DROP ROLE zoo_gate")
    assert run.failed() == {}, run.failed()
    outcomes = run.outcomes()
    judged = [c for c in outcomes if c.endswith("[fresh]") and "queries" not in c]
    assert judged and all(outcomes[c] == "inconclusive" for c in judged), outcomes
    checks = {c["id"].split("::", 1)[1]: c for c in run.summary["checks"]}
    message = checks["test_restore_succeeds[fresh]"]["message"]
    assert message.startswith("fresh rehearsal not run: the source role zoo_gate lacks what a "
                              "dump needs: SELECT on "), message
    assert "GRANT SELECT ON ALL SEQUENCES IN SCHEMA app, public TO zoo_gate" in message
    assert message.endswith("ALTER ROLE zoo_gate BYPASSRLS")
    assert run.summary["verdict"] == "INVESTIGATE" and run.returncode == 4


def test_a_go_within_the_tolerance_still_says_what_differs(tmp_path, source_server):
    """Issue 20 §4: against the live source within a tolerance, a GO names each difference in
    the terminal, the report and summary.json, and how to get an exact basis."""
    from releasegate.backup.rehearsal import record_dump
    from releasegate.reference import backup_tamper

    backups = tmp_path / "backups"
    backups.mkdir()
    latest = backups / "backup_20261206_020000.sql"
    record_dump(source_server.dsn("backup_fixture"), latest, Options(), dump_format="p")
    (backups / "backup_20261206_020000.sql.counts.json").unlink()  # no exact basis
    backup_tamper.drop_row(latest, "public.audit_log", row=3)
    run = run_backup(tmp_path, {"source": {"dsn": source_server.dsn("backup_fixture")},
                                "files": {"path": str(backups), "retention": {"min_count": 1},
                                          "count_tolerance_pct": 10}})
    assert run.failed() == {} and run.summary["verdict"] == "GO", run.failed()
    note = next(n for n in run.summary["notes"] if n.startswith("backup latest rehearsal"))
    assert "public.audit_log: 49 rows restored, 50 on the source (-1)" in note
    assert "python -m releasegate.backup dump" in note
    assert f"note: {note}" in run.stdout
    assert "public.audit_log: 49 rows restored" in (tmp_path / "reports" / "report.html").read_text()

"""The backup engine on real servers and real dumps: files, catalog and counts, rehearsals.

One throwaway Postgres with the fixture database (fixtures/backup/schema.sql) serves the module;
every rehearsal restores into throwaway servers of its own and must leave none behind.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from releasegate.backup import catalog as cat
from releasegate.backup import rows
from releasegate.backup.files import (
    archive_tables,
    check_complete,
    counts_path,
    detect_format,
    find_backups,
    list_archive,
    parse_time,
    plain_tables,
    read_counts_file,
    retention,
)
from releasegate.backup.rehearsal import Options, Query, record_dump, rehearse_fresh, rehearse_latest
from releasegate.backup.runner import libpq_env, run_tool
from releasegate.backup.tools import PgTools
from releasegate.reference.backup import create_fixture
from releasegate.servers.local import LocalProvider

QUIET = {"progress": lambda line: None}


@pytest.fixture(scope="module")
def fixture_server():
    with LocalProvider().postgres() as server:
        yield server


@pytest.fixture(scope="module")
def source(fixture_server) -> str:
    return create_fixture(fixture_server, 120)


@pytest.fixture(scope="module")
def tools(source) -> PgTools:
    with psycopg.connect(source) as conn:
        return PgTools.for_server(conn.info.server_version // 10000)


@pytest.fixture(scope="module")
def dumps(source, tools, tmp_path_factory) -> dict[str, Path]:
    """One dump of each format, made once."""
    root = tmp_path_factory.mktemp("dumps")
    env = libpq_env(source)
    out = {"custom": root / "b.dump", "plain": root / "b.sql", "directory": root / "b.dir",
           "tar": root / "b.tar"}
    for fmt, path in out.items():
        subprocess.run([tools.pg_dump, f"-F{fmt[0]}", "--no-owner", "-f", str(path)], env=env,
                       check=True, timeout=60)
    gz = root / "b.sql.gz"
    with open(out["plain"], "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    out["plain-gzip"] = gz
    return out


# --- files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["custom", "plain", "plain-gzip", "directory", "tar"])
def test_format_is_read_from_the_content(dumps, fmt, tmp_path):
    assert detect_format(dumps[fmt]) == fmt
    if fmt != "directory":  # names lie: a custom dump called .sql is still custom
        renamed = tmp_path / "misnamed.sql"
        shutil.copyfile(dumps[fmt], renamed)
        assert detect_format(renamed) == fmt


@pytest.mark.parametrize("fmt", ["custom", "plain", "plain-gzip", "directory", "tar"])
def test_whole_dumps_are_complete(dumps, tools, fmt):
    found = [b for b in find_backups(str(dumps[fmt].parent)) if b.path == dumps[fmt]]
    assert found, "find_backups lists every dump format"
    result = check_complete(found[0], tools.pg_restore, 60)
    assert result.ok, result.detail
    assert result.server_version and result.server_version.startswith(str(tools.major))


@pytest.mark.parametrize("fmt,expect", [
    ("custom", "pg_restore: error: could not read from input file: end of file"),
    ("plain", 'no "PostgreSQL database dump complete" footer'),
    ("plain-gzip", "cannot be read through"),
])
def test_truncated_dumps_fail_with_the_tools_own_line(dumps, tools, fmt, expect, tmp_path):
    cut = tmp_path / dumps[fmt].name
    data = dumps[fmt].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    result = check_complete(find_backups(str(cut))[0], tools.pg_restore, 60)
    assert not result.ok and expect in result.detail, result.detail
    assert "\n" not in result.detail


def test_empty_and_foreign_files_are_not_dumps(tools, tmp_path):
    (tmp_path / "empty.dump").write_bytes(b"")
    (tmp_path / "photo.dump").write_bytes(b"\x89PNG\r\n" + os.urandom(200))
    by_name = {b.path.name: b for b in find_backups(str(tmp_path))}
    assert "is empty" in check_complete(by_name["empty.dump"], tools.pg_restore, 10).detail
    assert "neither a plain SQL dump nor" in check_complete(by_name["photo.dump"],
                                                             tools.pg_restore, 10).detail


def test_newest_first_retention_and_counts_files_ignored(tmp_path):
    for age_days, name in ((0, "a.dump"), (3, "b.sql.gz"), (9, "c.sql")):
        path = tmp_path / name
        path.write_text("-- PostgreSQL database dump\n")
        stamp = time.time() - age_days * 86400
        os.utime(path, (stamp, stamp))
    (tmp_path / "a.dump.counts.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a dump")
    found = find_backups(str(tmp_path))
    assert [b.path.name for b in found] == ["a.dump", "b.sql.gz", "c.sql"]
    assert [b.path.name for b in find_backups(str(tmp_path / "*.sql*"))] == ["b.sql.gz", "c.sql"]
    kept = retention(found, max_days=7, min_count=4)
    assert [b.path.name for b in kept.too_old] == ["c.sql"]
    assert kept.violations == ["1 backup(s) older than 7 days kept (oldest c.sql, 9.0 days)",
                               "3 backup(s) kept, at least 4 required"]
    assert retention(found, max_days=10, min_count=1).violations == []


def test_tables_in_dumps(dumps, tools, source, tmp_path):
    code, lines, _ = list_archive(tools.pg_restore, dumps["custom"], 30)
    assert code == 0
    listed = archive_tables(lines)
    assert {"public.incidents", "app.events", "app.events_2026_10"} <= listed
    assert "müşteri.sipariş" in listed and "app.events_default" in listed
    assert not any(t.startswith(("DATA", "ATTACH")) for t in listed)
    assert plain_tables(dumps["plain"]) == listed
    assert plain_tables(dumps["plain-gzip"], gz=True) == listed


@pytest.mark.parametrize("text,epoch", [
    ("2026-11-24T10:00:00Z", 1795514400.0), ("2026-11-24 10:00:00 UTC", 1795514400.0),
    ("2026-11-24T12:00:00+02:00", 1795514400.0), ("1795514400", 1795514400.0),
])
def test_parse_time(text, epoch):
    assert parse_time(text) == epoch


# --- catalog and counts ---------------------------------------------------------------------------


def test_catalog_covers_what_real_schemas_contain(source):
    with psycopg.connect(source) as conn:
        catalog = cat.read_catalog(conn)
        skipped = cat.skipped_kinds(conn)
    tables = catalog["table"]
    assert tables["app.events"].startswith("partitioned RANGE (at)")
    assert "partition of app.events FOR VALUES FROM" in tables["app.events_2026_10"]
    assert "partition of app.events DEFAULT" in tables["app.events_default"]
    assert "unlogged" in tables["app.session_cache"]
    assert "rls force-rls" in tables["app.tenant_notes"]
    assert '"müşteri"."sipariş"' in tables
    columns = catalog["column"]
    assert "identity always" in columns["public.incidents.id"]
    assert "generated (attempts * 2)" in columns["public.jobs.attempts_x2"]
    assert columns["public.incidents.tags"].startswith("text[]")
    assert columns["app.companies.logo"] == "bytea"
    assert columns["app.companies.contact"] == "app.email"
    assert "DEFERRABLE INITIALLY DEFERRED" in catalog["constraint"]["public.jobs.jobs_incident_fk"]
    assert catalog["enum"]["app.job_state"] == "'queued', 'running', 'done', 'failed'"
    assert catalog["domain"]["app.amount"].startswith("numeric(12,2) not null")
    assert catalog["view"]["app.job_stats"].startswith("materialized ")
    assert "app.audit()" in catalog["function"]
    assert "AFTER INSERT OR UPDATE ON public.jobs" in catalog["trigger"]["public.jobs.jobs_audit"]
    assert "app.tenant_notes.tenant_isolation" in catalog["policy"]
    assert "app.invoice_no" in catalog["sequence"]
    assert skipped == {}  # none of the kinds not compared exist in the fixture


def test_catalog_diff_names_what_changed(source):
    with psycopg.connect(source) as conn:
        base = cat.read_catalog(conn)
    changed = {k: dict(v) for k, v in base.items()}
    del changed["table"]["app.domain_signals"]
    for name in [n for n in changed["column"] if n.startswith("app.domain_signals.")]:
        del changed["column"][name]
    changed["constraint"]["public.jobs.jobs_incident_fk"] = "FOREIGN KEY (incident_id) …"
    changed["index"]["app.extra_idx"] = "CREATE INDEX extra_idx …"
    diff = cat.compare_catalogs(base, changed)
    assert not diff.ok
    assert diff.missing["table"] == ["app.domain_signals"]
    assert diff.summary().startswith("missing table app.domain_signals; changed constraint "
                                     "public.jobs.jobs_incident_fk; unexpected index app.extra_idx")
    assert cat.compare_catalogs(base, base).ok


def test_counts_and_sequences(source):
    with psycopg.connect(source) as conn:
        counts = rows.count_rows(conn)
    assert counts.tables["public.incidents"] == 120
    assert counts.tables["app.events_2026_10"] + counts.tables["app.events_2026_11"] + \
        counts.tables["app.events_default"] == 240  # each partition counted on its own
    assert "app.events" not in counts.tables  # the partitioned parent holds no rows itself
    assert counts.tables["app.empty_archive"] == 0
    assert counts.tables["app.tenant_notes"] == 6  # FORCE RLS, but counted as a superuser
    assert counts.matviews["app.job_stats"] == 4
    assert counts.sequences["app.invoice_no"] == 1120
    assert counts.counted_as == "postgres (superuser: sees every row)"
    moved = rows.Counts.from_dict(counts.as_dict())
    moved.tables["public.jobs"] += 1
    moved.sequences["app.invoice_no"] = 1119
    diff = rows.compare_counts(counts, moved)
    assert diff.tables == {"public.jobs": (120, 121)}
    assert diff.sequences == {"app.invoice_no": (1120, 1119)}
    assert rows.compare_counts(counts, moved, tolerance_pct=1).tables == {}


def test_rls_that_hides_rows_is_an_error_not_a_low_count(source):
    with psycopg.connect(source, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS rg_reader; CREATE ROLE rg_reader LOGIN; "
                      "GRANT USAGE ON SCHEMA app TO rg_reader; "
                      "GRANT SELECT ON ALL TABLES IN SCHEMA app, public TO rg_reader")
    reader = source.replace("postgresql://postgres@", "postgresql://rg_reader@")
    with psycopg.connect(reader) as conn:
        counts = rows.count_rows(conn)
    assert "row-level security" in counts.errors["app.tenant_notes"]
    assert "app.tenant_notes" not in counts.tables
    assert counts.counted_as.startswith("rg_reader (no BYPASSRLS")
    assert counts.tables["public.incidents"] == 120


# --- rehearsals ---------------------------------------------------------------------------------


class Recording(LocalProvider):
    """A local provider that remembers the servers it gave out."""

    def __init__(self) -> None:
        super().__init__()
        self.given: list = []

    @contextmanager
    def postgres(self, major=None):
        with super().postgres(major) as server:
            self.given.append(server)
            yield server


def assert_gone(provider: Recording) -> None:
    assert provider.given, "the rehearsal started a throwaway server"
    for server in provider.given:
        assert server.stopped
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.dsn(), connect_timeout=2)


def test_fresh_rehearsal_is_exact_and_leaves_no_server(source):
    provider = Recording()
    result = rehearse_fresh(source, Options(provider=provider,
                                            queries=[Query("SELECT 1", equals="1"),
                                                     Query("SELECT 1 WHERE false", name="none")],
                                            **QUIET))
    assert result.error == "" and result.restored, result.restore
    assert result.catalog["ok"], result.catalog["summary"]
    assert result.counts["ok"] and result.counts["compared_tables"] == 14, result.counts
    assert result.counts["basis"] == "the dump's own snapshot"
    assert result.server["major"] == result.source["major"]
    assert [q["ok"] for q in result.queries] == [True, False]
    assert result.queries[1]["error"] == "returned 0 row(s), expected at least 1"
    assert 50 < result.restore["items"] <= result.restore["items_total"]
    assert not Path(result.dump["path"]).exists()  # the fresh dump is gone with its temp dir
    assert_gone(provider)


def test_fresh_counts_are_exact_under_concurrent_writes(source):
    """Rows inserted while pg_dump runs are neither in the dump nor in the expected counts."""
    import threading

    stop = threading.Event()

    def writer() -> None:
        with psycopg.connect(source, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO app.empty_archive (id) SELECT coalesce(max(id), 0) + 1 "
                             "FROM app.empty_archive")
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        result = rehearse_fresh(source, Options(**QUIET))
    finally:
        stop.set()
        thread.join(10)
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute("TRUNCATE app.empty_archive")
    assert result.counts["ok"], result.counts["summary"]


def test_latest_rehearsal_against_recorded_counts_and_live_source(source, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    recorded = record_dump(source, backups / "backup_1.dump", Options())
    assert read_counts_file(counts_path(backups / "backup_1.dump"))["tables"] == recorded["tables"]
    result = rehearse_latest(str(backups), Options(**QUIET))
    assert result.restored and result.counts["ok"] and result.catalog["ok"]
    assert result.counts["basis"].startswith("counts recorded beside the backup")
    counts_path(backups / "backup_1.dump").unlink()
    live = rehearse_latest(str(backups), Options(count_tolerance_pct=5, **QUIET), source)
    assert live.counts["ok"] and live.counts["basis"].startswith("the live source, within 5%")
    blind = rehearse_latest(str(backups), Options(**QUIET))
    assert blind.restored and blind.counts["ok"] is None and blind.catalog["ok"] is None


def test_latest_rehearsal_of_nothing(tmp_path):
    result = rehearse_latest(str(tmp_path), Options(**QUIET))
    assert result.error == f"no backup file found at {tmp_path}" and result.error_kind == "backup"


def test_restore_stops_at_the_first_error_with_the_tools_line(source, tools, tmp_path):
    bad = tmp_path / "bad.sql"
    bad.write_text("-- PostgreSQL database dump\nCREATE TABLE t (id int);\n"
                   "ALTER TABLE t OWNER TO nobody_here;\n-- PostgreSQL database dump complete\n")
    result = rehearse_latest(str(bad), Options(**QUIET))
    assert not result.restored
    assert result.restore["error"] == ('psql:<stdin>:3: ERROR:  role "nobody_here" does not exist')


def test_progress_is_reported_during_long_restores(source):
    lines: list[str] = []
    slow = Options(progress=lines.append)
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("CREATE FUNCTION public.slow_id(i int) RETURNS int IMMUTABLE LANGUAGE sql "
                     "AS 'SELECT i FROM pg_sleep(0.02)'; CREATE TABLE public.slow (id int); "
                     "INSERT INTO public.slow SELECT generate_series(1, 200)")
    try:
        from releasegate.backup import runner
        interval = runner.Progress.__init__.__defaults__
        runner.Progress.__init__.__defaults__ = (None, 0.5)
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute("CREATE INDEX slow_idx ON public.slow (public.slow_id(id))")
        result = rehearse_fresh(source, slow)
    finally:
        runner.Progress.__init__.__defaults__ = interval
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute("DROP TABLE public.slow; DROP FUNCTION public.slow_id(int)")
    assert result.restored and result.restore["duration_s"] > 3
    during = [ln for ln in lines if "pg_restore, " in ln]
    assert during, lines
    # by bytes (of the source's size) and tables (issue 20: an item counter stood still)
    assert all(" of ~" in ln and " restored, " in ln and " tables' data loaded" in ln
               and "s elapsed" in ln for ln in during), during


def test_run_tool_is_bounded_and_kills_its_process_group():
    run = run_tool(["sh", "-c", "sleep 30 & sleep 30"], os.environ, timeout_s=0.5)
    assert run.returncode == 124 and "did not finish within 0.5s (killed)" in run.error
    assert run.duration_s < 5


def test_libpq_env_keeps_the_password_off_the_command_line():
    env = libpq_env("postgresql://app:s3cr%40t@db.internal:6543/shop?sslmode=require")
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"], env["PGSSLMODE"]) == \
        ("db.internal", "6543", "app", "shop", "require")
    assert env["PGPASSWORD"] == "s3cr@t"


# --- alembic on a replica -------------------------------------------------------------------------


def _replica(server, name: str) -> str:
    """A copy of the fixture database standing in for a restored replica (the module's
    fixture database must exist: ``source`` is requested by the tests)."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE backup_fixture')
    return server.dsn(name)


def test_alembic_round_trip_on_the_replica(fixture_server, source, tmp_path):
    from releasegate.backup.migrations import AlembicConfig, rehearse_migrations
    from releasegate.reference.backup import alembic_project

    replica = _replica(fixture_server, "alembic_ok")
    ini = alembic_project(tmp_path, frozenset())
    result = rehearse_migrations(AlembicConfig(ini, (sys.executable, "-m", "alembic"),
                                               url_env="RG_BACKUP_ALEMBIC_URL"), replica)
    assert result.error == "" and result.heads == ["0002"] and result.current == ["0002"]
    assert result.downgrade.ok and result.downgrade.version_after == ["0001"]
    assert result.upgrade.ok and result.upgrade.version_after == ["0002"]


def test_alembic_that_ignores_the_replica_url_is_caught(fixture_server, source, tmp_path):
    """An env.py with its own URL would migrate another database: said, loudly."""
    from releasegate.backup.migrations import AlembicConfig, rehearse_migrations
    from releasegate.reference.backup import alembic_project

    replica = _replica(fixture_server, "alembic_replica")
    elsewhere = _replica(fixture_server, "alembic_elsewhere")
    ini = alembic_project(tmp_path, frozenset())
    env_py = ini.parent / "env.py"
    env_py.write_text(env_py.read_text().replace(
        'url = os.environ.get("RG_BACKUP_ALEMBIC_URL") or context.config.get_main_option('
        '"sqlalchemy.url")', f'url = "{elsewhere.replace("postgresql://", "postgresql+psycopg://")}"'))
    result = rehearse_migrations(AlembicConfig(ini, (sys.executable, "-m", "alembic"),
                                               expected_head="0002"), replica)
    assert not result.downgrade.ok
    assert result.downgrade.error.startswith("alembic reported success but the replica's "
                                             "alembic_version did not move")
    assert result.upgrade is None


def test_alembic_finds_no_database_but_the_replica_in_its_environment():
    from releasegate.backup.migrations import replica_only_environment

    kept = replica_only_environment({
        "PATH": "/usr/bin", "HUNTER_DATABASE_URL": "postgresql://u:p@prod:5432/app",
        "SQLA_URL": "postgresql+psycopg://u@prod/app", "LEGACY_DSN": "host=prod dbname=app user=u",
        "PGHOST": "prod", "PGPASSWORD": "p", "APP_URL": "https://app.example.com", "LANG": "C.UTF-8"})
    assert kept == {"PATH": "/usr/bin", "APP_URL": "https://app.example.com", "LANG": "C.UTF-8"}

"""Backup part of the reference stack: a fixture database, its backups, Redis keys, migrations.

Before the app starts it creates the fixture database (fixtures/backup/schema.sql: partitions,
identity and generated columns, enums, domains, arrays, bytea, jsonb, RLS, a materialized view,
unlogged and empty tables, a deferred FK, sequences, non-ASCII names, functions, a trigger) with
RG_BACKUP_ROWS rows per main table (small for the self-tests; benches make ~1 GB), then what a
backup job would have left: a backups directory (the newest a custom-format dump with its counts
recorded beside it by `python -m releasegate.backup dump`, older gzip'd plain dumps), the 002 §9
pre-deploy dump of incidents and jobs, a copy of the fixture's Alembic project, and Redis keys for
the snapshot rehearsal under a backup user. Faults break each of those the way real jobs do.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import redis as redis_lib
from psycopg import sql

from releasegate.backup.rehearsal import Options, record_dump
from releasegate.backup.runner import libpq_env
from releasegate.backup.tools import PgTools
from releasegate.core.paths import FIXTURES
from releasegate.reference import backup_tamper as edits
from releasegate.reference.parts import Fault, Part, StackContext
from releasegate.servers import PostgresServer

FIXTURE_DIR = FIXTURES / "backup"
DATABASE = "backup_fixture"
ROWS = int(os.environ.get("RG_BACKUP_ROWS", "300"))
REDIS_USER, REDIS_PASSWORD = "rg-backup", "rg-backup-pass"
RTO_MIN = 0.05  # 3 s: the small fixture restores in well under a second; restore_slow takes ~4.5 s
SLOW_ROWS, SLOW_S = 90, 0.05

FAULTS = (
    Fault("backup_truncated", "the newest backup is cut short (a full disk, a killed job)",
          "001 §6.3 Backup Verification"),
    Fault("backup_missing_table", "the backup job leaves out a table (-T app.domain_signals) and "
          "the pre-deploy dump forgot -t jobs", "001 §6.3 Restore Dry-Run, 002 §9.1"),
    Fault("backup_stale", "the newest backup is 30 hours old (the daily job stopped)",
          "004 Database Backup"),
    Fault("backup_retention_violated", "a 40-day-old backup is still kept (cleanup step broken)",
          "001 §6.3 Backup Automation"),
    Fault("backup_empty", "the newest backup is 0 bytes (pg_dump > file failed at once)",
          "001 §6.3 Backup Verification"),
    Fault("backup_needs_missing_role", "objects tied to role hunter_owner: the newest backup is "
          "a plain dump without --no-owner, and an RLS policy names the role, so no restore "
          "works without it", "001 §6.3 Backup Command Option A"),
    Fault("companies_emptied", "app.companies was emptied by a bad release: every backup copies "
          "the empty table, the post-restore verification query notices",
          "001 §6.3 Restore Dry-Run step 3"),
    Fault("backup_counts_differ", "the backup job skips a table's rows "
          "(--exclude-table-data=public.audit_log): row counts differ after restore",
          "001 §6.3 'data counts match'"),
    Fault("restore_slow", "an expression index takes seconds to build: the restore overruns the "
          "RTO", "001 §6.3 RTO <= 15 min"),
    Fault("redis_snapshot_refused", "the Redis backup user may not SYNC: no snapshot can be taken",
          "004 Backup strategy in place"),
    Fault("alembic_not_at_head", "the database is at revision 0001, the code's head is 0002",
          "004 Alembic Migration"),
    Fault("alembic_downgrade_broken", "the head migration's downgrade() fails",
          "004 Alembic Migration"),
    # issue 20: backups wrong in ways that keep the counts, and a healthy one made as 004 makes it
    Fault("backup_values_changed", "the newest backup (plain) had one row's bytea, jsonb and "
          "array values rewritten after pg_dump: row counts equal", "001 §6.3 'data counts match'"),
    Fault("backup_matview_unpopulated", "the backup job skips a materialized view's data "
          "(--exclude-table-data=app.job_stats): it restores unpopulated",
          "001 §6.3 'data counts match'"),
    Fault("backup_row_missing", "the newest backup (plain) lost one row of public.audit_log",
          "001 §6.3 'data counts match'"),
    Fault("backup_sequence_behind", "the newest backup (plain) sets app.invoice_no one step "
          "behind the source", "001 §6.3 'data counts match'"),
    Fault("backup_plain_runbook_004", "healthy: the newest backup is a plain `pg_dump > "
          "db_backup.sql` of a database where role zoo_reader holds grants and app_owner owns a "
          "table — it must rehearse to GO", "004 Database Backup"),
)
EDITED = {"backup_values_changed", "backup_row_missing", "backup_sequence_behind"}
PLAIN_LATEST = EDITED | {"backup_needs_missing_role", "backup_plain_runbook_004"}


def job_args(faults: frozenset[str]) -> list[str]:
    """The pg_dump options of the stack's backup job (the fresh rehearsal uses the same)."""
    args: list[str] = []
    if "backup_missing_table" in faults:
        args.append("--exclude-table=app.domain_signals")
    if "backup_counts_differ" in faults:
        args.append("--exclude-table-data=public.audit_log")
    if "backup_matview_unpopulated" in faults:
        args.append("--exclude-table-data=app.job_stats")
    return args


def create_fixture(server: PostgresServer, rows: int, faults: frozenset[str] = frozenset(),
                   dbname: str = DATABASE) -> str:
    """The fixture database with ``rows`` rows per main table (benches make ~1 GB); its DSN."""
    with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    dsn = server.dsn(dbname)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute((FIXTURE_DIR / "schema.sql").read_text())
        conn.execute((FIXTURE_DIR / "data.sql").read_text().replace("{rows}", str(int(rows))))
        if "restore_slow" in faults:
            conn.execute(f"""
                CREATE FUNCTION app.slow_key(i integer) RETURNS integer IMMUTABLE LANGUAGE plpgsql
                AS $$ BEGIN
                    IF current_setting('releasegate.seeding', true) IS DISTINCT FROM 'on' THEN
                        PERFORM pg_sleep({SLOW_S});
                    END IF;
                    RETURN i;
                END $$;
                CREATE TABLE app.slow_things (id integer);
                INSERT INTO app.slow_things SELECT generate_series(1, {SLOW_ROWS});
                SET releasegate.seeding = on;
                CREATE INDEX slow_things_key ON app.slow_things (app.slow_key(id));""")
        if "backup_needs_missing_role" in faults:
            conn.execute("CREATE ROLE hunter_owner; ALTER TABLE public.incidents OWNER TO "
                         "hunter_owner; ALTER TABLE public.jobs OWNER TO hunter_owner; "
                         "CREATE POLICY owner_sees_all ON app.tenant_notes TO hunter_owner "
                         "USING (true)")
        if "backup_plain_runbook_004" in faults:
            conn.execute("DO $$ BEGIN CREATE ROLE zoo_reader NOLOGIN; CREATE ROLE app_owner "
                         "NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; "
                         "GRANT USAGE ON SCHEMA app TO zoo_reader; "
                         "GRANT SELECT ON ALL TABLES IN SCHEMA app, public TO zoo_reader; "
                         "ALTER TABLE app.companies OWNER TO app_owner")
        if "companies_emptied" in faults:
            conn.execute("TRUNCATE app.companies CASCADE")
        if "alembic_not_at_head" in faults:
            conn.execute("ALTER TABLE public.release_notes DROP COLUMN summary; "
                         "UPDATE public.alembic_version SET version_num = '0001'")
        conn.execute("ANALYZE")
    return dsn


def _age(path: Path, hours: float) -> None:
    stamp = time.time() - hours * 3600
    os.utime(path, (stamp, stamp))


def _plain_dump(tools: PgTools, dsn: str, out: Path, *args: str) -> None:
    subprocess.run([tools.pg_dump, "--no-owner", "--no-acl", *args, "-f", str(out)],
                   env=libpq_env(dsn), check=True, capture_output=True, timeout=600)


def make_backups(root: Path, dsn: str, faults: frozenset[str]) -> dict[str, Any]:
    """The backups directory and pre-deploy dump a backup job and a deploy script leave."""
    backups, pre_deploy = root / "backups", root / "pre_deploy"
    backups.mkdir(parents=True, exist_ok=True)
    pre_deploy.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    name = f"backup_{now:%Y%m%d_%H%M%S}"
    options = Options(dump_args=job_args(faults))
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        major = conn.info.server_version // 10000
    tools = PgTools.for_server(major)
    # Older backups first: yesterday's and the day before's, gzip'd plain dumps.
    plain = backups / f"backup_{now - timedelta(days=1):%Y%m%d}_020000.sql"
    _plain_dump(tools, dsn, plain)
    with open(plain, "rb") as src, gzip.open(f"{plain}.gz", "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()
    older = backups / f"backup_{now - timedelta(days=2):%Y%m%d}_020000.sql.gz"
    shutil.copyfile(f"{plain}.gz", older)
    _age(Path(f"{plain}.gz"), 24)
    _age(older, 48)
    if "backup_retention_violated" in faults:
        ancient = backups / f"backup_{now - timedelta(days=40):%Y%m%d}_020000.sql.gz"
        shutil.copyfile(f"{plain}.gz", ancient)
        _age(ancient, 40 * 24)
    # The newest: the job's custom-format dump with its counts recorded from the same snapshot.
    if faults & PLAIN_LATEST:  # 004's `pg_dump > db_backup_$DATE.sql`: plain, with owners
        latest = backups / f"{name}.sql"
        record_dump(dsn, latest, options, dump_format="p")
        tamper(latest, faults)
    else:
        latest = backups / f"{name}.dump"
        record_dump(dsn, latest, options)
    if "backup_empty" in faults:  # the job's `pg_dump > file` could not even connect
        (backups / f"backup_{now:%Y%m%d}_235959.sql").write_bytes(b"")
    if "backup_truncated" in faults:
        size = latest.stat().st_size
        with open(latest, "r+b") as fh:
            fh.truncate(size // 2)
    if "backup_stale" in faults:
        for path in backups.iterdir():
            _age(path, 30 + (48 if path.name.endswith(".sql.gz") else 0))
    # 002 §9.1: pg_dump -t incidents -t jobs > backup.sql, ten minutes before the deploy.
    tables = ["-t", "public.incidents"] + ([] if "backup_missing_table" in faults
                                          else ["-t", "public.jobs"])
    snapshot = pre_deploy / "backup_pre_8.9.sql"
    _plain_dump(tools, dsn, snapshot, *tables)
    _age(snapshot, 10 / 60)
    deploy_started = datetime.now(timezone.utc) - timedelta(minutes=5)
    return {"backups": backups, "pre_deploy": snapshot,
            "deploy_started_at": deploy_started.isoformat(timespec="seconds")}


def tamper(latest: Path, faults: frozenset[str]) -> None:
    """Edit the newest (plain) backup after pg_dump, keeping the counts file it was made with."""
    if "backup_values_changed" in faults:
        edits.change_value(latest, "app.companies", "logo", "\\\\x00", row=2)       # bytea
        edits.change_value(latest, "public.incidents", "payload", '{"i": 0}', row=4)  # jsonb
        edits.change_value(latest, "app.companies", "scores", "{1,2}", row=5)         # array
    if "backup_row_missing" in faults:
        edits.drop_row(latest, "public.audit_log", row=7)
    if "backup_sequence_behind" in faults:
        edits.sequence_back(latest, "app.invoice_no")


def alembic_project(root: Path, faults: frozenset[str]) -> Path:
    """A copy of the fixture's Alembic project; alembic_downgrade_broken breaks 0002's downgrade."""
    target = root / "alembic"
    shutil.copytree(FIXTURE_DIR / "alembic", target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    if "alembic_downgrade_broken" in faults:
        script = target / "versions" / "0002_summary.py"
        script.write_text(script.read_text().replace(
            'op.drop_column("release_notes", "summary")',
            'op.drop_column("release_notes", "summary_text")  # the column was renamed since'))
    return target / "alembic.ini"


def seed_redis(url: str, faults: frozenset[str]) -> None:
    """Keys of every type in two databases, some volatile, and the backup user."""
    client = redis_lib.Redis.from_url(url, socket_timeout=5)
    try:
        # Our own server: start a snapshot at once instead of waiting 5 s for more replicas to join
        # (a live server's setting is its own; the rehearsal only reads it).
        client.config_set("repl-diskless-sync-delay", 0)
        perms = ["-sync", "-psync"] if "redis_snapshot_refused" in faults else []
        client.acl_setuser(REDIS_USER, enabled=True, passwords=[f"+{REDIS_PASSWORD}"],
                           keys=["*"], channels=["*"], commands=["+@all", *perms], reset=True)
        for db in (0, 3):
            data = client if db == 0 else redis_lib.Redis.from_url(url, db=db, socket_timeout=5)
            pipe = data.pipeline(transaction=False)
            for i in range(40):
                pipe.set(f"rg-fixture:str:{i}", f"value {i}")
                pipe.hset(f"rg-fixture:hash:{i}", mapping={"a": i, "b": "ü"})
                pipe.rpush(f"rg-fixture:list:{i}", *range(3))
                pipe.sadd(f"rg-fixture:set:{i}", "x", "y")
                pipe.zadd(f"rg-fixture:zset:{i}", {"m": i})
                if i % 4 == 0:
                    pipe.expire(f"rg-fixture:str:{i}", 3600)
            pipe.xadd("rg-fixture:stream", {"event": "deploy"})
            pipe.execute()
            if db:
                data.close()
    finally:
        client.close()


def before_app(ctx: StackContext) -> None:
    started = time.perf_counter()
    dsn = create_fixture(ctx.postgres, ROWS, ctx.faults)
    made = make_backups(ctx.root, dsn, ctx.faults)
    made["alembic"] = alembic_project(ctx.root, ctx.faults)
    seed_redis(ctx.redis.url, ctx.faults)
    ctx.facts["backup"] = {"dsn": dsn, **made}
    ctx.log(f"backup fixture ({ROWS} rows per table) and its backups ready in "
            f"{time.perf_counter() - started:.1f}s")


def profile(ctx: StackContext) -> dict[str, Any]:
    made = ctx.facts["backup"]
    # The backup user's own credentials (the redis part may have put a password on the default
    # user: ctx.redis.url carries that one).
    redis_url = f"redis://{REDIS_USER}:{REDIS_PASSWORD}@{ctx.redis.host}:{ctx.redis.port}/0"
    return {"backup": {
        "source": {"dsn": made["dsn"]},
        "files": {"path": str(made["backups"]), "max_age_h": 26,
                  "retention": {"max_days": 7, "min_count": 2}},
        "fresh": {"pg_dump_args": job_args(ctx.faults)},
        "restore": {"jobs": 2, "rto_min": RTO_MIN, "queries": [
            {"name": "companies restored", "sql": "SELECT count(*) FROM app.companies",
             "equals": max(ROWS // 10, 3)},
            {"name": "pilot incidents", "sql": "SELECT id FROM public.incidents "
                                               "WHERE tenant_id = 'pilot'", "min_rows": 1},
        ]},
        "pre_deploy": {"path": str(made["pre_deploy"]), "tables": ["incidents", "jobs"],
                       "deploy_started_at": made["deploy_started_at"]},
        "redis": {"url": redis_url, "sample_keys": 50},
        "alembic": {"config": str(made["alembic"]), "command": [sys.executable, "-m", "alembic"],
                    "url_env": "RG_BACKUP_ALEMBIC_URL", "expected_head": "0002"},
    }}


PART = Part("backup", order=60, faults=FAULTS, before_app=before_app, profile=profile)

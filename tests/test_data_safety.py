"""The data suite is safe to point at production: it writes nothing even when its role could, and
it runs unchanged behind PgBouncer in transaction pooling without leaking settings to others."""

from __future__ import annotations

import os

import psycopg
import pytest
import yaml

from releasegate.reference.stack import running_stack
from tests.pgbouncer import pgbouncer, pgbouncer_binary
from tests.support import run_suites, write_profile


def database_state(dsn: str) -> dict[str, object]:
    """Everything a write could change: every row of every table (as a digest), sequences, the
    relations and roles with their privileges, and the next transaction id — a read-only
    transaction never takes one, any write does."""
    state: dict[str, object] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        relations = conn.execute(
            "SELECT c.oid::regclass::text, c.relkind, c.relacl::text, c.relowner FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN "
            "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_t%' ORDER BY 1").fetchall()
        state["relations"] = relations
        state["roles"] = conn.execute("SELECT rolname, rolsuper, rolcreaterole, rolcreatedb "
                                      "FROM pg_roles ORDER BY 1").fetchall()
        state["default_acl"] = conn.execute(
            "SELECT defaclacl::text FROM pg_default_acl ORDER BY 1").fetchall()
        for name, kind, _, _ in relations:
            if kind == "r":
                state[name] = conn.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' "
                                           f"ORDER BY t::text), '')) FROM {name} t").fetchone()
            elif kind == "S":
                state[name] = conn.execute(f"SELECT last_value, is_called FROM {name}").fetchone()
        state["next_xid"] = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
    return state


def test_a_full_run_writes_nothing_even_as_a_superuser(tmp_path):
    with running_stack(only=("data",)) as stack:
        owner = stack.postgres.dsn("reference")
        with psycopg.connect(owner, autocommit=True) as conn:  # nothing else may take an xid
            conn.execute("ALTER SYSTEM SET autovacuum = off")
            conn.execute("SELECT pg_reload_conf()")
        profile = yaml.safe_load(stack.profile_path.read_text())
        profile["database"]["dsn"] = owner  # the superuser: every write would be allowed
        path = write_profile(tmp_path / "superuser.yaml", profile)
        before = database_state(owner)
        run = run_suites(path, tmp_path / "reports", "-m", "data")
        after = database_state(owner)
    failed = run.failed()
    assert set(failed) == {"test_role_cannot_write"}, run.stdout[-3000:]
    assert "role postgres can write (SUPERUSER, CREATEROLE, CREATEDB (every privilege))" \
        in failed["test_role_cannot_write"]
    assert len(run.outcomes()) >= 25
    assert after == before


@pytest.mark.skipif(pgbouncer_binary() is None, reason="pgbouncer not installed (scripts/system-packages)")
def test_data_suite_behind_pgbouncer_in_transaction_mode(tmp_path):
    with running_stack(only=("data",)) as stack:
        pg = stack.postgres
        with pgbouncer(pg.host, pg.port, "reference", ("releasegate_ro", "postgres")) as port:
            profile = yaml.safe_load(stack.profile_path.read_text())
            profile["database"]["dsn"] = f"postgresql://releasegate_ro@127.0.0.1:{port}/reference"
            run = run_suites(write_profile(tmp_path / "bouncer.yaml", profile), tmp_path / "reports",
                             "-m", "data")
            other = f"postgresql://postgres@127.0.0.1:{port}/reference"
            with psycopg.connect(other, autocommit=True) as conn:  # the same, only server connection
                seen = conn.execute("SELECT current_setting('statement_timeout'), "
                                    "current_setting('lock_timeout'), "
                                    "current_setting('default_transaction_read_only')").fetchone()
                conn.execute("SET statement_timeout = 777")  # a session SET, as the suite never does
            with psycopg.connect(other, autocommit=True) as conn:
                leaked = conn.execute("SELECT current_setting('statement_timeout')").fetchone()[0]
    outcomes = run.outcomes()
    assert outcomes and set(outcomes.values()) == {"passed"}, run.stdout[-3000:]
    assert run.summary["verdict"] == "GO"
    assert seen == ("0", "0", "off")  # nothing of the suite's limits stayed on the server connection
    assert leaked == "777ms"  # ...where a session SET does stay: the pool really is shared


def test_no_credential_reaches_any_output(tmp_path):
    """Passwords in the DSN and the Redis URL come from ${VAR}s: every output masks them, and the
    reproduce commands name the variables instead."""
    pg_secret = "pg-Secret-4711"
    with running_stack(only=("data", "redis")) as stack:
        profile = yaml.safe_load(stack.profile_path.read_text())
        # the stack's profile holds its credentials as ${VAR}s it exported: the URL in full here
        redis_url = os.path.expandvars(profile["redis"]["url"])
        redis_secret = stack.redis.password
        env = {"RG_TEST_DSN": f"{profile['database']['dsn']}?password={pg_secret}",
               "RG_TEST_REDIS_URL": redis_url}
        profile["database"]["dsn"] = "${RG_TEST_DSN}"
        profile["redis"]["url"] = "${RG_TEST_REDIS_URL}"
        run = run_suites(write_profile(tmp_path / "env.yaml", profile), tmp_path / "reports",
                         "-m", "data or redis", env=env)
    assert run.summary["verdict"] == "GO", run.stdout[-2000:]
    outputs = run.outputs()
    assert redis_secret and redis_secret not in outputs
    assert pg_secret not in outputs
    reproduce = {r.get("reproduce", "") for c in run.summary["checks"]
                 for r in c["evidence"].get("requests", [])}
    assert 'redis-cli -u "${RG_TEST_REDIS_URL}" PING' in reproduce
    assert any(r.startswith("psql \"${RG_TEST_DSN}\" -c 'BEGIN READ ONLY' -c 'SELECT") for r in reproduce)

"""The read-only session against a real throwaway Postgres: what it refuses, what it detects,
how it recovers. No reference app; one server for the module."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest

from releasegate.postgres.privileges import summarize_write_privileges
from releasegate.postgres.session import PgLimits, PgSession
from releasegate.servers import get_provider

SCHEMA = """
CREATE SCHEMA core;
CREATE TABLE core.t (id serial PRIMARY KEY, v text);
INSERT INTO core.t (v) SELECT 'v' || g FROM generate_series(1, 50) g;
CREATE ROLE reader LOGIN; GRANT USAGE ON SCHEMA core TO reader; GRANT SELECT ON core.t TO reader;
CREATE ROLE column_writer LOGIN; GRANT USAGE ON SCHEMA core TO column_writer;
GRANT SELECT, UPDATE (v) ON core.t TO column_writer;
CREATE ROLE future_writer LOGIN; GRANT USAGE ON SCHEMA core TO future_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA core GRANT INSERT ON TABLES TO future_writer;
CREATE ROLE writer_member LOGIN; GRANT pg_write_all_data TO writer_member;
"""


@pytest.fixture(scope="module")
def server():
    with get_provider().postgres() as pg:
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute(SCHEMA)
        yield pg


def session(server, role="reader", **limits) -> PgSession:
    return PgSession(f"postgresql://{role}@{server.host}:{server.port}/postgres", PgLimits(**limits))


def test_every_query_runs_read_only_with_local_limits(server):
    s = session(server, statement_s=2, lock_s=0.5)
    facts = s.session_facts().dicts()[0]
    assert (facts["transaction_read_only"], facts["statement_timeout"], facts["lock_timeout"],
            facts["application_name"]) == ("on", "2s", "500ms", "releasegate")
    owner = session(server, "postgres")
    assert owner.query("INSERT INTO core.t (v) VALUES ('x')").error == \
        "cannot execute INSERT in a read-only transaction"
    assert owner.query("SELECT count(*) FROM core.t").first() == 50
    assert owner.query("SHOW statement_timeout").first() == "5s"  # PgLimits' default


def test_limits_are_local_to_each_transaction(server):
    s = session(server)
    s.query("SELECT 1")
    raw = s._conn
    assert raw is not None and raw.execute("SHOW statement_timeout").fetchone()[0] == "0"
    assert raw.execute("SHOW transaction_read_only").fetchone()[0] == "off"


@pytest.mark.parametrize(("role", "found"), [
    ("reader", ""),
    ("column_writer", "column INSERT/UPDATE on table core.t"),
    ("future_writer", "INSERT on future objects of postgres on default privileges in core"),
    ("writer_member", "member of pg_write_all_data"),
    ("postgres", "SUPERUSER, CREATEROLE, CREATEDB (every privilege)"),
])
def test_write_privileges_are_read_from_the_catalogs(server, role, found):
    rows = session(server, role).write_privileges()
    assert rows.ok, rows.error
    assert summarize_write_privileges(rows.rows).startswith(found) if found else not rows.rows


def test_errors_are_one_line_and_the_next_query_still_runs(server):
    s = session(server, statement_s=0.3)
    assert s.query("SELECT * FROM core.missing").error == 'relation "core.missing" does not exist'
    assert s.query("SELECT pg_sleep(2)").error == "canceling statement due to statement timeout"
    assert s.query("SELECT 1 AS ok").first() == 1


def test_a_lost_connection_fails_one_query_and_the_next_reconnects(server):
    s = session(server)
    assert s.query("SELECT 1").ok
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'releasegate' AND usename = 'reader'")
    lost = s.query("SELECT 2")
    assert not lost.ok and "terminating connection" in lost.error
    assert s.query("SELECT 3").first() == 3


def test_cursor_fetch_keeps_at_most_the_row_limit(server):
    s = PgSession(f"postgresql://reader@{server.host}:{server.port}/postgres", row_limit=10)
    got = s.query("SELECT id FROM core.t ORDER BY id", cursor_name="c")
    assert (len(got.rows), got.truncated, got.rows[-1]) == (10, True, (10,))
    assert "syntax error" in s.query("UPDATE core.t SET v = 'x'", cursor_name="c").error


def test_database_clock(server):
    s = session(server)
    assert abs((s.now() - datetime.now(timezone.utc)).total_seconds()) < 2

"""Issue 20: a rehearsal proves the content, not only the counts.

Backups wrong in ways that keep the counts (a value changed in a bytea, a jsonb and an array
column; a materialized view left unpopulated; one row gone; a sequence one step behind) fail the
rehearsal naming the table; the healthy fixture passes with every table fingerprinted.
"""

from __future__ import annotations

import psycopg
import pytest

from releasegate.backup import fingerprint as fp
from releasegate.backup import rows
from releasegate.backup.rehearsal import Options, record_dump, rehearse_fresh, rehearse_latest
from releasegate.reference import backup_tamper as tamper
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


@pytest.fixture
def plain_backup(source, tmp_path):
    """A plain dump with its counts and fingerprints recorded beside it (to be tampered with)."""
    backups = tmp_path / "backups"
    backups.mkdir()
    path = backups / "backup_20261206_020000.sql"
    record_dump(source, path, Options(), dump_format="p")
    return path


def test_healthy_fixture_passes_with_every_table_fingerprinted(source):
    result = rehearse_fresh(source, Options(**QUIET))
    counts = result.counts
    assert result.restored and counts["ok"], counts
    assert counts["fingerprinted_tables"] == counts["compared_tables"] == 14
    assert counts["coverage"]["not covered"].startswith("large objects")
    assert counts["within_tolerance"] == []


def test_recorded_fingerprints_make_a_latest_rehearsal_exact(plain_backup):
    result = rehearse_latest(str(plain_backup.parent), Options(**QUIET))
    assert result.restored and result.counts["ok"], result.counts
    assert result.counts["fingerprinted_tables"] == 14


@pytest.mark.parametrize("table,column,value", [
    ("app.companies", "logo", "\\\\x00"),                       # bytea
    ("public.incidents", "payload", '{"i": 0}'),                  # jsonb
    ("app.companies", "scores", "{1,2}"),                         # integer[]
])
def test_a_value_changed_with_equal_counts_fails_naming_the_table(plain_backup, table, column,
                                                                  value):
    tamper.change_value(plain_backup, table, column, value, row=3)
    result = rehearse_latest(str(plain_backup.parent), Options(**QUIET))
    counts = result.counts
    assert result.restored and not counts["ok"]
    assert counts["tables"] == {} and list(counts["content"]) == [table]
    assert f"{table}: values differ with equal row counts" in counts["summary"]


def test_one_row_missing_and_a_sequence_one_step_behind_fail(plain_backup):
    tamper.drop_row(plain_backup, "app.session_cache", row=5)
    tamper.sequence_back(plain_backup, "app.invoice_no")
    result = rehearse_latest(str(plain_backup.parent), Options(**QUIET))
    summary = result.counts["summary"]
    assert "app.session_cache 11 rows restored, 12 expected" in summary
    assert "sequence app.invoice_no at 1119, expected at least 1120" in summary


def test_an_unpopulated_materialized_view_fails(source):
    result = rehearse_fresh(source, Options(dump_args=["--exclude-table-data=app.job_stats"],
                                            **QUIET))
    assert result.restored and not result.counts["ok"]
    assert ("materialized view app.job_stats not populated after the restore (4 rows on the "
            "source)") in result.counts["summary"]


def test_a_live_basis_lists_what_differs_within_the_tolerance(plain_backup, source):
    plain_backup.with_name(plain_backup.name + ".counts.json").unlink()
    tamper.drop_row(plain_backup, "public.audit_log", row=0)
    result = rehearse_latest(str(plain_backup.parent), Options(count_tolerance_pct=10, **QUIET),
                             source)
    assert result.counts["ok"], result.counts
    assert "public.audit_log: 119 rows restored, 120 on the source (-1)" in \
        result.counts["within_tolerance"]


def test_a_mismatch_is_narrowed_to_a_key_range(fixture_server, source):
    with psycopg.connect(fixture_server.dsn(), autocommit=True) as admin:
        admin.execute("CREATE DATABASE narrowed TEMPLATE backup_fixture")
    with psycopg.connect(fixture_server.dsn("narrowed"), autocommit=True) as conn:
        conn.execute("UPDATE public.incidents SET tags = '{}' WHERE id = 77")
    with psycopg.connect(source) as left, psycopg.connect(fixture_server.dsn("narrowed")) as right:
        for conn in (left, right):
            fp.fix_output_settings(conn, local=True)
        a, b = rows.count_rows(left), rows.count_rows(right)
        assert a.fingerprints["public.incidents"] != b.fingerprints["public.incidents"]
        assert a.fingerprints["public.jobs"] == b.fingerprints["public.jobs"]
        where = fp.narrow(left, right, "public.incidents")
    assert where is not None and where.startswith("first differing key range: id ")
    lo, hi = (int(x) for x in where.rsplit(" ", 1)[1].split(".."))
    assert lo <= 77 <= hi and hi - lo < 10


def test_a_select_only_source_role_is_a_gate_problem_with_the_grant_to_run(source):
    """Issue 20 §5: no ROLLBACK for the gate's own credential — one line with the fix."""
    with psycopg.connect(source, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS rg_select; CREATE ROLE rg_select LOGIN; "
                      "GRANT USAGE ON SCHEMA app, public, \"müşteri\" TO rg_select; "
                      "GRANT SELECT ON ALL TABLES IN SCHEMA app, public, \"müşteri\" TO rg_select")
        admin.execute("DROP ROLE IF EXISTS rg_nothing; CREATE ROLE rg_nothing LOGIN")
    try:
        select_only = rehearse_fresh(source.replace("postgresql://postgres@",
                                                    "postgresql://rg_select@"), Options(**QUIET))
        assert select_only.error_kind == "privilege" and not select_only.restore
        assert select_only.error.startswith("the source role rg_select lacks what a dump needs: ")
        assert "BYPASSRLS (row-level security on app.tenant_notes" in select_only.error
        assert select_only.error.endswith("ALTER ROLE rg_select BYPASSRLS")
        nothing = rehearse_fresh(source.replace("postgresql://postgres@",
                                                "postgresql://rg_nothing@"), Options(**QUIET))
        assert "GRANT USAGE ON SCHEMA app, \"müşteri\" TO rg_nothing" in nothing.error
        assert "GRANT SELECT ON ALL TABLES IN SCHEMA app, \"müşteri\", public TO rg_nothing" \
            in nothing.error
        assert "\n" not in nothing.error
    finally:
        with psycopg.connect(source, autocommit=True) as admin:
            admin.execute("DROP OWNED BY rg_select, rg_nothing; DROP ROLE rg_select; "
                          "DROP ROLE rg_nothing")


def test_keep_dumps_keeps_the_fresh_dump_its_reproduce_command_names(source, tmp_path):
    result = rehearse_fresh(source, Options(keep_dumps=tmp_path / "kept", **QUIET))
    kept = tmp_path / "kept"
    assert result.restored and result.dump["kept"]
    assert [p.name for p in kept.iterdir()] == [result.dump["path"].rsplit("/", 1)[-1]]
    assert result.dump["argv"][-1] == result.dump["path"] == result.restore["argv"][-1]
    assert "--snapshot=SNAPSHOT" not in result.dump["argv"]  # runnable later: a new snapshot


def test_fingerprints_of_another_byte_order_or_encoding_are_not_compared():
    source = rows.Counts(tables={"public.t": 3}, fingerprints={"public.t": "11"}, probe="1")
    same = rows.Counts(tables={"public.t": 3}, fingerprints={"public.t": "12"}, probe="1")
    other = rows.Counts(tables={"public.t": 3}, fingerprints={"public.t": "12"}, probe="2")
    assert rows.compare_counts(source, same).content == {
        "public.t": "values differ with equal row counts"}
    diff = rows.compare_counts(source, other)
    assert diff.ok and diff.fingerprinted == 0
    older = rows.Counts.from_dict({**source.as_dict(), "fingerprint": "another method"})
    assert older.fingerprints == {} and older.tables == {"public.t": 3}

"""Fault matrix rows of the backup area (runs `-m backup` against the backup part)."""

from __future__ import annotations

from tests.fault_matrix import Row

PARTS = ("backup",)


def backup_row(faults: str, exit_code: int, verdict: str, failing: dict[str, str]) -> Row:
    return Row(faults, exit_code, verdict, failing, markers="backup", parts=PARTS)


def after_failed_restore(kind: str, reason: str) -> dict[str, str]:
    """Every check that judges a restore fails with the restore's own error line."""
    checks = ("test_restore_succeeds", "test_restored_objects_match",
              "test_restored_row_counts_match", "test_restore_within_rto",
              "test_post_restore_queries")
    return {f"{check}[{kind}]": reason for check in checks}


ROWS: list[Row] = [
    backup_row("", 0, "GO", {}),
    backup_row("backup_truncated", 2, "ROLLBACK", {
        "test_latest_backup_is_complete": "lists, but does not read through: pg_restore: error: "
                                          "could not read from input file: end of file",
        **after_failed_restore("latest", "pg_restore: error:"),
    }),
    backup_row("backup_missing_table", 2, "ROLLBACK", {
        "test_restored_objects_match[latest]": "missing table app.domain_signals;",
        "test_restored_objects_match[fresh]": "differs from the dump's own snapshot: missing table "
                                              "app.domain_signals;",
        "test_restored_row_counts_match[latest]": "app.domain_signals not restored (150 rows expected)",
        "test_restored_row_counts_match[fresh]": "app.domain_signals not restored (150 rows expected)",
        "test_pre_deploy_dump_holds_named_tables": "does not hold exactly public.incidents, "
                                                   "public.jobs: missing public.jobs",
    }),
    backup_row("backup_stale", 2, "ROLLBACK", {
        "test_latest_backup_is_recent": "is 30.0 h old, over the 26 h limit",
    }),
    backup_row("backup_retention_violated", 4, "INVESTIGATE", {
        "test_backup_retention_kept": "1 backup(s) older than 7 days kept (oldest backup_",
    }),
    backup_row("backup_empty", 2, "ROLLBACK", {
        "test_latest_backup_exists_and_not_empty": "is empty (0 bytes): the dump wrote nothing",
        "test_latest_backup_is_complete": ".sql is empty (0 bytes)",
        **after_failed_restore("latest", ".sql is not a pg_dump file (neither plain SQL nor an "
                                         "archive)"),
    }),
    backup_row("backup_needs_missing_role", 2, "ROLLBACK", {
        # owners and grants are left out as --no-owner --no-acl would; the policy's TO role is not
        **after_failed_restore("latest", 'ERROR:  role "hunter_owner" does not exist'),
        # pg_restore -j2's workers share stderr: its "pg_restore: error:" prefix can interleave
        **after_failed_restore("fresh", 'ERROR:  role "hunter_owner" does not exist'),
        "test_alembic_current_is_head": 'restore of a fresh dump into a throwaway Postgres 15 '
                                        'failed: ',
        "test_alembic_downgrade_and_upgrade": 'role "hunter_owner" does not exist',
    }),
    backup_row("companies_emptied", 2, "ROLLBACK", {
        "test_post_restore_queries[latest]": "1 of 2 post-restore queries failed on the restored "
                                             "latest backup: companies restored: returned 0, "
                                             "expected '30'",
        "test_post_restore_queries[fresh]": "on the restored fresh backup: companies restored: "
                                            "returned 0, expected '30'",
    }),
    backup_row("backup_counts_differ", 2, "ROLLBACK", {
        "test_restored_row_counts_match[latest]": "public.audit_log 0 rows restored, 300 expected",
        "test_restored_row_counts_match[fresh]": "(expected from the dump's own snapshot): "
                                                 "public.audit_log 0 rows restored, 300 expected",
    }),
    # issue 20: wrong in ways that keep the counts; each fails naming the table
    backup_row("backup_values_changed", 2, "ROLLBACK", {
        "test_restored_row_counts_match[latest]": "app.companies: values differ with equal row "
                                                  "counts; public.incidents: values differ",
    }),
    backup_row("backup_matview_unpopulated", 2, "ROLLBACK", {
        "test_restored_row_counts_match[latest]": "materialized view app.job_stats not populated "
                                                  "after the restore (4 rows on the source)",
        "test_restored_row_counts_match[fresh]": "materialized view app.job_stats not populated "
                                                 "after the restore (4 rows on the source)",
    }),
    backup_row("backup_row_missing", 2, "ROLLBACK", {
        "test_restored_row_counts_match[latest]": "public.audit_log 299 rows restored, 300 expected",
    }),
    backup_row("backup_sequence_behind", 2, "ROLLBACK", {
        "test_restored_row_counts_match[latest]": "sequence app.invoice_no at 1299, expected at "
                                                  "least 1300",
    }),
    # a plain `pg_dump > db_backup.sql` (004) of a database with grants and a non-superuser owner
    backup_row("backup_plain_runbook_004", 0, "GO", {}),
    backup_row("restore_slow", 4, "INVESTIGATE", {
        "test_restore_within_rto[latest]": "over the RTO of 3s (backup.restore.rto_min)",
        "test_restore_within_rto[fresh]": "over the RTO of 3s (backup.restore.rto_min)",
    }),
    backup_row("redis_snapshot_refused", 4, "INVESTIGATE", {
        "test_redis_snapshot_is_valid": "no Redis snapshot: SYNC with master failed: -NOPERM",
        "test_redis_snapshot_restores_same_keys": "no verified Redis snapshot to restore: SYNC with "
                                                  "master failed: -NOPERM",
    }),
    backup_row("alembic_not_at_head", 2, "ROLLBACK", {
        "test_alembic_current_is_head": "alembic current on the restored fresh replica is 0001, "
                                        "expected 0002",
    }),
    backup_row("alembic_downgrade_broken", 2, "ROLLBACK", {
        "test_alembic_downgrade_and_upgrade": "`alembic downgrade -1` on the restored fresh replica "
                                              'failed: sqlalchemy.exc.ProgrammingError: '
                                              '(psycopg.errors.UndefinedColumn) column "summary_text"',
    }),
]

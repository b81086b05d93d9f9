"""Runbook 001 §6.3 "Restore Dry-Run": restore on a throwaway replica, tables exist, data counts
match, within the RTO — for the newest existing backup and for a fresh dump of the target."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive

pytestmark = pytest.mark.backup

KINDS = ["latest", "fresh"]  # the newest backup file; a dump taken now (pg_dump --snapshot)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.runbook("001", "§6.3", "a restore test was done: the dump restores on a throwaway "
                                    "replica")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("001 §6.3 Restore Dry-Run: restore it by hand into a staging database and fix "
                    "what fails; a dump that needs roles: take it with --no-owner --no-acl "
                    "(Option A) or create the roles first (pg_dumpall --roles-only)")
def test_restore_succeeds(backup, kind):
    result = backup.restored(kind)
    backup.evidence.note(restore={k: v for k, v in result.restore.items() if k != "argv"})


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.runbook("001", "§6.3", "restore test successful: tables exist (schemas, tables, "
                                    "indexes, constraints, sequences, types, functions, triggers)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("001 §6.3 Restore Dry-Run step 3 (\\dt): the backup does not hold every "
                    "object; check the job's pg_dump options (-t/-T/-n/-N) and take a full dump")
def test_restored_objects_match(backup, kind):
    result = backup.restored(kind)
    catalog = result.catalog or {}
    backup.evidence.note(compared=catalog.get("compared"), basis=catalog.get("basis"),
                         not_compared=catalog.get("skipped") or "none of the kinds not compared "
                         "exist in the source", by_design=catalog.get("by_design"))
    if catalog.get("ok") is None:
        raise Inconclusive(f"nothing to compare the restored objects with: {catalog.get('basis')}")
    if not catalog["ok"]:
        backup.evidence.note(missing=catalog["missing"], changed=catalog["changed"],
                             unexpected=catalog["extra"])
        raise CheckFailed(f"the restored {kind} backup differs from {catalog['basis']}: "
                          f"{catalog['summary']}")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.runbook("001", "§6.3", "restore test successful: data counts match (rows per table "
                                    "and their values, materialized views, sequence values)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("001 §6.3 'data counts match': compare SELECT COUNT(*) per table on the "
                    "restored copy; check the job's --exclude-table-data, that it dumps one "
                    "snapshot and that nothing rewrites the file after pg_dump")
def test_restored_row_counts_match(backup, kind):
    result = backup.restored(kind)
    counts = result.counts or {}
    backup.evidence.note(basis=counts.get("basis"), tables=counts.get("compared_tables"),
                         fingerprinted=counts.get("fingerprinted_tables"),
                         coverage=counts.get("coverage"),
                         sequences=counts.get("compared_sequences"),
                         rows_expected=counts.get("expected_rows"),
                         rows_restored=counts.get("restored_rows"),
                         counted_on_source_as=counts.get("counted_as_source"),
                         counted_on_replica_as=counts.get("counted_as_replica"),
                         materialized_views=counts.get("matviews"))
    if counts.get("ok") is None:
        raise Inconclusive(f"no row counts to compare with: {counts.get('basis')}")
    if not counts["ok"]:
        backup.evidence.note(differing_tables=counts["tables"],
                             differing_values=counts.get("content"),
                             differing_materialized_views=counts.get("matviews_differing"),
                             differing_sequences=counts["sequences"])
        raise CheckFailed(f"rows differ after restoring the {kind} backup (expected from "
                          f"{counts['basis']}): {counts['summary']}")
    if counts.get("source_errors"):
        hidden = ", ".join(f"{t}: {e}" for t, e in list(counts["source_errors"].items())[:3])
        raise Inconclusive(f"some tables could not be counted on the source as "
                           f"{counts.get('counted_as_source')}: {hidden}")
    backup.note_tolerance(kind, counts)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.runbook("001", "§6.3", "the restore fits the ROLLBACK-PLAN time target "
                                    "(RTO <= 15 min)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("001 §6.3 / ROLLBACK-PLAN: the restore exceeds the RTO — use the custom "
                    "format with parallel pg_restore -j (Option C), look for slow index builds, "
                    "or revise the time target in ROLLBACK-PLAN")
def test_restore_within_rto(backup, kind):
    result = backup.restored(kind)
    took = float(result.restore["duration_s"])
    rto = backup.plan.rto_s
    backup.evidence.note(restore_s=took, rto_s=rto, server_start_s=result.server.get("start_s"),
                         dump_bytes=result.restore.get("dump_bytes"),
                         throughput_mb_s=result.restore.get("throughput_mb_s"))
    if took > rto:
        raise CheckFailed(f"restoring the {kind} backup took {took:.1f}s, over the RTO of "
                          f"{rto:g}s (backup.restore.rto_min): a rollback by restore would "
                          "overrun the plan")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.runbook("001", "§6.3", "verify restore: the verification queries answer on the "
                                    "restored copy")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("001 §6.3 Restore Dry-Run step 3: run the verification queries by hand on "
                    "the restored copy (psql -d staging_test -c 'SELECT COUNT(*) FROM companies')")
def test_post_restore_queries(backup, target, kind):
    if not backup.plan.get("restore.queries"):
        pytest.skip(f"backup.restore.queries: not configured in target {target.name}")
    result = backup.restored(kind)
    backup.evidence.note(queries=result.queries)
    bad = [q for q in result.queries if not q.get("ok")]
    if bad:
        shown = "; ".join(f"{q['name']}: {q.get('error')}" for q in bad[:3])
        raise CheckFailed(f"{len(bad)} of {len(result.queries)} post-restore queries failed on the "
                          f"restored {kind} backup: {shown}")

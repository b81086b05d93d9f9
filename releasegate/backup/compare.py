"""After the restore: the replica compared with what the source held, and the smoke queries."""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import psycopg

from releasegate.backup import catalog as cat
from releasegate.backup import fingerprint as fp
from releasegate.backup import rows
from releasegate.backup.runner import Progress
from releasegate.backup.spec import Expectation, Options, Query, Rehearsal


def compare(result: Rehearsal, replica: str, expect: Expectation, progress: Progress,
            jobs: int = 1) -> None:
    """Catalog, rows and values of the replica against the expectation; ``jobs`` sessions read
    the replica's tables side by side (it is quiescent: no snapshot needs sharing)."""
    progress.say("comparing", "catalog, then rows and their fingerprints per table", force=True)
    started = time.monotonic()
    with ExitStack() as stack:
        conn = stack.enter_context(psycopg.connect(replica, autocommit=False, connect_timeout=10))
        helpers = [stack.enter_context(psycopg.connect(replica, autocommit=False,
                                                       connect_timeout=10))
                   for _ in range(max(0, jobs - 1))]
        for session in (conn, *helpers):
            session.read_only = True
        restored_catalog = cat.read_catalog(conn)
        restored = rows.count_rows(conn, fingerprints=bool(expect.counts
                                                           and expect.counts.fingerprints),
                                   helpers=helpers)
        diff_counts = (rows.compare_counts(expect.counts, restored, expect.tolerance_pct)
                       if expect.counts is not None else None)
        if diff_counts is not None and diff_counts.content and expect.source_conn is not None:
            progress.say("narrowing", f"{len(diff_counts.content)} table(s) whose values differ",
                         force=True)
            _narrow(diff_counts, expect.source_conn, conn)
        conn.rollback()
    if expect.catalog is not None:
        diff = cat.compare_catalogs(expect.catalog, restored_catalog)
        result.catalog = {"ok": diff.ok, "summary": diff.summary(), "missing": diff.missing,
                          "extra": diff.extra, "changed": diff.changed,
                          "compared": diff.compared, "skipped": expect.skipped,
                          "by_design": cat.BY_DESIGN, "basis": expect.basis}
    else:
        result.catalog = {"ok": None, "basis": expect.basis, "compared": {},
                          "restored": {k: len(v) for k, v in restored_catalog.items()},
                          "skipped": {}, "by_design": cat.BY_DESIGN}
    if expect.counts is not None and diff_counts is not None:
        result.counts = {"ok": diff_counts.ok, "summary": diff_counts.summary(),
                         "tables": {t: list(v) for t, v in diff_counts.tables.items()},
                         "sequences": {s: list(v) for s, v in diff_counts.sequences.items()},
                         "matviews_differing": {m: list(v) for m, v in
                                                diff_counts.matviews.items()},
                         "content": diff_counts.content, "within_tolerance": diff_counts.within,
                         "fingerprinted_tables": diff_counts.fingerprinted,
                         "coverage": _coverage(expect, diff_counts, restored),
                         "compared_tables": diff_counts.compared,
                         "compared_sequences": len(expect.counts.sequences),
                         "expected_rows": sum(expect.counts.tables.values()),
                         "restored_rows": sum(restored.tables.values()),
                         "source_errors": expect.counts.errors,
                         "matviews": {"source": expect.counts.matviews,
                                      "restored": restored.matviews},
                         "counted_as_source": expect.counts.counted_as,
                         "counted_as_replica": restored.counted_as,
                         "basis": expect.basis, "tolerance_pct": expect.tolerance_pct,
                         "compare_s": round(time.monotonic() - started, 3)}
    else:
        result.counts = {"ok": None, "basis": expect.basis,
                         "restored_rows": sum(restored.tables.values())}


def _narrow(diff: rows.CountDiff, source: psycopg.Connection[Any],
            replica: psycopg.Connection[Any]) -> None:
    """Name the first differing key range of each table whose values differ (source snapshot
    still open); a failure to narrow leaves the table's plain finding."""
    for table in list(diff.content)[:5]:
        try:
            with source.transaction(), replica.transaction():
                where = fp.narrow(source, replica, table)
        except psycopg.Error as exc:
            where = f"key range not narrowed: {cat.first_line(exc)}"
        if where:
            diff.content[table] += f" ({where})"


def _coverage(expect: Expectation, diff: rows.CountDiff, restored: rows.Counts
              ) -> dict[str, Any]:
    """What the content comparison covered, said beside its result."""
    assert expect.counts is not None
    if not expect.counts.fingerprints:
        return {"fingerprinted": 0, "not covered": "values: no fingerprints recorded with the "
                "counts (a counts file older than fingerprints, or another method) — "
                "re-record with python -m releasegate.backup dump"}
    if expect.counts.probe != restored.probe:
        return {"fingerprinted": 0, "not covered": "values: the source's and the replica's text "
                "hash of one known value differ (another byte order, or a source encoding "
                "other than the replica's UTF8), so their fingerprints do not compare; counts "
                "still do"}
    if expect.tolerance_pct:
        return {"fingerprinted": diff.fingerprinted, **fp.COVERAGE,
                "within tolerance": "the live source moved on: a table whose values differ "
                                    "is listed as a note, not failed"}
    return {"fingerprinted": diff.fingerprinted, **fp.COVERAGE}


def run_query(dsn: str, query: Query, options: Options) -> dict[str, Any]:
    """One post-restore query in a read-only transaction on the replica."""
    out: dict[str, Any] = {"name": query.name or query.sql, "sql": query.sql,
                           "min_rows": query.min_rows, "equals": query.equals}
    started = time.monotonic()
    try:
        with psycopg.connect(dsn, connect_timeout=10, autocommit=False,
                             options=f"-c statement_timeout={int(options.statement_timeout_s * 1000)}"
                             ) as conn:
            conn.read_only = True
            rows = conn.execute(query.sql).fetchmany(1000)  # type: ignore[arg-type]
            conn.rollback()
    except psycopg.Error as exc:
        out.update(ok=False, error=cat.first_line(exc))
        return out
    first = None if not rows else rows[0][0]
    out.update(rows=len(rows), value=None if first is None else str(first),
               latency_ms=round((time.monotonic() - started) * 1000, 1))
    if len(rows) < query.min_rows:
        out.update(ok=False, error=f"returned {len(rows)} row(s), expected at least {query.min_rows}")
    elif query.equals is not None and str(first) != str(query.equals):
        out.update(ok=False, error=f"returned {first!r}, expected {query.equals!r}")
    else:
        out["ok"] = True
    return out


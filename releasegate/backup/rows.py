"""What a database's tables hold: rows per table, a content fingerprint each, sequence values.

``count_rows`` reads every leaf table (each partition of a partitioned table on its own) and
materialized view once, with row_security off: a count that row-level security would filter fails
loudly instead of coming out low, and ``counting_role`` says as which role the rows were counted.
The same pass fingerprints each table's rows (releasegate.backup.fingerprint), so a backup that
keeps the counts but not the values is caught too (issue 20: runbooks 001 §6.3, 002 §9 and 004
ask that a backup be restorable and complete).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from releasegate.backup import fingerprint as fp
from releasegate.backup.catalog import NOT_EXTENSION_MEMBER, USER_SCHEMAS, first_line

LEAF_TABLES = f"""
    SELECT format('%I.%I', n.nspname, c.relname), n.nspname, c.relname, c.relkind,
           c.relispopulated, pg_relation_size(c.oid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm') AND {USER_SCHEMAS}
      AND {NOT_EXTENSION_MEMBER.format(oid='c.oid')}
    ORDER BY 1, 2"""
SEQUENCE_VALUES = f"""
    SELECT format('%I.%I', n.nspname, c.relname),
           CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE')
                THEN pg_sequence_last_value(c.oid) END,
           has_sequence_privilege(c.oid, 'SELECT,USAGE')
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid='c.oid')} ORDER BY 1"""


@dataclass
class Counts:
    """Rows per table and sequence values of one database, and how they were counted."""

    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows (leaf tables)
    matviews: dict[str, int | None] = field(default_factory=dict)  # None: not populated
    sequences: dict[str, int | None] = field(default_factory=dict)  # None: never called
    counted_as: str = ""
    errors: dict[str, str] = field(default_factory=dict)  # table -> why it could not be counted
    fingerprints: dict[str, str] = field(default_factory=dict)  # table -> fingerprint.ROW_HASH
    probe: str = ""  # fingerprint.probe(): equal on both sides, or the fingerprints do not compare

    def as_dict(self) -> dict[str, Any]:
        return {"tables": self.tables, "matviews": self.matviews, "sequences": self.sequences,
                "counted_as": self.counted_as, "errors": self.errors,
                "fingerprints": self.fingerprints, "fingerprint": fp.METHOD,
                "fingerprint_probe": self.probe}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Counts:
        # fingerprints made another way (or none: a counts file older than issue 20) are not used
        prints = data.get("fingerprints", {}) if data.get("fingerprint") == fp.METHOD else {}
        return cls(dict(data.get("tables", {})), dict(data.get("matviews", {})),
                   dict(data.get("sequences", {})), str(data.get("counted_as", "")),
                   dict(data.get("errors", {})), dict(prints),
                   str(data.get("fingerprint_probe", "")))


def counting_role(conn: psycopg.Connection[Any]) -> tuple[str, bool]:
    """(a description of the role that counts, whether it sees every row under RLS)."""
    row = conn.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                       "WHERE rolname = current_user").fetchone()
    if row is None:  # pragma: no cover - current_user always has a pg_roles row
        return "unknown role", False
    user, superuser, bypass = row
    if superuser:
        return f"{user} (superuser: sees every row)", True
    if bypass:
        return f"{user} (BYPASSRLS: sees every row)", True
    return f"{user} (no BYPASSRLS: row_security off, so a hidden row is an error, not a low count)", False


def count_rows(conn: psycopg.Connection[Any],
               progress: Callable[[int, int], None] | None = None,
               fingerprints: bool = True,
               helpers: Sequence[psycopg.Connection[Any]] = ()) -> Counts:
    """Count (and fingerprint) every leaf table and materialized view; read every sequence.

    The session sets row_security off (as pg_dump does): a table whose rows RLS would hide from
    this role makes its count an error, reported per table, rather than a silently low number.
    Runs inside whatever transaction ``conn`` is in (the dump's exported snapshot, for a fresh
    dump), using savepoints so one failed count does not end it. ``helpers`` are more sessions
    on the same quiescent database (the restored replica): tables are shared out among them,
    largest first, each session reading one table at a time.
    """
    counts = Counts()
    counts.counted_as, _ = counting_role(conn)
    sessions = [conn, *helpers]
    for session in sessions:
        _prepare(session, fingerprints)
    if fingerprints:
        counts.probe = fp.probe(conn)
    tables = conn.execute(LEAF_TABLES).fetchall()
    for qualified, _s, _n, kind, populated, _size in tables:
        if kind == "m" and not populated:
            counts.matviews[qualified] = None
    todo = deque(sorted((t for t in tables if t[3] != "m" or t[4]), key=lambda t: -t[5]))
    found: dict[str, tuple[int, str] | str] = {}
    lock = threading.Lock()

    def work(session: psycopg.Connection[Any]) -> None:
        while True:
            with lock:
                if not todo:
                    return
                qualified, schema, name, _kind, _populated, _size = todo.popleft()
            found[qualified] = _one(session, schema, name, fingerprints)
            if progress is not None:
                progress(len(found), len(tables))

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in helpers]
    for thread in threads:
        thread.start()
    work(conn)
    for thread in threads:
        thread.join()
    for qualified, _s, _n, kind, _populated, _size in tables:
        got = found.get(qualified)
        if isinstance(got, str):
            counts.errors[qualified] = got
        elif got is not None:
            (counts.matviews if kind == "m" else counts.tables)[qualified] = got[0]
            if fingerprints:
                counts.fingerprints[qualified] = got[1]
    for name, value, readable in conn.execute(SEQUENCE_VALUES).fetchall():
        if not readable:
            counts.errors[name] = f"no SELECT or USAGE privilege on sequence {name}"
        counts.sequences[name] = None if value is None else int(value)
    return counts


def _prepare(conn: psycopg.Connection[Any], fingerprints: bool) -> None:
    in_transaction = bool(conn.info.transaction_status)
    conn.execute("SET LOCAL row_security = off" if in_transaction else "SET row_security = off")
    if fingerprints:
        fp.fix_output_settings(conn, local=in_transaction)


def _one(conn: psycopg.Connection[Any], schema: str, name: str, fingerprints: bool
         ) -> tuple[int, str] | str:
    """(rows, fingerprint) of one table, or why it could not be read."""
    try:
        with conn.transaction():
            row = conn.execute(fp.table_query(schema, name, fingerprints)).fetchone()
    except psycopg.Error as exc:
        return first_line(exc)
    if row is None:  # pragma: no cover - an aggregate returns one row
        return 0, "0"
    return int(row[0]), str(row[1] or 0) if fingerprints else ""


@dataclass
class CountDiff:
    """Tables whose restored rows are not the expected ones, and sequences that went back."""

    tables: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    sequences: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    matviews: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    content: dict[str, str] = field(default_factory=dict)  # table -> where the values differ
    within: list[str] = field(default_factory=list)  # differences inside the tolerance (notes)
    compared: int = 0
    fingerprinted: int = 0

    @property
    def ok(self) -> bool:
        return not (self.tables or self.sequences or self.matviews or self.content)

    def summary(self, limit: int = 4) -> str:
        def show(value: int | None) -> str:
            return "missing" if value is None else str(value)

        items = [f"{t} not restored ({show(e)} rows expected)" if r is None else
                 f"{t} {r} rows restored, {show(e)} expected"
                 for t, (e, r) in self.tables.items()]
        items += [f"{t}: {where}" for t, where in self.content.items()]
        items += [f"materialized view {m} not populated after the restore ({show(e)} rows on "
                  "the source)" if r is None else f"materialized view {m} not populated on the "
                  f"source but {r} rows restored" if e is None else
                  f"materialized view {m} {r} rows restored, {e} expected"
                  for m, (e, r) in self.matviews.items()]
        items += [f"sequence {s} at {show(r)}, expected at least {show(e)}"
                  for s, (e, r) in self.sequences.items()]
        more = len(items) - limit
        return "; ".join(items[:limit]) + (f" (+{more} more)" if more > 0 else "")


def _differs(want: int, got: int, slack: float) -> bool:
    return abs(got - want) > want * slack


def compare_counts(expected: Counts, restored: Counts, tolerance_pct: float = 0.0) -> CountDiff:
    """Rows per table equal (or within ``tolerance_pct`` of the expected count) and, where both
    sides were fingerprinted and the basis is exact, the same rows; materialized views populated
    alike with the same counts; sequences at least where they were (a sequence only moves
    forward, and pg_dump reads it after the count) — or, against a live source that has moved on,
    within the same tolerance below it. Differences a tolerance lets through are listed in
    ``within`` so a GO still says them."""
    diff = CountDiff()
    slack = tolerance_pct / 100.0
    # the row hash is Postgres's own text hash: the same everywhere but across byte orders,
    # which the probe (one known value hashed on each side) shows
    comparable = expected.probe == restored.probe
    for table, want in expected.tables.items():
        got = restored.tables.get(table)
        diff.compared += 1
        if got is None or _differs(want, got, slack):
            diff.tables[table] = (want, got)
            continue
        if got != want:
            diff.within.append(f"{table}: {got} rows restored, {want} on the source "
                               f"({'+' if got > want else ''}{got - want})")
        if comparable and table in expected.fingerprints and table in restored.fingerprints:
            diff.fingerprinted += 1
            if expected.fingerprints[table] != restored.fingerprints[table] and got == want:
                if slack:
                    diff.within.append(f"{table}: same row count, different values")
                else:
                    diff.content[table] = "values differ with equal row counts"
    for view, want_view in expected.matviews.items():
        got_view = restored.matviews.get(view)
        if view not in restored.matviews:
            diff.matviews[view] = (want_view, None)
        elif (want_view is None) != (got_view is None) or (
                want_view is not None and got_view is not None
                and _differs(want_view, got_view, slack)):
            diff.matviews[view] = (want_view, got_view)
        elif want_view != got_view:
            diff.within.append(f"materialized view {view}: {got_view} rows restored, "
                               f"{want_view} on the source")
    for seq, want_seq in expected.sequences.items():
        if want_seq is None:
            continue
        got_seq = restored.sequences.get(seq)
        if seq not in restored.sequences or got_seq is None or got_seq < want_seq * (1 - slack):
            diff.sequences[seq] = (want_seq, got_seq)
        elif got_seq < want_seq:
            diff.within.append(f"sequence {seq}: at {got_seq} restored, {want_seq} on the "
                               f"source ({got_seq - want_seq})")
    return diff

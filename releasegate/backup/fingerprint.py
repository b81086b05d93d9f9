"""An order-independent fingerprint of every row of a table, the same on the source and replica.

Each row is turned into its text form (``r::text``: every column Postgres stores, stored generated
columns included — a restore recomputes them, so a changed expression shows) and hashed with
``hashtextextended`` (64 bits, Postgres's own text hash, available since 11); the hashes are
summed, so the order rows come back in does not matter. md5 would be the same on every platform
but costs a third more per row (the text form is most of the cost either way); the text hash
differs only across byte orders, and any hash of a row's text across database encodings (a
LATIN1 source restored into UTF8), so each side also hashes one known non-ASCII value
(``probe``) and fingerprints whose probes differ are not compared, and the evidence says so.
The text form of a value depends on session settings (TimeZone, DateStyle, IntervalStyle,
extra_float_digits, bytea_output, lc_monetary), so both sides fix them first.

What it does not cover is said in the evidence (``COVERAGE``): large objects live outside the
tables; a materialized view is recomputed by REFRESH during the restore, so its populated state
and row count are compared, not its values; a table pg_dump was told to skip the data of shows as
a count difference, not here.

A mismatch on a table with a single integer primary key is narrowed to the first differing key
range while the source snapshot is still open (the fresh rehearsal): 64 ranges by key, then 64
within the first that differs.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
from psycopg import sql

METHOD = "sum(hashtextextended(row::text, 0)) v2"  # in counts files; another is not compared
OUTPUT_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO, YMD", "IntervalStyle": "postgres",
                   "extra_float_digits": "3", "bytea_output": "hex", "lc_monetary": "C"}
ROW_HASH = "sum(hashtextextended(r::text, 0))"
PROBE = "SELECT hashtextextended('releasegate fingerprint probe: ü ß 0123456789', 0)::text"
COVERAGE = {
    "covered": "every row of every table and partition (unlogged tables included), all stored "
               "columns including generated ones, compared by an order-independent 64-bit "
               "fingerprint taken in the dump's snapshot",
    "not covered": "large objects (pg_largeobject: counted among the kinds not compared); "
                   "materialized view contents (recomputed by REFRESH at restore: populated "
                   "state and row counts compared instead)",
}
BUCKETS = 64


def fix_output_settings(conn: psycopg.Connection[Any], local: bool) -> None:
    """The settings a value's text form depends on, the same on both sides."""
    for name, value in OUTPUT_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, %s)", (name, value, local))


def probe(conn: psycopg.Connection[Any]) -> str:
    """One known value hashed: equal on two servers when their fingerprints can be compared."""
    row = conn.execute(PROBE).fetchone()
    return str(row[0]) if row else ""


def table_query(schema: str, name: str, fingerprint: bool = True) -> sql.Composed:
    """count(*) and, with ``fingerprint``, the row hash sum of one table, in one pass."""
    hashed = sql.SQL(", " + ROW_HASH) if fingerprint else sql.SQL("")
    return sql.SQL("SELECT count(*){} FROM ONLY {}.{} AS r").format(
        hashed, sql.Identifier(schema), sql.Identifier(name))


def integer_key(conn: psycopg.Connection[Any], table: str) -> str | None:
    """The table's primary key column when it is a single smallint, integer or bigint."""
    row = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(%s) AND i.indisprimary "
        "AND i.indnatts = 1 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, "
        "'int8'::regtype)", (table,)).fetchone()
    return str(row[0]) if row else None


def _buckets(conn: psycopg.Connection[Any], schema: str, name: str, key: str, lo: int, hi: int
             ) -> dict[int, tuple[int, str]]:
    query = sql.SQL(
        "SELECT width_bucket(r.{key}, %s, %s, %s), count(*), " + ROW_HASH + " FROM ONLY {s}.{n} "
        "AS r WHERE r.{key} >= %s AND r.{key} < %s GROUP BY 1").format(
        key=sql.Identifier(key), s=sql.Identifier(schema), n=sql.Identifier(name))
    return {int(b): (int(c), str(h)) for b, c, h in
            conn.execute(query, (lo, hi, BUCKETS, lo, hi)).fetchall()}


def _names(conn: psycopg.Connection[Any], table: str) -> tuple[str, str] | None:
    """(schema, table) of a 'schema.table' name as the catalog spells them, or None."""
    row = conn.execute("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
                       "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
                       (table,)).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def narrow(source: psycopg.Connection[Any], replica: psycopg.Connection[Any], table: str
           ) -> str | None:
    """'first differing key range: id 1201..1219' or None when the key does not allow it."""
    key, names = integer_key(source, table), _names(source, table)
    if key is None or names is None:
        return None
    schema, name = names
    bounds = sql.SQL("SELECT min(r.{k}), max(r.{k}) FROM ONLY {s}.{n} AS r").format(
        k=sql.Identifier(key), s=sql.Identifier(schema), n=sql.Identifier(name))
    found = [c.execute(bounds).fetchone() for c in (source, replica)]
    values = [v for row in found if row for v in row if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values) + 1
    for _level in range(2):
        mine = _buckets(source, schema, name, key, lo, hi)
        theirs = _buckets(replica, schema, name, key, lo, hi)
        differing = sorted(b for b in set(mine) | set(theirs) if mine.get(b) != theirs.get(b))
        if not differing:
            return None
        width = (hi - lo) / BUCKETS
        first = differing[0]
        lo, hi = lo + math.floor((first - 1) * width), min(hi, lo + math.ceil(first * width))
        if hi - lo <= BUCKETS:
            break
    return f"first differing key range: {key} {lo}..{hi - 1}"

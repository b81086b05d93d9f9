"""What a database holds, in a form two databases can be compared by: its objects.

``read_catalog`` reads one signature string per object of each kind a restore must bring back
(schemas, tables and partitions, columns with identity/generated/defaults, indexes, constraints
with their deferrability, sequences, enums, domains, views, materialized views, functions,
triggers, row-level security policies, extensions). ``compare_catalogs`` says what is missing,
extra or changed. Kinds that are not compared are counted on the source and named
(``skipped_kinds``), so nothing is left out silently.

Rows, their fingerprints and sequence values are releasegate.backup.rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

USER_SCHEMAS = ("n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                "AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'")
NOT_EXTENSION_MEMBER = ("NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} "
                        "AND d.deptype = 'e')")

# kind -> query returning (name, signature); each name is unique within its kind.
CATALOG_QUERIES: dict[str, str] = {
    "schema": f"""
        SELECT n.nspname, '' FROM pg_namespace n
        WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid='n.oid')}""",
    "table": f"""
        SELECT format('%I.%I', n.nspname, c.relname),
               concat_ws(' ', CASE c.relkind WHEN 'p' THEN 'partitioned' ELSE 'table' END,
                         CASE c.relpersistence WHEN 'u' THEN 'unlogged' END,
                         CASE WHEN c.relrowsecurity THEN 'rls' END,
                         CASE WHEN c.relforcerowsecurity THEN 'force-rls' END,
                         CASE WHEN c.relispartition THEN
                           'partition of ' || (SELECT format('%I.%I', pn.nspname, p.relname)
                              FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                              JOIN pg_namespace pn ON pn.oid = p.relnamespace
                              WHERE i.inhrelid = c.oid)
                           || ' ' || pg_get_expr(c.relpartbound, c.oid) END,
                         CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMAS}
          AND {NOT_EXTENSION_MEMBER.format(oid='c.oid')}""",
    "column": f"""
        SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname),
               concat_ws(' ', format_type(a.atttypid, a.atttypmod),
                         CASE WHEN a.attnotnull THEN 'not null' END,
                         CASE a.attidentity WHEN 'a' THEN 'identity always'
                                            WHEN 'd' THEN 'identity by default' END,
                         CASE WHEN a.attgenerated = 's'
                              THEN 'generated ' || pg_get_expr(ad.adbin, ad.adrelid) END,
                         CASE WHEN a.attgenerated = '' AND ad.adbin IS NOT NULL
                              THEN 'default ' || pg_get_expr(ad.adbin, ad.adrelid) END)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
          AND {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid='c.oid')}""",
    "index": f"""
        SELECT format('%I.%I', n.nspname, c.relname), pg_get_indexdef(c.oid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid='i.indrelid')}""",
    "constraint": f"""
        SELECT format('%I.%I.%I', n.nspname, coalesce(c.relname, t.typname), co.conname),
               concat_ws(' ', pg_get_constraintdef(co.oid),
                         CASE WHEN co.condeferrable THEN 'DEFERRABLE' END,
                         CASE WHEN co.condeferred THEN 'INITIALLY DEFERRED' END)
        FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
        LEFT JOIN pg_class c ON c.oid = co.conrelid LEFT JOIN pg_type t ON t.oid = co.contypid
        WHERE {USER_SCHEMAS} AND co.conparentid = 0""",
    "sequence": f"""
        SELECT format('%I.%I', n.nspname, c.relname),
               concat_ws(' ', format_type(s.seqtypid, NULL), 'increment', s.seqincrement,
                         'min', s.seqmin, 'max', s.seqmax, CASE WHEN s.seqcycle THEN 'cycle' END)
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid='c.oid')}""",
    "enum": f"""
        SELECT format('%I.%I', n.nspname, t.typname),
               string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {USER_SCHEMAS} GROUP BY 1""",
    "domain": f"""
        SELECT format('%I.%I', n.nspname, t.typname),
               concat_ws(' ', format_type(t.typbasetype, t.typtypmod),
                         CASE WHEN t.typnotnull THEN 'not null' END, t.typdefault)
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'd' AND {USER_SCHEMAS}""",
    "view": f"""
        SELECT format('%I.%I', n.nspname, c.relname),
               CASE c.relkind WHEN 'm' THEN 'materialized ' ELSE '' END
               || pg_get_viewdef(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND {USER_SCHEMAS}
          AND {NOT_EXTENSION_MEMBER.format(oid='c.oid')}""",
    "function": f"""
        SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
               concat_ws(' ', p.prokind, 'returns', pg_get_function_result(p.oid),
                         p.provolatile, md5(p.prosrc))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {USER_SCHEMAS} AND {NOT_EXTENSION_MEMBER.format(oid='p.oid')}""",
    "trigger": f"""
        SELECT format('%I.%I.%I', n.nspname, c.relname, tg.tgname),
               pg_get_triggerdef(tg.oid) || CASE tg.tgenabled WHEN 'D' THEN ' DISABLED' ELSE '' END
        FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND tg.tgparentid = 0 AND {USER_SCHEMAS}""",
    "policy": f"""
        SELECT format('%I.%I.%I', n.nspname, c.relname, pol.polname),
               concat_ws(' ', pol.polcmd, CASE WHEN pol.polpermissive THEN 'permissive'
                                           ELSE 'restrictive' END,
                         pg_get_expr(pol.polqual, pol.polrelid),
                         pg_get_expr(pol.polwithcheck, pol.polrelid))
        FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_SCHEMAS}""",
    "extension": "SELECT extname, '' FROM pg_extension WHERE extname <> 'plpgsql'",
}

# Kinds a logical restore does not bring back the same way, or this comparison does not read:
# counted on the source and named in the report whenever there are any.
SKIPPED_QUERIES: dict[str, str] = {
    "large objects": "SELECT count(*) FROM pg_largeobject_metadata",
    "publications": "SELECT count(*) FROM pg_publication",
    "event triggers": "SELECT count(*) FROM pg_event_trigger",
    "foreign tables": f"""SELECT count(*) FROM pg_class c JOIN pg_namespace n
                         ON n.oid = c.relnamespace WHERE c.relkind = 'f' AND {USER_SCHEMAS}""",
    "rewrite rules": f"""SELECT count(*) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
                        JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE r.rulename <> '_RETURN' AND {USER_SCHEMAS}""",
    "extended statistics": f"""SELECT count(*) FROM pg_statistic_ext s JOIN pg_namespace n
                              ON n.oid = s.stxnamespace WHERE {USER_SCHEMAS}""",
    "comments": f"""SELECT count(*) FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
                   JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {USER_SCHEMAS}""",
    "collations": f"""SELECT count(*) FROM pg_collation co JOIN pg_namespace n
                     ON n.oid = co.collnamespace WHERE {USER_SCHEMAS}""",
    "operators and casts": f"""SELECT (SELECT count(*) FROM pg_operator o JOIN pg_namespace n
                              ON n.oid = o.oprnamespace WHERE {USER_SCHEMAS}
                              AND {NOT_EXTENSION_MEMBER.format(oid='o.oid')})
                              + (SELECT count(*) FROM pg_cast WHERE oid >= 16384
                              AND {NOT_EXTENSION_MEMBER.format(oid='pg_cast.oid')})""",
}
# Left out by design, always said: pg_dump does not carry roles, and restores are --no-owner
# --no-acl (001 §6.3), so who owns an object and who may use it are not compared; a materialized
# view is refreshed from the restored tables at restore time, so its rows are shown, not compared.
BY_DESIGN = ("ownership, privileges and roles (restored with --no-owner --no-acl; pg_dump "
             "carries no roles)",
             "materialized view contents (refreshed from the restored tables during the "
             "restore: populated state and row counts compared, values not)")

Catalog = dict[str, dict[str, str]]
OF_TABLE = frozenset({"column", "constraint", "trigger", "policy"})  # named schema.table.object


def read_catalog(conn: psycopg.Connection[Any]) -> Catalog:
    """kind -> {object name: signature} for every compared kind."""
    out: Catalog = {}
    for kind, query in CATALOG_QUERIES.items():
        out[kind] = {str(name): str(sig or "") for name, sig in conn.execute(query).fetchall()}
    return out


def skipped_kinds(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """The kinds not compared that the database has, with how many (zero counts left out)."""
    found: dict[str, int] = {}
    for kind, query in SKIPPED_QUERIES.items():
        row = conn.execute(query).fetchone()
        if row and row[0]:
            found[kind] = int(row[0])
    return found


@dataclass
class CatalogDiff:
    """What a restore lost, added or changed, per kind."""

    missing: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, list[str]] = field(default_factory=dict)
    compared: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.changed)

    def summary(self, limit: int = 4) -> str:
        """'missing table public.jobs; changed index public.ix (+2 more)' — one line."""
        parts: list[str] = []
        gone = set(self.missing.get("table", []))
        for word, found in (("missing", self.missing), ("changed", self.changed),
                            ("unexpected", self.extra)):
            for kind, all_names in found.items():
                # the columns, constraints, triggers and policies of a missing table go with it
                names = [n for n in all_names if kind not in OF_TABLE
                         or n.rsplit(".", 1)[0] not in gone]
                if not names:
                    continue
                shown = ", ".join(names[:limit]) + (f" (+{len(names) - limit} more)"
                                                     if len(names) > limit else "")
                parts.append(f"{word} {kind} {shown}")
        return "; ".join(parts)


def compare_catalogs(source: Mapping[str, Mapping[str, str]],
                     restored: Mapping[str, Mapping[str, str]]) -> CatalogDiff:
    diff = CatalogDiff()
    kinds = [k for k in CATALOG_QUERIES if k in source] + sorted(set(source) - set(CATALOG_QUERIES))
    for kind in kinds:  # the same order every time: tables before their columns and indexes
        objects, got = source[kind], restored.get(kind, {})
        diff.compared[kind] = len(objects)
        missing = sorted(set(objects) - set(got))
        extra = sorted(set(got) - set(objects))
        changed = sorted(n for n in set(objects) & set(got) if objects[n] != got[n])
        if missing:
            diff.missing[kind] = missing
        if extra:
            diff.extra[kind] = extra
        if changed:
            diff.changed[kind] = changed
    return diff


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

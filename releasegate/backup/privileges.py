"""What the source role needs for a dump and exact counts, asked before anything runs.

pg_dump reads every table it dumps (SELECT, and LOCK TABLE … IN ACCESS SHARE MODE, which needs
a table privilege), the sequences' values (SELECT), through each schema (USAGE), and with
row_security off it stops at the first table whose rows a policy would hide ("query would be
affected by row-level security policy") unless the role bypasses RLS (superuser, BYPASSRLS, or
owner of a table without FORCE). A role without them is the gate's credential problem, not a
verdict on the target (issue 20): said in one line with the GRANT that fixes it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg

from releasegate.backup.catalog import NOT_EXTENSION_MEMBER, USER_SCHEMAS

MISSING = f"""
    SELECT 'schema', n.nspname, '' FROM pg_namespace n
    WHERE {USER_SCHEMAS} AND NOT has_schema_privilege(n.oid, 'USAGE')
    UNION ALL
    SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, n.nspname, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm', 'S') AND {USER_SCHEMAS}
      AND {NOT_EXTENSION_MEMBER.format(oid='c.oid')}
      AND NOT has_table_privilege(c.oid, 'SELECT')
    UNION ALL
    SELECT 'rls', n.nspname, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_roles r ON r.rolname = current_user
    WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND {USER_SCHEMAS}
      AND NOT r.rolsuper AND NOT r.rolbypassrls
      AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE'))
    ORDER BY 1, 2, 3"""


def missing_privileges(conn: psycopg.Connection[Any]) -> str | None:
    """One line naming what the current role lacks and the statements that grant it, or None."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for kind, schema, name in conn.execute(MISSING).fetchall():
        found[kind][schema].append(name)
    if not found:
        return None
    row = conn.execute("SELECT current_user, quote_ident(current_user)").fetchone()
    role = str(row[1]) if row else "the_role"
    lacks: list[str] = []
    fixes: list[str] = []
    if found["schema"]:
        schemas = sorted(found["schema"])
        lacks.append(f"USAGE on schema {', '.join(schemas)}")
        fixes.append(f"GRANT USAGE ON SCHEMA {_idents(conn, schemas)} TO {role}")
    for kind, what in (("table", "TABLES"), ("sequence", "SEQUENCES")):
        if found[kind]:
            schemas = sorted(found[kind])
            count = sum(len(v) for v in found[kind].values())
            first = f"{schemas[0]}.{found[kind][schemas[0]][0]}"
            lacks.append(f"SELECT on {count} {kind}(s) ({first}{', …' if count > 1 else ''})")
            fixes.append(f"GRANT SELECT ON ALL {what} IN SCHEMA {_idents(conn, schemas)} "
                         f"TO {role}")
    if found["rls"]:
        tables = [f"{s}.{t}" for s, names in sorted(found["rls"].items()) for t in names]
        lacks.append(f"BYPASSRLS (row-level security on {', '.join(tables[:3])}"
                     f"{', …' if len(tables) > 3 else ''}: a dump and exact counts need every row)")
        fixes.append(f"ALTER ROLE {role} BYPASSRLS")
    return (f"the source role {row[0] if row else '?'} lacks what a dump needs: "
            f"{'; '.join(lacks)} — run as an administrator: {'; '.join(fixes)}")


def _idents(conn: psycopg.Connection[Any], names: list[str]) -> str:
    """Names as a GRANT takes them, quoted only where Postgres needs it."""
    row = conn.execute("SELECT string_agg(quote_ident(n), ', ' ORDER BY i) FROM "
                       "unnest(%s::text[]) WITH ORDINALITY AS u(n, i)", (names,)).fetchone()
    return str(row[0]) if row else ", ".join(names)

"""What the role may write, read from the catalogs (never by trying a write).

A read-only transaction is a guard, not a boundary: a role that holds write privileges could
undo it, so the data suite fails when the gate's role holds any (000 §2: read-only access).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Every way the current role could change data, from the catalogs (notes: readapi-data-redis-
# prometheus.md). TEMP on the database is left out: temporary tables vanish with the session and
# PUBLIC holds it by default. Rows: (kind, object, privilege).
WRITE_PRIVILEGES = """\
WITH me AS (SELECT * FROM pg_roles WHERE rolname = current_user),
rels AS (
  SELECT c.oid, c.relkind, c.relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%')
SELECT 'role attribute' AS kind, me.rolname::text AS object, a.attr AS privilege
  FROM me, LATERAL (VALUES ('SUPERUSER', me.rolsuper), ('CREATEROLE', me.rolcreaterole),
                           ('CREATEDB', me.rolcreatedb)) AS a(attr, held) WHERE a.held
UNION ALL
SELECT 'role membership', r.rolname::text, 'member (writes every table)'
  FROM pg_roles r WHERE r.rolname = 'pg_write_all_data' AND pg_has_role(current_user, r.oid, 'usage')
UNION ALL
SELECT CASE WHEN relkind = 'S' THEN 'sequence' ELSE 'table' END, oid::regclass::text,
       concat_ws(', ',
         CASE WHEN relkind <> 'S' AND has_table_privilege(oid, 'INSERT') THEN 'INSERT' END,
         CASE WHEN relkind <> 'S' AND has_table_privilege(oid, 'UPDATE') THEN 'UPDATE' END,
         CASE WHEN relkind <> 'S' AND has_table_privilege(oid, 'DELETE') THEN 'DELETE' END,
         CASE WHEN relkind <> 'S' AND has_table_privilege(oid, 'TRUNCATE') THEN 'TRUNCATE' END,
         CASE WHEN relkind <> 'S' AND NOT has_table_privilege(oid, 'INSERT,UPDATE')
              AND has_any_column_privilege(oid, 'INSERT,UPDATE') THEN 'column INSERT/UPDATE' END,
         CASE WHEN relkind = 'S' AND has_sequence_privilege(oid, 'USAGE,UPDATE') THEN 'nextval/setval' END,
         CASE WHEN pg_has_role(current_user, relowner, 'usage') THEN 'OWNER' END)
  FROM rels
  WHERE pg_has_role(current_user, relowner, 'usage')
     OR (relkind <> 'S' AND (has_table_privilege(oid, 'INSERT,UPDATE,DELETE,TRUNCATE')
                             OR has_any_column_privilege(oid, 'INSERT,UPDATE')))
     OR (relkind = 'S' AND has_sequence_privilege(oid, 'USAGE,UPDATE'))
UNION ALL
SELECT 'database', current_database()::text, 'CREATE'
  WHERE has_database_privilege(current_database(), 'CREATE')
UNION ALL
SELECT 'schema', n.nspname::text, 'CREATE' FROM pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
    AND n.nspname NOT LIKE 'pg_temp%' AND has_schema_privilege(n.oid, 'CREATE')
UNION ALL
SELECT 'default privileges',
       CASE WHEN d.defaclnamespace = 0 THEN 'every schema' ELSE d.defaclnamespace::regnamespace::text END,
       a.privilege_type || ' on future objects of ' || pg_get_userbyid(d.defaclrole)
  FROM pg_default_acl d, aclexplode(d.defaclacl) a
  WHERE a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
    AND (a.grantee = 0 OR pg_has_role(current_user, a.grantee, 'member'))
ORDER BY 1, 2"""


KIND_ORDER = ("role attribute", "role membership", "database", "schema", "table", "sequence",
              "default privileges")


def summarize_write_privileges(rows: Sequence[tuple[Any, ...]], limit: int = 4) -> str:
    """WRITE_PRIVILEGES rows in one line: 'INSERT, UPDATE on 3 tables a, b, c; CREATE on schema x'.

    A superuser can do everything: the rest of the list is left out as noise.
    """
    rows = sorted(rows, key=lambda r: (KIND_ORDER.index(r[0]) if r[0] in KIND_ORDER else 99, r[1]))
    attributes = sorted((str(r[2]) for r in rows if r[0] == "role attribute"),
                        key=lambda a: ("SUPERUSER", "CREATEROLE", "CREATEDB").index(a))
    if "SUPERUSER" in attributes:
        return ", ".join(attributes) + " (every privilege)"
    by_kind: dict[tuple[str, str], list[str]] = {}
    for kind, obj, privilege in rows:
        by_kind.setdefault((str(kind), str(privilege)), []).append(str(obj))
    parts: list[str] = []
    for (kind, privilege), objects in by_kind.items():
        if kind == "role attribute":
            parts.append(privilege)
            continue
        if kind == "role membership":
            parts.append(f"member of {', '.join(objects)}")
            continue
        more = f", … {len(objects) - limit} more" if len(objects) > limit else ""
        names = ", ".join(objects[:limit]) + more
        plural = "s" if len(objects) > 1 and kind in ("table", "sequence", "schema") else ""
        count = f"{len(objects)} " if len(objects) > 1 else ""
        noun = "default privileges in" if kind == "default privileges" else kind
        parts.append(f"{privilege} on {count}{noun}{plural} {names}")
    return "; ".join(parts)

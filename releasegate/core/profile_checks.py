"""What the profile's JSON Schema cannot say: values that parse, names that point somewhere.

A port of 99999, a DSN that is no connection string, a schema file that does not exist, a legacy
endpoint whose v1 counterpart is not configured, an MCP call of a tool the allow-list refuses:
each is a mistake in the profile, not a verdict on the target. Found at load time, it stops the
run with one line naming the key (exit 64) instead of failing checks as if the target were wrong.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from releasegate.core.redact import URL_SHAPE

# libpq key=value connection string: host=db port=5432 dbname=app (values may be 'quoted')
_CONNINFO = re.compile(r"^\s*(?:\w+\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s']+)\s*)+$")
_POSTGRES_SCHEMES = ("postgres", "postgresql")
_REDIS_SCHEMES = ("redis", "rediss")
_POSTGRES_SECTIONS = ("database", "backup")  # sentry.dsn is Sentry's, not a database's
# What a server-side cursor (how declared assertions run) can hold: a query, never a write.
SELECTABLE = re.compile(r"^\s*(\(\s*)*(select|with|values|table)\b", re.I)


def problems(data: Mapping[str, Any], schemas: Path) -> Iterator[str]:
    """One line per mistake, each naming its key and what would fix it."""
    for keys, value in _strings(data):
        where = ".".join(map(str, keys))
        if URL_SHAPE.match(value):
            yield from _url(where, value)
        if keys[-1:] == ("dsn",) and keys[0] in _POSTGRES_SECTIONS and value.strip():
            yield from _dsn(where, value)
    yield from _schema_files(data, schemas)
    yield from _legacy_counterparts(data.get("versioning") or {})
    yield from _mcp_calls(data.get("mcp") or {})
    yield from _assertions((data.get("database") or {}).get("assertions") or [])
    yield from _deploy_started(((data.get("backup") or {}).get("pre_deploy") or {}).get("deploy_started_at"))


def _strings(node: Any, keys: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _strings(value, (*keys, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, (*keys, i))
    elif isinstance(node, str):
        yield keys, node


def _url(where: str, url: str) -> Iterator[str]:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check: urlsplit itself is lenient
    except ValueError as exc:
        yield f"{where}: not a usable URL ({exc}); write scheme://host:port/path"
        return
    if not parts.hostname and parts.scheme not in ("unix", "file"):
        yield f"{where}: the URL names no host; write scheme://host:port/path"
    if parts.scheme in _REDIS_SCHEMES and parts.path.strip("/") and not parts.path.strip("/").isdigit():
        yield (f"{where}: the Redis database {parts.path.strip('/')!r} is not a number; write "
               "redis://host:port/0")


def _dsn(where: str, dsn: str) -> Iterator[str]:
    if URL_SHAPE.match(dsn):
        scheme = urlsplit(dsn).scheme.split("+", 1)[0].lower()
        if scheme not in _POSTGRES_SCHEMES:
            yield (f"{where}: {scheme}:// is not a Postgres connection string; write "
                   "postgresql://host:5432/dbname or host=... dbname=...")
        return
    if not _CONNINFO.match(dsn):
        yield (f"{where}: neither a postgresql:// URL nor a key=value connection string "
               "(host=... port=5432 dbname=... user=...)")
        return
    port = re.search(r"\bport\s*=\s*'?([^\s']*)", dsn)
    if port and not port.group(1).replace(",", "").isdigit():
        yield f"{where}: port {port.group(1)!r} is not a number"


def _schema_settings(data: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(key path, the mapping holding it, its key) of every schema a profile may name."""
    read_api = data.get("read_api") or {}
    for kind in ("endpoints", "streams"):
        for name, cfg in (read_api.get(kind) or {}).items():
            for key in ("schema", "item_schema"):
                if isinstance(cfg, Mapping) and cfg.get(key):
                    yield f"read_api.{kind}.{name}.{key}", cfg, key
    for i, call in enumerate((data.get("mcp") or {}).get("calls") or []):
        if isinstance(call, Mapping) and call.get("schema"):
            yield f"mcp.calls[{i}].schema", call, "schema"


def resolve_schema_paths(data: Mapping[str, Any], profile_dir: Path) -> None:
    """A schema names a file beside the profile (a team keeps its service's contract with
    its profile) or, when there is none, one of releasegate's own under schemas/. The first
    becomes an absolute path, so checks read it from wherever the run started."""
    for _, cfg, key in _schema_settings(data):
        if cfg[key] == "openapi":
            continue
        own = profile_dir / str(cfg[key])
        if own.is_file():
            cfg[key] = str(own.resolve())  # type: ignore[index]


def _schema_files(data: Mapping[str, Any], schemas: Path) -> Iterator[str]:
    for where, cfg, key in _schema_settings(data):
        name = str(cfg[key])
        if name == "openapi" and where.startswith("read_api.endpoints."):
            if importlib.util.find_spec("openapi_core") is None:
                yield (f"{where}: schema: openapi needs openapi-core: pip install "
                       "'releasegate[openapi]'")
        elif not Path(name).is_absolute() and not (schemas / name).is_file():
            yield (f"{where}: {name} does not exist beside the profile nor under releasegate's "
                   "schemas/ (a path relative to the profile's folder, e.g. schemas/quota.json, "
                   "or a built-in name such as readapi/quota.schema.json)")


def _legacy_counterparts(versioning: Mapping[str, Any]) -> Iterator[str]:
    """A legacy endpoint compared with v1 (decision supported, or an explicit v1) needs it."""
    v1 = versioning.get("endpoints") or {}
    legacy = versioning.get("legacy") or {}
    for name, cfg in (legacy.get("endpoints") or {}).items():
        cfg = cfg if isinstance(cfg, Mapping) else {}
        counterpart = cfg.get("v1") or name
        decision = cfg.get("decision") or legacy.get("decision", "removed")
        if (cfg.get("v1") or decision == "supported") and counterpart not in v1:
            yield (f"versioning.legacy.endpoints.{name}: its v1 counterpart {counterpart!r} is not "
                   f"under versioning.endpoints (name one with v1: <endpoint>)")


def _assertions(assertions: list[Any]) -> Iterator[str]:
    """Each declared assertion has its own name (waivers and severity overrides name it) and is
    a query: releasegate runs it read-only, so a DELETE would only fail as if the data were bad."""
    seen: set[str] = set()
    for i, assertion in enumerate(a for a in assertions if isinstance(a, Mapping)):
        name = str(assertion.get("name"))
        if name in seen:
            yield (f"database.assertions[{i}].name: {name!r} is declared twice; give each assertion "
                   "its own name (waivers and severity overrides use it)")
        seen.add(name)
        sql = str(assertion.get("sql", ""))
        if not SELECTABLE.match(sql):
            verb = (sql.split() or ["nothing"])[0].upper()
            yield (f"database.assertions[{i}].sql: starts with {verb}; only SELECT, WITH … SELECT "
                   "or VALUES can be declared: releasegate never writes to the target")


def _deploy_started(started: Any) -> Iterator[str]:
    if not started:
        return
    from releasegate.core.clock import parse_time

    try:
        parse_time(str(started))
    except ValueError:
        yield (f"backup.pre_deploy.deploy_started_at: {started!r} is neither an ISO 8601 time nor "
               "epoch seconds (e.g. 2026-11-24T21:00:00Z or $(date +%s))")


def _mcp_calls(mcp: Mapping[str, Any]) -> Iterator[str]:
    calls = [c for c in mcp.get("calls") or [] if isinstance(c, Mapping)]
    ids = [c.get("id", c.get("tool")) for c in calls]
    allowed = mcp.get("allow_tools")
    if allowed is not None:
        for i, call in enumerate(calls):
            if call.get("tool") not in allowed:
                yield (f"mcp.calls[{i}]: tool {call.get('tool')!r} is not on mcp.allow_tools; "
                       "releasegate calls only allowed tools: add it there or drop the call")
    for name in (mcp.get("pass_rule") or {}).get("calls") or []:
        if name not in ids:
            yield f"mcp.pass_rule.calls: {name!r} is not the id of one of mcp.calls"

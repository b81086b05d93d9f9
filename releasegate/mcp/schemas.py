"""The JSON Schemas tools advertise: are they valid, and does a result conform to them.

MCP tool schemas are JSON Schema 2020-12 unless they name another dialect with ``$schema``
(2025-11-25 server/tools); a schema another client cannot compile is a broken contract even when
this server's own SDK never looks at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import jsonschema
from jsonschema.validators import Draft202012Validator, validator_for


def _validator_class(schema: Mapping[str, Any]) -> type[jsonschema.protocols.Validator]:
    return validator_for(schema, default=Draft202012Validator)


@cache
def _metaschema_validator(cls: type[jsonschema.protocols.Validator]) -> jsonschema.protocols.Validator:
    """One validator per dialect's metaschema: ``check_schema`` builds it anew on every call
    (~25 ms for 2020-12's vocabularies)."""
    return cls(cls.META_SCHEMA)


def schema_problems(tool: Mapping[str, Any]) -> list[str]:
    """'get_x inputSchema at /properties/limit/type: 'integr' is not valid …' for each broken one."""
    name = tool.get("name")
    out: list[str] = []
    for key in ("inputSchema", "outputSchema"):
        if key not in tool:
            if key == "inputSchema":
                out.append(f"{name} has no inputSchema (MCP requires one)")
            continue
        schema = tool[key]
        if not isinstance(schema, Mapping):
            out.append(f"{name} {key} is a JSON {type(schema).__name__}, not a schema object")
            continue
        if schema.get("type") != "object":
            out.append(f"{name} {key} at /type: {schema.get('type')!r}, MCP requires 'object'")
        try:
            error = jsonschema.exceptions.best_match(
                _metaschema_validator(_validator_class(schema)).iter_errors(schema))
        except Exception as exc:  # a $schema naming an unknown dialect, a bad $ref: still broken
            out.append(f"{name} {key}: {_short(str(exc))}")
            continue
        if error is not None:
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            out.append(f"{name} {key} at {where}: {_short(error.message)}")
    return out


def conformance_problem(instance: Any, schema: Mapping[str, Any]) -> str | None:
    """The most relevant violation of ``schema`` by ``instance``, one line, or None."""
    try:
        validator = _validator_class(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    except Exception as exc:  # the advertised schema itself is unusable
        return f"the schema cannot be used ({_short(str(exc))})"
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"at {where}: {_short(error.message)}"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"

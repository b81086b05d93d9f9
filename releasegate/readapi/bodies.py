"""Judging Read API bodies (runbook 000 §3.1): where the items are, whether they match the filters.

Pure functions of a parsed body and the profile's endpoint settings, unit-tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def items_at(body: Any, where: str) -> list[Any] | None:
    """The list of items at dotted key ``where`` ('' = the body itself), or None if absent."""
    node = body
    for part in filter(None, where.split(".")):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, list) else None


def field_of(item: Any, path: str) -> tuple[bool, Any]:
    """(present, value) of a dotted field of an item."""
    node = item
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def filter_rule(spec: str | Mapping[str, str], param: str) -> tuple[str, str]:
    """A filter's (field, match) from the profile's short (field name) or long form."""
    if isinstance(spec, str):
        return spec or param, "equals"
    return spec.get("field", param), spec.get("match", "equals")


def matches(value: Any, asked: Any, how: str) -> bool:
    seen, want = _text(value), _text(asked)
    if how == "prefix":
        return seen.startswith(want)
    if how == "contains":
        return want.lower() in seen.lower()
    return seen == want


def filter_misses(items: list[Any], filters: Mapping[str, Any], params: Mapping[str, Any],
                  limit: int = 3) -> list[str]:
    """The first few items that do not match the filters asked for, in words."""
    misses: list[str] = []
    for param, spec in filters.items():
        if param not in params:
            continue
        field, how = filter_rule(spec, param)
        for index, item in enumerate(items):
            present, value = field_of(item, field)
            if not present:
                misses.append(f"item {index} has no {field}")
            elif not matches(value, params[param], how):
                op = {"prefix": " starting with ", "contains": " containing "}.get(how, "=")
                misses.append(f"item {index} has {field}={_text(value)!r} "
                              f"(asked {param}{op}{_text(params[param])!r})")
            if len(misses) >= limit:
                return misses
    return misses


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)

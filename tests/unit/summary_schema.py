"""JSON Schema of summary.json as DESIGN.md ("Outputs") fixes it, shared by the unit tests."""

from __future__ import annotations

from typing import Any

import jsonschema

from releasegate.results import AREAS

DESIGN_KEYS = ("target", "verdict", "exit_code", "started_at", "duration_s", "checks")
CHECK_KEYS = ("id", "area", "runbook", "item", "severity", "outcome", "message", "evidence")
# Keys releasegate writes beyond the DESIGN example; anything else is a contract change.
EXTRA_KEYS = ("reason", "suite_version", "target_facts")

SUMMARY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": list(DESIGN_KEYS),
    "additionalProperties": False,
    "properties": {
        "target": {"type": "string", "minLength": 1},
        "verdict": {"enum": ["GO", "INVESTIGATE", "ROLLBACK"]},
        "exit_code": {"type": "integer", "minimum": 0, "maximum": 4},
        "started_at": {"type": "string", "format": "date-time"},
        "duration_s": {"type": "number", "minimum": 0},
        "checks": {"type": "array", "items": {"$ref": "#/$defs/check"}},
        "reason": {"type": "string", "minLength": 1},
        "suite_version": {"type": "string", "minLength": 1},
        "target_facts": {"type": "object"},
    },
    "allOf": [
        {"if": {"properties": {"verdict": {"const": "GO"}}},
         "then": {"properties": {"exit_code": {"const": 0}}}},
        {"if": {"properties": {"verdict": {"const": "ROLLBACK"}}},
         "then": {"properties": {"exit_code": {"enum": [1, 2]}}}},
        {"if": {"properties": {"verdict": {"const": "INVESTIGATE"}}},
         "then": {"properties": {"exit_code": {"enum": [3, 4]}}}},
    ],
    "$defs": {
        "check": {
            "type": "object",
            "required": list(CHECK_KEYS),
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "pattern": "::"},
                "area": {"enum": list(AREAS)},
                "runbook": {"type": "string", "pattern": r"^\S+ \S"},
                "item": {"type": "string", "minLength": 1},
                "severity": {"enum": ["blocker", "warning"]},
                "outcome": {"enum": ["passed", "failed", "skipped", "error", "inconclusive"]},
                "message": {"type": "string"},
                "evidence": {"type": "object"},
            },
        },
    },
}


def validate_summary(summary: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(
        SUMMARY_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(summary), key=lambda e: list(e.absolute_path))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)

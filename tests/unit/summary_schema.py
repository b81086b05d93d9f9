"""JSON Schema of summary.json as DESIGN.md ("Outputs") fixes it, shared by the unit tests."""

from __future__ import annotations

from typing import Any

import jsonschema

from releasegate.gate.results import AREAS

DESIGN_KEYS = ("target", "verdict", "exit_code", "started_at", "duration_s", "checks")
CHECK_KEYS = ("id", "area", "runbook", "item", "severity", "outcome", "message", "evidence")
# Keys releasegate writes beyond the DESIGN example; anything else is a contract change.
EXTRA_KEYS = ("reason", "suite_version", "target_facts", "deciding_check", "counts", "notes")
COUNT_KEYS = ("blockers_failed", "warnings_failed", "inconclusive", "passed", "not_applicable", "waived")

SUMMARY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": list(DESIGN_KEYS),
    "additionalProperties": False,
    "properties": {
        "target": {"type": ["string", "null"], "minLength": 1},
        "verdict": {"enum": ["GO", "INVESTIGATE", "ROLLBACK", None]},
        "exit_code": {"enum": [0, 1, 2, 3, 4, 64, 69, 70, 130]},
        "started_at": {"type": "string", "format": "date-time"},
        "duration_s": {"type": "number", "minimum": 0},
        "checks": {"type": "array", "items": {"$ref": "#/$defs/check"}},
        "reason": {"type": "string", "minLength": 1},
        "suite_version": {"type": "string", "minLength": 1},
        "target_facts": {"type": "object"},
        "deciding_check": {"type": ["string", "null"]},
        "counts": {"type": "object", "additionalProperties": False,
                   "properties": {k: {"type": "integer", "minimum": 0} for k in COUNT_KEYS}},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
    "allOf": [
        {"if": {"properties": {"verdict": {"const": None}}},
         "then": {"properties": {"exit_code": {"enum": [64, 69, 70, 130]}}},
         "else": {"properties": {"exit_code": {"maximum": 4}, "target": {"type": "string"}},
                  "required": ["counts", "reason"]}},
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
                "outcome": {"enum": ["passed", "failed", "skipped", "error", "inconclusive", "waived"]},
                "message": {"type": "string"},
                "evidence": {"type": "object"},
                "remedy": {"type": ["string", "null"]},
                "follows_from": {"type": "string", "pattern": "::"},
                "kind": {"enum": ["other_build", "wrong_status", "wrong_body", "stale", "missing",
                                  "no_answer"]},
                "waiver": {"type": "object", "required": ["check", "justification", "expires", "state"],
                           "properties": {"state": {"enum": ["active", "stale", "expired"]}}},
            },
        },
    },
}


def validate_summary(summary: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(
        SUMMARY_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(summary), key=lambda e: list(e.absolute_path))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)

"""The built-in MCP tool schemas require only what runbook 000 defines (issue 17).

Each schema is run against a document holding only the runbook's fields (000 §1.2 A-E, the
Phase 1.5 tools, §4 / §5.3): it must pass. Removing any one of those fields must fail, and every
schema says in its ``$comment`` which runbook line it comes from. Field names of our reference
server (raw/core counts, jobs[].job_id, errors[] …) are not the contract of a service someone
else wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from releasegate.core.paths import SCHEMAS

# Only what 000 names, with values of whatever type the runbook leaves open.
RUNBOOK_ONLY: dict[str, Any] = {
    "get_rate_limit_status": {"ok": True, "daily_remaining": None, "minute_remaining": 12},  # §1.2 A
    "get_database_stats": {"ok": True},  # §1.2 B: "RAW/CORE counts int", no field named
    "get_coverage_summary": {"ok": True, "summary": None},  # §1.2 C: summary may be None
    "get_job_status": {"ok": True},  # §1.2 D: no field named for the job list
    "query_fixtures": [{"id": "f-1", "league_id": "l-39", "date_utc": "2026-12-06 15:00",  # §1.2 E
                        "status": "NS", "home_team": {"name": "A"}, "away_team": "B"}],
    "get_backfill_progress": {"ok": True},  # §1.2 Phase 1.5: no output defined
    "get_raw_error_summary": {"ok": True, "errors": {"429": 3}},  # errors need not be an array
    "get_recent_log_errors": {"ok": True},
    "get_coverage_status": {"ok": True},  # §4 / §5.3: no output defined
    "get_last_sync_time": {"ok": True},  # §5.3: no output defined
}
FILES = sorted((SCHEMAS / "mcp").glob("*.json"))


def test_every_built_in_schema_has_a_runbook_only_document():
    assert {p.stem for p in FILES} == set(RUNBOOK_ONLY)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_document_with_only_the_runbooks_fields_passes(path: Path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert "000 §" in schema["$comment"] and "line" in schema["$comment"], path.name
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(RUNBOOK_ONLY[path.stem])]
    assert errors == [], f"{path.name} requires more than runbook 000 defines: {errors}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_field_the_runbook_names_is_required(path: Path):
    schema = json.loads(path.read_text())
    document = RUNBOOK_ONLY[path.stem]
    item = document[0] if isinstance(document, list) else document
    required = (schema.get("items") or schema).get("required", [])
    for name in required:
        without = {k: v for k, v in item.items() if k != name}
        broken = [without] if isinstance(document, list) else without
        assert not Draft202012Validator(schema).is_valid(broken), f"{path.name} without {name}"

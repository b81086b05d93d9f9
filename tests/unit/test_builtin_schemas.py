"""Issue 17 item 1: a built-in schema requires only what a runbook (or protocol spec) defines.

Every schema releasegate ships for a target's answers (schemas/ less the profile's own schemas
and the reference stack's contract under schemas/reference/) is run against a document holding
only the fields its runbook line names. A healthy service written by another team keeps those
fields and names everything else its own way: the built-in schema must accept it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from releasegate.core.paths import SCHEMAS
from releasegate.core.profile import schema_validator

NOT_BUILT_IN = ("profile", "reference")  # the profile's schema; the reference stack's own contract
FIXTURE = {"id": 1, "league_id": 39, "date_utc": "2025-08-16T14:00:00Z", "status": "NS",
           "home_team": "Arsenal", "away_team": "Chelsea"}

HEALTH_001 = {"status": "ok", "environment": "production", "db": {"status": "ok"}, "redis": {"status": "ok"}}
# 004 shows other bodies for the same probes: each must pass too
MORE: dict[str, list[tuple[str, Any]]] = {
    "health/live.schema.json": [("004 Liveness Probe lines 46-50", {"status": "alive"})],
    "health/ready.schema.json": [
        ("004 Readiness Probe lines 82-90", {"status": "ready", "checks": {"database": True, "redis": True},
                                             "environment": "production"}),
        ("004 Readiness Probe lines 93-98 (the 503)",
         {"detail": "Database unavailable: connection refused"})],
}

# schema -> (the runbook line, a document holding only the fields it names)
RUNBOOK_ONLY: dict[str, tuple[str, Any]] = {
    # runbook 000 (collector, MCP, Read API)
    "readapi/fixtures.item.schema.json": ("000 §1.2 E line 37", FIXTURE),
    "readapi/standings.item.schema.json": ("000 §5.7 line 235", {"team_id": 42}),
    "readapi/quota.schema.json": ("000 §1.2 A line 29, §4 line 159",
                                  {"daily_remaining": None, "minute_remaining": 12}),
    "mcp/get_rate_limit_status.json": ("000 §1.2 A line 29",
                                       {"ok": True, "daily_remaining": None, "minute_remaining": None}),
    "mcp/get_database_stats.json": ("000 §1.2 B line 31 (names no count keys)", {"ok": True}),
    "mcp/get_coverage_summary.json": ("000 §1.2 C line 33", {"ok": True, "summary": None}),
    "mcp/get_job_status.json": ("000 §1.2 D line 35 (names no job keys)", {"ok": True}),
    "mcp/query_fixtures.json": ("000 §1.2 E line 37", [FIXTURE]),
    "mcp/get_backfill_progress.json": ("000 §1.2 line 40 (names the tool only)", {"ok": True}),
    "mcp/get_raw_error_summary.json": ("000 §1.2 line 41 (names the tool only)", {"ok": True}),
    "mcp/get_recent_log_errors.json": ("000 §1.2 line 42 (names the tool only)", {"ok": True}),
    "mcp/get_coverage_status.json": ("000 §4 line 160 (names the tool only)", {"ok": True}),
    "mcp/get_last_sync_time.json": ("000 §5.3 (names the tool only)", {"ok": True}),
    # runbook 001 §6.1 "Beklenen Response" (lines 43-53) shows one body for the three probes
    **{f"health/{probe}.schema.json": ("001 §6.1 lines 43-53", HEALTH_001) for probe in ("live", "startup")},
    "health/ready.schema.json": ("001 §6.1 lines 43-53", HEALTH_001),
    "health/legacy.schema.json": ("004 Legacy Health Check lines 147-154", {
        "status": "ok", "database": "connected", "redis": "connected", "environment": "production"}),
    # runbook 002 §2.4 and §5.1: the documented examples, verbatim
    "health/release-ready.schema.json": ("002 §2.4 lines 66-90", {
        "status": "ready", "timestamp": "2026-01-17T15:00:00Z", "build_id": "git:abc1234",
        "config_hash": "sha256:7f3a2b1c",
        "checks": {"config": {"status": "ok", "validated": True},
                   "database": {"status": "ok", "latency_ms": 5},
                   "openai_api": {"status": "ok", "key_configured": True},
                   "queue": {"status": "ok", "depth": 0}}}),
    "logs/run_summary.json": ("002 §5.1 lines 264-295", {
        "event": "run_summary", "timestamp": "2026-01-17T16:00:00Z", "build_id": "git:abc1234",
        "config_hash": "sha256:7f3a2b1c", "tenant_id": "pilot",
        "counts": {"total_invoices": 150, "incident_count": 23, "s1_count": 3, "s2_count": 20,
                   "ocr_suspect_count": 5, "accept_rounding_count": 12},
        "rates": {"mismatch_rate": 0.1533, "s1_rate": 0.1304, "ocr_suspect_rate": 0.2174,
                  "feedback_coverage": 0.65},
        "latency": {"p95_pipeline_total_ms": 2800}, "queue": {"depth": 0, "max_depth": 3},
        "errors": {"4xx": 5, "5xx": 0}}),
}


def built_in() -> list[str]:
    return sorted(str(p.relative_to(SCHEMAS)) for p in SCHEMAS.rglob("*.json")
                  if p.parent != SCHEMAS and p.relative_to(SCHEMAS).parts[0] not in NOT_BUILT_IN)


def test_every_built_in_schema_has_a_runbook_only_document():
    assert set(built_in()) == set(RUNBOOK_ONLY), "give each new built-in schema its runbook-only document"


@pytest.mark.parametrize("name", built_in())
def test_built_in_schema_accepts_a_document_holding_only_the_runbooks_fields(name):
    for line, document in [RUNBOOK_ONLY[name], *MORE.get(name, [])]:
        errors = [e.message for e in schema_validator(name).iter_errors(document)]
        assert not errors, f"schemas/{name} asks for more than {line} defines: {errors}"


def _required(schema: Any) -> list[tuple[str, dict]]:
    """(field, its subschema) for every required field of the top level."""
    props = schema.get("properties", {})
    return [(f, props.get(f, {})) for f in schema.get("required", [])]


@pytest.mark.parametrize("name", [n for n in built_in() if n.startswith("readapi/")])
def test_read_api_schema_cites_the_runbook_line_of_each_required_field(name):
    schema = json.loads((SCHEMAS / name).read_text())
    _, document = RUNBOOK_ONLY[name]
    validator = schema_validator(name)
    for field, sub in _required(schema):
        comment = sub.get("$comment") or schema.get("$comment") or schema.get("description", "")
        assert "000 §" in comment and "line" in comment, f"{name}: {field} cites no runbook line"
        without = {k: v for k, v in document.items() if k != field}
        assert not validator.is_valid(without), f"{name}: a document without {field} passed"


def test_a_schema_lookup_outside_the_built_ins_is_the_services_own():
    own = Path(SCHEMAS / "reference" / "readapi")
    assert own.is_dir() and any(own.glob("*.json"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"items": [FIXTURE]}, json.loads((own / "fixtures.schema.json").read_text()))

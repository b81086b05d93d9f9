"""Runbook 004 "Legacy Health Check" and 001 §6.4's legacy decision: GET /healthz."""

from __future__ import annotations

import pytest

from releasegate.core.profile import require_section
from releasegate.core.schema_check import expect_matches_schema
from releasegate.health.probes import REMEDY_LEGACY, REMEDY_SCHEMA

pytestmark = pytest.mark.health


@pytest.mark.runbook("004", "Legacy Health Check",
                     "legacy /healthz answers as decided (supported: always 200)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(REMEDY_LEGACY)
def test_legacy_healthz_answers_as_decided(health_endpoints, evidence, target):
    legacy = require_section(target, "health.legacy")
    path, decision = legacy.get("path", "/healthz"), legacy.get("expect", "supported")
    evidence.note(decision=decision)
    fetch = evidence.http(health_endpoints.legacy(path))
    if decision == "removed":
        fetch.expect_status(404, why="legacy endpoint documented as removed (001 §6.4 option A)")
    else:
        fetch.expect_status(200, why="old clients rely on it; 004 says it always answers 200")


@pytest.mark.runbook("004", "Legacy Health Check", "legacy /healthz body keeps its structure")
@pytest.mark.severity("warning")
@pytest.mark.remedy(REMEDY_SCHEMA)
def test_legacy_healthz_body_matches_schema(health_endpoints, evidence, target):
    legacy = require_section(target, "health.legacy")
    if legacy.get("expect", "supported") == "removed":
        pytest.skip("legacy /healthz is documented as removed in this target")
    fetch = evidence.http(health_endpoints.legacy(legacy.get("path", "/healthz")))
    fetch.expect_status(200)
    expect_matches_schema(fetch.json(), "health/legacy.schema.json", f"{fetch.label} body")

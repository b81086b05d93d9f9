"""Runbook 001 §6.4 "API Versioning" and 004's post-deploy checklist: /api/v1 and legacy endpoints."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.versioning.api import deprecation_problems, shape, structure_diff, unlisted_paths

pytestmark = pytest.mark.versioning


@pytest.mark.runbook("001", "§6.4", "the /api/v1 endpoint answers 200 or its documented 4xx")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("001 §6.4 v1 Endpoints Test: check that the v1 router is mounted and read the app "
                    "logs (004 Incident Response: High Error Rate); roll back if this deploy broke it")
def test_v1_endpoint_answers_allowed_status(versioned_api, evidence, v1_endpoint):
    allowed = versioned_api.allowed(v1_endpoint)
    evidence.note(allowed_status=allowed)
    evidence.http(versioned_api.v1(v1_endpoint)).expect_status(
        *allowed, why="its documented answers in 001 §6.4")


@pytest.mark.runbook("001", "§6.4", "the legacy endpoint answers as the documented decision says")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("001 §6.4 Legacy Endpoints Test: make the deploy match the documented decision "
                    "(option A removed → 404, option B supported → 200), or change the decision in "
                    "the docs and in this profile together")
def test_legacy_endpoint_follows_decision(versioned_api, evidence, legacy_endpoint):
    decision = versioned_api.decision(legacy_endpoint)
    evidence.note(decision=decision)
    fetch = evidence.http(versioned_api.legacy(legacy_endpoint))
    if decision == "removed":
        fetch.expect_status(*versioned_api.removed_status(),
                            why="documented as removed (001 §6.4 option A): old clients must get a "
                                "clear 404, not an endpoint nobody maintains")
    else:
        fetch.expect_status(200, why="documented as supported (001 §6.4 option B): old clients rely on it")


@pytest.mark.runbook("001", "§6.4", "a supported legacy endpoint keeps the structure of its v1 counterpart")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("001 §6.4 API Versioning Verification: serve the legacy path from the v1 handler "
                    "and serializer, or document it as removed")
def test_supported_legacy_matches_v1_structure(versioned_api, evidence, supported_legacy):
    legacy = evidence.http(versioned_api.legacy(supported_legacy)).expect_status(200)
    counterpart = versioned_api.counterpart(supported_legacy)
    v1 = evidence.http(versioned_api.v1(counterpart)).expect_status(200)
    differences = structure_diff(shape(v1.json()), shape(legacy.json()))
    evidence.note(v1=counterpart, differences=differences)
    if differences:
        more = f" (+{len(differences) - 4} more)" if len(differences) > 4 else ""
        raise CheckFailed(f"{legacy.label} differs in structure from {v1.label}: "
                          f"{'; '.join(differences[:4])}{more}: old clients break on it",
                          cause=legacy.key)


@pytest.mark.runbook("001", "§6.4", "a supported legacy endpoint announces Deprecation and Sunset")
@pytest.mark.severity("warning")
@pytest.mark.remedy("001 §6.4 (option B): announce the retirement with a Deprecation header "
                    "(RFC 9745, @<unix time>) and a Sunset date (RFC 8594), and link the v1 successor")
def test_supported_legacy_announces_deprecation(versioned_api, evidence, supported_legacy):
    fetch = evidence.http(versioned_api.legacy(supported_legacy)).expect_status(200)
    evidence.note(deprecation=fetch.headers.get("deprecation"), sunset=fetch.headers.get("sunset"))
    problems = deprecation_problems(fetch.headers)
    if problems:
        raise CheckFailed(f"{fetch.label}: {'; '.join(problems)}: clients get no notice before it goes")


@pytest.mark.runbook("001", "§6.4", "the OpenAPI document lists every v1 path")
@pytest.mark.severity("warning")
@pytest.mark.remedy("001 §6.4 and 004 post-deploy checklist: regenerate the OpenAPI document from the "
                    "deployed routes; clients and gateways built from it do not see a missing path")
def test_openapi_lists_v1_paths(versioned_api, evidence, target):
    paths = [ep["path"] for ep in versioned_api.v1_endpoints().values()]
    if not paths:
        pytest.skip(f"versioning.endpoints: not configured in target {target.name}")
    fetch = evidence.http(versioned_api.openapi())
    required = (versioned_api.cfg.get("openapi") or {}).get("required", False)
    if fetch.status == 404 and not required:
        pytest.skip(f"the target serves no OpenAPI document at {versioned_api.openapi_path()}")
    document = fetch.expect_status(200).json()
    missing = unlisted_paths(document, paths)
    listed = document.get("paths") if isinstance(document, dict) else None
    evidence.note(v1_paths=paths, listed=sorted(listed) if isinstance(listed, dict) else listed)
    if missing:
        raise CheckFailed(f"{fetch.label} does not list {', '.join(missing)} (of {len(paths)} v1 paths)",
                          cause=fetch.key)

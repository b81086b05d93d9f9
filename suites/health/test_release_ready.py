"""Runbook 002 §2 (release checklist) and §4.1 (post-deploy check step 1): GET /health/ready."""

from __future__ import annotations

import re

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import require_section
from releasegate.core.schema_check import expect_matches_schema
from releasegate.gate.stash import target_of
from releasegate.health.probes import (
    REMEDY_BUILD,
    REMEDY_BUILD_MISSING,
    REMEDY_BUILD_NO_ANSWER,
    REMEDY_CONFIG_HASH,
    REMEDY_RELEASE,
    REMEDY_RELEASE_CHECKS,
    REMEDY_SCHEMA,
)
from releasegate.health.release import same_build

pytestmark = pytest.mark.health

DEFAULT_CHECKS = ["config", "database", "openai_api", "queue"]
DEFAULT_PATH = "/health/ready"  # 002 §2.1: where build_id and config_hash are reported
CONFIG_HASH = re.compile(r"^sha256:[0-9a-f]{8,64}$")


@pytest.fixture
def release(target, health_endpoints, evidence, record_fact):
    """The shared /health/ready answer, recorded as this check's evidence; the build it reports
    goes into the report header whichever check reads it first."""
    cfg = require_section(target, "health.release")
    fetch = health_endpoints.release(cfg.get("path", DEFAULT_PATH), cfg.get("timeout_s"))
    try:
        body = fetch.json()
    except CheckFailed:
        body = None  # the checks that read the body say what is wrong with it
    if isinstance(body, dict):
        record_fact(build_id=body.get("build_id"), config_hash=body.get("config_hash"))
    return cfg, evidence.http(fetch)


@pytest.fixture
def release_body(release):
    _, fetch = release
    body = fetch.json()
    if not isinstance(body, dict):
        raise CheckFailed(f"{fetch.label}: body is not a JSON object", cause=fetch.key)
    return body


@pytest.mark.smoke
@pytest.mark.runbook("002", "§2.2", "/health/ready returns 200")
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_RELEASE)
def test_release_ready_returns_200(release):
    _, fetch = release
    fetch.expect_status(200)


@pytest.mark.runbook("002", "§4.1", '/health/ready reports status "ready"')
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_RELEASE_CHECKS)
def test_release_status_is_ready(release, release_body):
    _, fetch = release
    if release_body.get("status") != "ready":
        raise CheckFailed(f"{fetch.label} reports status {release_body.get('status')!r}, "
                          f"expected 'ready'; checks: {_failing(release_body) or 'none failing'}")


@pytest.fixture
def served_build(target, run_state, request, evidence, record_fact):
    """What the target says is serving, from health.release — or, with --expect-build and no
    release section, from 002's /health/ready: the option must check something or say why not."""
    expect = run_state.expect_build
    cfg = target.section("health.release")
    if cfg is None:
        if not expect:
            pytest.skip(f"health.release: not configured in target {target.name}")
        if target.section("health") is None:
            raise CheckFailed(f"--expect-build {expect}: nothing on target {target.name} reports a "
                              "build: the profile has no health section (add health.base_url and "
                              "health.release: 002 §2.1)", kind="missing")
        cfg = {"path": DEFAULT_PATH}
    endpoints = request.getfixturevalue("health_endpoints")
    fetch = evidence.http(endpoints.release(cfg.get("path", DEFAULT_PATH), cfg.get("timeout_s")))
    body = None  # a 503 body still says which build is serving
    if fetch.status is not None and not fetch.is_html and "json" in fetch.headers.get("content-type", ""):
        body = fetch.json()
    reported = body.get("build_id") if isinstance(body, dict) else None
    if expect and not reported:
        seen = (fetch.error or f"returned {fetch.status_text()}") if body is None \
            else "answers without a build_id"
        raise CheckFailed(f"--expect-build {expect}: nothing on {endpoints.http.base_url} reports a "
                          f"build ({fetch.method} {cfg.get('path', DEFAULT_PATH)} {seen}); set "
                          "health.release.path to the endpoint that reports build_id (002 §2.1)",
                          cause=fetch.key, kind="no_answer" if fetch.status is None else "missing")
    if isinstance(body, dict):
        record_fact(build_id=body.get("build_id"), config_hash=body.get("config_hash"))
    return cfg, fetch, body


@pytest.mark.build_identity
@pytest.mark.runbook("002", "§2.1", "/health/ready reports the expected build_id")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(REMEDY_BUILD, missing=REMEDY_BUILD_MISSING, no_answer=REMEDY_BUILD_NO_ANSWER)
def test_release_build_id_is_expected(served_build, run_state, evidence):
    cfg, fetch, body = served_build
    if body is None:
        fetch.expect_status(200, 503)
        body = fetch.json()
    expected = run_state.expect_build or cfg.get("build_id")
    reported = body.get("build_id") if isinstance(body, dict) else None
    evidence.note(expected_build_id=expected, reported_build_id=reported,
                  expected_from="--expect-build" if run_state.expect_build else "health.release.build_id")
    if not reported:
        raise CheckFailed(f"{fetch.label} has no build_id: cannot tell which build is serving",
                          kind="missing")
    if expected and not same_build(expected, reported):  # git SHAs match by prefix, either way
        raise CheckFailed(f"{fetch.label} reports build_id {reported!r}, expected {expected!r}: "
                          "the deployed build is not the one serving", kind="other_build")


@pytest.mark.runbook("002", "§2.1", "/health/ready reports the expected config_hash")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(REMEDY_CONFIG_HASH)
def test_release_config_hash_is_expected(release, release_body, evidence):
    cfg, fetch = release
    expected, reported = cfg.get("config_hash"), release_body.get("config_hash")
    evidence.note(expected_config_hash=expected, reported_config_hash=reported)
    if not reported:
        raise CheckFailed(f"{fetch.label} has no config_hash")
    if not CONFIG_HASH.match(str(reported)):
        raise CheckFailed(f"{fetch.label} config_hash {reported!r} is malformed "
                          "(expected sha256:<hex>, 002 §12)")
    if expected and reported != expected:
        raise CheckFailed(f"{fetch.label} reports config_hash {reported!r}, expected {expected!r}: "
                          "the running config differs from the released one")


def pytest_generate_tests(metafunc):
    """One check per entry of health.release.required_checks (002 §2.2's four by default)."""
    if "dependency_check" in metafunc.fixturenames:
        target = target_of(metafunc.config)
        release = (target.section("health.release") if target else None) or {}
        metafunc.parametrize("dependency_check", release.get("required_checks", DEFAULT_CHECKS))


@pytest.mark.runbook("002", "§2.2", 'each of /health/ready checks.* reports "ok"')
@pytest.mark.severity("blocker", gate="readiness")
@pytest.mark.remedy(REMEDY_RELEASE_CHECKS)
def test_release_dependency_check_ok(release, release_body, dependency_check, evidence):
    _, fetch = release
    checks = release_body.get("checks") or {}
    entry = checks.get(dependency_check)
    status = entry.get("status") if isinstance(entry, dict) else entry
    evidence.note(check=dependency_check, reported=entry)
    if entry is None:
        raise CheckFailed(f"{fetch.label} has no checks.{dependency_check}")
    if status != "ok":
        detail = entry.get("detail", "") if isinstance(entry, dict) else ""
        raise CheckFailed(f"{fetch.label} checks.{dependency_check} is {status!r}"
                          + (f": {detail}" if detail else ""))


@pytest.mark.runbook("002", "§2.4", "/health/ready body has the documented shape")
@pytest.mark.severity("warning")
@pytest.mark.remedy(REMEDY_SCHEMA)
def test_release_ready_matches_schema(release, release_body):
    _, fetch = release
    expect_matches_schema(release_body, "health/release-ready.schema.json", f"{fetch.label} body")


def _failing(body: dict) -> str:
    checks = body.get("checks") or {}
    return ", ".join(k for k, v in checks.items()
                     if (v.get("status") if isinstance(v, dict) else v) not in ("ok", True))

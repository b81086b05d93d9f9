"""Runbook 001 §6.2 "Monitoring & Sentry": the DSN is set, and a test error reaches Sentry."""

from __future__ import annotations

import uuid

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import require_section
from releasegate.core.redact import register_secrets
from releasegate.gate.area_fixtures import require_mutations
from releasegate.sentry import client as sentry

pytestmark = pytest.mark.observability
RUN_TAG = "releasegate_run"


@pytest.fixture(scope="session")
def sentry_cfg(target, redactor):
    section = require_section(target, "sentry")
    parsed, _ = sentry.parse_dsn(section["dsn"])
    token = (section.get("api") or {}).get("token", "")
    register_secrets(redactor, None, section["dsn"], token, parsed.public_key if parsed else "")
    return section


@pytest.mark.smoke
@pytest.mark.runbook("001", "§6.2", "the Sentry DSN is set and well-formed")
@pytest.mark.severity("warning")
@pytest.mark.remedy("001 §6.2 step 1: set HUNTER_SENTRY_DSN to the project's DSN "
                    "(https://<public key>@<host>/<project id>) in the deployment's secret")
def test_sentry_dsn_well_formed(sentry_cfg, evidence):
    parsed, problem = sentry.parse_dsn(sentry_cfg["dsn"])
    if problem or parsed is None:
        raise CheckFailed(f"sentry.dsn: {problem}")
    evidence.note(envelope_url=sentry.envelope_url(parsed), project_id=parsed.project_id)


@pytest.mark.runbook("001", "§6.2", "a tagged test event appears in Sentry with environment, stack "
                     "trace and context")
@pytest.mark.severity("warning")
@pytest.mark.remedy("001 §6.2: check the DSN's project, the SDK's environment setting, outbound "
                    "access to the Sentry host and the project's inbound filters and rate limits")
def test_sentry_test_event_arrives(sentry_cfg, target, run_state, http_target_factory, evidence):
    require_mutations(run_state, evidence, "sends one test error event to Sentry")
    api = require_section(target, "sentry.api")
    parsed, problem = sentry.parse_dsn(sentry_cfg["dsn"])
    if problem or parsed is None:
        raise CheckFailed(f"cannot send the test event: sentry.dsn: {problem}")
    environment = sentry_cfg.get("environment") or target.environment or "production"
    run_id = f"rg-{uuid.uuid4().hex[:12]}"
    sent = sentry.send_test_event(
        sentry_cfg["dsn"], environment=environment, tags={RUN_TAG: run_id},
        context={"run": run_id, "target": target.name, "runbook": "001 §6.2"},
        message=f"releasegate test event {run_id} (runbook 001 §6.2); safe to ignore",
        flush_timeout_s=target.timeouts.total)
    evidence.note(event_id=sent.event_id, envelope_url=sentry.envelope_url(parsed),
                  environment=environment, tag=f"{RUN_TAG}={run_id}", sdk_warnings=sent.sdk_warnings)
    if not sent.event_id:
        raise CheckFailed("sentry-sdk did not capture the test event (no event id)")
    http = http_target_factory({"base_url": api.get("base_url", "https://sentry.io"),
                                "headers": {"Authorization": f"Bearer {api['token']}"},
                                **{k: api[k] for k in ("verify_tls", "ca_bundle") if k in api}})
    path = f"/api/0/projects/{api['org']}/{api['project']}/events/{sent.event_id}/"
    wait_s, poll_s = float(sentry_cfg.get("wait_s", 120)), float(sentry_cfg.get("poll_s", 5))
    fetch, looks = http.poll_until(path, lambda f: f.status in (200, 401, 403), wait_s=wait_s,
                                   interval_s=poll_s)
    evidence.http(fetch)
    evidence.note(looks=looks, waited_up_to_s=wait_s)
    if fetch.status in (401, 403):
        fetch.expect_status(200, why="sentry.api.token must have event:read on the project")
    if fetch.status != 200:
        hint = f"; sentry-sdk said: {sent.sdk_warnings[0]}" if sent.sdk_warnings else ""
        raise CheckFailed(f"test event {sent.event_id} did not appear in Sentry within {wait_s:g}s "
                          f"({looks} looks, last {fetch.status_text() if not fetch.error else fetch.error})"
                          f"{hint}", cause=fetch.key)
    event = fetch.json()
    if not isinstance(event, dict):
        raise CheckFailed(f"{fetch.label} answered {type(event).__name__ if event is not None else 'null'} "
                          "instead of an event object: not Sentry's web API", cause=fetch.key)
    missing = sentry.problems(event, environment=environment, run_tag=(RUN_TAG, run_id))
    if missing:
        raise CheckFailed(f"test event {sent.event_id} reached Sentry but {'; '.join(missing)}",
                          cause=fetch.key)

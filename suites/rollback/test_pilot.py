"""Runbook 002 §3 (pilot guardrails) and §4.1 (post-deploy admin checks).

feedback-stats and system-health only read. The guardrail checks submit pilot invoices and flip
the kill switch: they run only with --allow-mutations, on one xdist worker, in this order
(isolation, kill switch, then the rate limit, which uses up the hour's budget).
"""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.gate.area_fixtures import require_mutations
from releasegate.pilot.api import job_state, pilot_block, stopped

pytestmark = pytest.mark.rollback
guardrail = pytest.mark.xdist_group("pilot-guardrails")


@pytest.mark.runbook("002", "§4.1", "GET /admin/feedback-stats answers 200 with feedback_coverage")
@pytest.mark.severity("warning", gate="feedback")
@pytest.mark.remedy("002 §4.2: feedback fail → investigate, do not roll back; 002 §8.1: the product "
                    "owner owns the feedback loop (Slack #product)")
def test_feedback_stats_reachable(pilot, evidence):
    fetch = evidence.http(pilot.admin_get("feedback_stats"))
    body = fetch.expect_status(200, why="002 §4.1 step 4-5: the feedback loop").json()
    coverage = body.get("feedback_coverage") if isinstance(body, dict) else None
    evidence.note(feedback_coverage=coverage)
    if isinstance(coverage, bool) or not isinstance(coverage, (int, float)) or not 0 <= coverage <= 1:
        raise CheckFailed(f"{fetch.label} has no feedback_coverage between 0 and 1 (got {coverage!r})",
                          cause=fetch.key)


@pytest.mark.runbook("002", "§4.1", "GET /admin/system-health answers 200")
@pytest.mark.severity("warning")
@pytest.mark.remedy("002 §4.1 step 3 / §4.2 exit 4: partial success — investigate the system-health "
                    "endpoint, do not roll back")
def test_system_health_reachable(pilot, evidence):
    evidence.http(pilot.admin_get("system_health")).expect_status(
        200, why="002 §4.1 step 3: system health must be readable")


@guardrail
@pytest.mark.runbook("002", "§3.1", "pilot data is not visible under another tenant")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("002 §3.1 / §9.3: fix the tenant filter; purge what leaked (DELETE FROM incidents "
                    "WHERE tenant_id='pilot') and roll back if prod tenants saw pilot data")
def test_pilot_tenant_isolated(pilot, run_state, evidence):
    require_mutations(run_state, evidence, "submits one pilot invoice")
    submitted = evidence.http(pilot.submit()).expect_status(200, 201, 202)
    job_id = submitted.json().get("job_id") if isinstance(submitted.json(), dict) else None
    if not job_id:
        raise CheckFailed(f"{submitted.label} answered without a job_id: isolation cannot be checked",
                          cause=submitted.key)
    own = evidence.http(pilot.job(job_id, pilot.tenant))
    own.expect_status(200, why=f"the job must be readable under its own tenant {pilot.tenant!r}")
    other_tenant = pilot.cfg["other_tenant"]
    other = evidence.http(pilot.job(job_id, other_tenant)).require_response()
    evidence.note(job_id=job_id, other_tenant=other_tenant, other_tenant_status=other.status)
    if other.status not in (403, 404):
        raise CheckFailed(f"{other.label} returned {other.status_text()}: pilot job {job_id} is visible "
                          f"to tenant {other_tenant!r} (expected 404 or 403)", cause=other.key)


@guardrail
@pytest.mark.runbook("002", "§3.2", "the kill switch stops pilot jobs while readiness stays 200")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("002 §7.1 step 1 depends on it: fix PILOT_ENABLED handling (pilot_guard.py); until "
                    "then stop the pilot by scaling its workers down")
def test_kill_switch_stops_pilot_jobs(pilot, run_state, evidence):
    require_mutations(run_state, evidence, "switches the pilot off and on again, submits one pilot invoice")
    before = evidence.http(pilot.status())
    if pilot_block(before).get("enabled") is False:
        raise Inconclusive(f"{before.label} reports the pilot already disabled: not switching it on "
                           "to test the switch")
    try:
        switched = pilot.set_enabled(False)
        _record(evidence, switched)
        if not switched.ok:
            raise CheckFailed(f"switching the pilot off failed: {switched.detail}",
                              cause=switched.fetch.key if switched.fetch else None)
        status, enabled = pilot.wait_enabled(False)
        evidence.http(status)
        status.expect_status(200, why="002 §3.2: with the kill switch on the application stays ready")
        if enabled is not False:
            raise CheckFailed(f"{status.label} reports pilot.enabled={enabled!r} after the kill switch "
                              f"(waited {pilot.cfg['kill_switch']['settle_s']:g}s)", cause=status.key)
        job = evidence.http(pilot.submit()).require_response()
        evidence.note(job_status=job.status, job_state=job_state(job))
        if job.status == 429:
            raise Inconclusive(f"{job.label} answered 429 (rate limit) before the kill switch could "
                               "be judged")
        if not stopped(job):
            raise CheckFailed(f"{job.label} answered {job.status_text()} with status "
                              f"{job_state(job)!r} while the kill switch is on: pilot jobs still run",
                              cause=job.key)
    finally:
        restored = pilot.set_enabled(True)
        _record(evidence, restored)
        after, enabled = pilot.wait_enabled(True)
        evidence.http(after)
        evidence.note(restored=restored.ok and enabled is True)
    if not restored.ok or enabled is not True:
        raise CheckFailed(f"the pilot was left disabled: switching it back on "
                          f"{'failed: ' + restored.detail if not restored.ok else 'did not show'}"
                          " — re-enable it by hand (PILOT_ENABLED=true)")


@guardrail
@pytest.mark.runbook("002", "§3.3", "pilot jobs over PILOT_MAX_INVOICES_PER_HOUR are rejected with 429")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("002 §3.3: enforce PILOT_MAX_INVOICES_PER_HOUR in pilot_guard.py; meanwhile use "
                    "the kill switch (002 §3.2) to cap the pilot's cost")
def test_rate_limit_answers_429(pilot, run_state, evidence):
    require_mutations(run_state, evidence, "submits pilot invoices until the hourly limit answers 429")
    status = evidence.http(pilot.status())
    limit = pilot_block(status).get("rate_limit") or {}
    cap = int(pilot.cfg["rate_limit"]["max_probe_jobs"])
    remaining = limit.get("remaining")
    needed = remaining + 1 if isinstance(remaining, int) and remaining >= 0 else cap
    evidence.note(rate_limit_before=limit, submissions_needed=needed, max_probe_jobs=cap)
    if needed > cap:
        raise Inconclusive(f"{remaining} pilot invoices remain this hour; proving the 429 would take "
                           f"{needed} submissions, over pilot.rate_limit.max_probe_jobs ({cap})")
    answers = []
    for _ in range(needed):
        job = pilot.submit()
        answers.append(job.status)
        if job.status == 429 or job.error:
            break
    evidence.http(job)
    evidence.note(answers=answers)
    if job.status == 429:
        return
    job.require_response()
    raise CheckFailed(f"{len(answers)} pilot invoices submitted with {remaining!r} of "
                      f"{limit.get('limit', '?')} remaining this hour, none answered 429 (last "
                      f"{job.status_text()}): the hourly budget is not enforced", cause=job.key)


def _record(evidence, switched):
    if switched.fetch is not None:
        evidence.http(switched.fetch)
    if switched.exchange is not None:
        evidence.exchange(switched.exchange)

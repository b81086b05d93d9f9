"""Runbook 002 §2.1 and §7.1: which build serves, which one a rollback returns to.

build_id and config_hash on /health/ready (and --expect-build) are the health area's checks;
these add what a rollback needs beyond them: the previous stable revision, recorded in the
report with the command that returns to it, and the startup log agreeing with the endpoint.
"""

from __future__ import annotations

import json

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.profile import require_section
from releasegate.health.release import same_build, serving_build

pytestmark = pytest.mark.rollback


@pytest.mark.runbook("002", "§7.1", "the previous stable revision is recorded for the rollback")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("002 §9.1: tag the previous image before the deploy (docker tag api:latest "
                    "api:pre-<sprint>) and name it in the profile's rollback.previous_build")
def test_previous_stable_revision_recorded(target, serving_release, evidence, record_fact):
    cfg = require_section(target, "rollback.previous_build")
    if not cfg:
        pytest.skip(f"rollback.previous_build: empty in target {target.name}")
    body = serving_build(serving_release, evidence, record_fact)
    deployment = (target.section("rollback") or {}).get("deployment", "deployment/api")
    record_fact(previous_build=cfg, rollback_to=f"kubectl rollout undo {deployment} (→ {cfg})")
    evidence.note(previous_build=cfg, serving_build=body["build_id"])
    if same_build(body["build_id"], cfg):
        raise CheckFailed(f"{serving_release.label} serves build {cfg!r}, the previous stable revision "
                          "itself: the new release is not serving (or was rolled back already), so a "
                          "rollback has nothing to return to", cause=serving_release.key,
                          remedy="002 §7.1 step 3: verify which image runs (kubectl rollout history "
                                 f"{deployment}) before rolling anything back")


@pytest.mark.runbook("002", "§2.1", "the startup log reports the serving build_id and config_hash")
@pytest.mark.severity("warning")
@pytest.mark.remedy("002 §2.1 / §13: the startup log must print build_id=<BUILD_ID> config_hash=… "
                    "from the same build /health/ready reports; check for pods of two builds "
                    "(kubectl get pods -o wide) and the BUILD_ID env var")
def test_startup_log_reports_serving_build(logs, serving_release, evidence, record_fact):
    body = serving_build(serving_release, evidence, record_fact)
    sample = logs.sample("rollback.logs")
    startups = [(no, line) for no, line in sample.numbered() if "build_id=" in line]
    if not startups:
        raise CheckFailed(f"no startup line with build_id= in the last {len(sample.lines)} lines of "
                          f"{sample.where} (002 §2.1: build_id=git:… config_hash=sha256:…)")
    no, line = startups[-1]
    seen = _fields(line)
    expected = {k: body.get(k) for k in ("build_id", "config_hash")}
    evidence.note(startup_line=no, logged=seen, serving=expected)
    wrong = [f"{k} {seen[k]!r} (serving {expected[k]!r})" for k in seen
             if not (same_build(seen[k], expected[k]) if k == "build_id" else seen[k] == expected[k])]
    if wrong:
        raise CheckFailed(f"{sample.where} line {no}: the latest startup logged {', '.join(wrong)}: "
                          "the log and /health/ready disagree about the build")


def _fields(line: str) -> dict[str, str | None]:
    """build_id and config_hash of a startup line: its JSON fields, else its key=value words."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict) and record.get("build_id"):
        return {k: record.get(k) for k in ("build_id", "config_hash")}
    out: dict[str, str | None] = {"build_id": None, "config_hash": None}
    for word in line.replace(",", " ").replace('"', " ").split():
        key, _, value = word.partition("=")
        if key in out and value:
            out[key] = value.strip("'")
    return out

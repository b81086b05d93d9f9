"""Runbook 002 §5.1 and §5.3: every run writes a run_summary line; its rates stay off the alarms."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.core.profile import require_section
from releasegate.logs import run_summary as rs

pytestmark = pytest.mark.rollback


@pytest.fixture
def summaries(target, logs):
    """The run_summary lines of rollback.logs (N/A without rollback.run_summary)."""
    require_section(target, "rollback.run_summary")
    sample = logs.sample("rollback.logs")
    return sample, rs.find(sample)


@pytest.mark.runbook("002", "§5.1", "every run writes a run_summary JSON line of the documented shape")
@pytest.mark.severity("warning")
@pytest.mark.remedy("002 §5.1: the pipeline must log one JSON line per run with event, timestamp, "
                    "build_id, config_hash, tenant_id, counts, rates, latency, queue, errors "
                    "(schemas/logs/run_summary.json); check the serializer of the release")
def test_run_summary_lines_valid(summaries, evidence):
    sample, lines = summaries
    bad = [line for line in lines if line.error]
    evidence.note(run_summary_lines=len(lines), invalid_lines=len(bad),
                  first_invalid=[f"line {b.line_no}: {b.error}" for b in bad[:3]])
    if not lines:
        raise Inconclusive(f"no run_summary line in the last {len(sample.lines)} lines of "
                           f"{sample.where}: no run finished in the sample, or runs end without their "
                           "summary (002 §1.3: the day's summary must be obtainable)")
    if bad:
        first = bad[0]
        raise CheckFailed(f"{len(bad)} of {len(lines)} run_summary lines in {sample.where} do not match "
                          f"schemas/{rs.SCHEMA}; first, line {first.line_no}: {first.error}")


@pytest.mark.runbook("002", "§5.3", "the latest run_summary of each tenant is within the alarm thresholds")
@pytest.mark.severity("warning")
@pytest.mark.remedy("002 §6.3 / §8.1: an alarm means investigate — S1 or 5xx spikes go to the on-call "
                    "engineer (roll back if 002 §6.1 triggers too), feedback coverage to the product "
                    "owner; see the weekly trend with 002 §5.2's jq commands")
def test_run_summary_within_alarm_thresholds(target, summaries, evidence):
    sample, lines = summaries
    cfg = target.section("rollback.run_summary") or {}
    if cfg.get("tenant_id"):
        lines = [line for line in lines if line.tenant == cfg["tenant_id"]]
    latest = rs.latest_per_tenant(lines)
    if not latest:
        raise Inconclusive(f"no valid run_summary line in the last {len(sample.lines)} lines of "
                           f"{sample.where}: the alarm thresholds cannot be judged")
    alarms, targets = rs.merged(rs.ALARMS, cfg.get("alarms")), rs.merged(rs.TARGETS, cfg.get("targets"))
    breaches, missed, seen = [], {}, {}
    for tenant, line in sorted(latest.items()):
        metrics = rs.derive(line.record or {})
        seen[tenant] = {"line": line.line_no, **{k: round(v, 4) for k, v in metrics.items()}}
        breaches += [f"{tenant} (line {line.line_no}): {b}" for b in rs.outside(metrics, alarms)]
        if rs.outside(metrics, targets):
            missed[tenant] = rs.outside(metrics, targets)
    evidence.note(latest_per_tenant=seen, alarm_thresholds=alarms, outside_targets=missed)
    if breaches:
        raise CheckFailed(f"run_summary over the 002 §5.3 alarm thresholds: {'; '.join(breaches)}")

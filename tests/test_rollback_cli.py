"""`releasegate run` against the reference stack: every verdict exit code 0–4 from a fault, the
deciding trigger named in the verdict, Inconclusive triggers leading to INVESTIGATE, mutations
skipped without --allow-mutations, and no key of the profile in any output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from releasegate.reference.stack import running_stack
from tests.fault_matrix.rollback import PARTS
from tests.support import REPO, SuiteRun

FAULTS = "config_invalid,error_5xx_burst,latency_spike,feedback_stats_down"
# check -> (exit code, verdict)
EXITS = {
    "test_metrics_endpoint_exposes_prometheus_format": (0, "GO"),
    "test_ready_not_503_for_5_minutes": (1, "ROLLBACK"),  # 002 §6.3 "ready 503: hemen rollback"
    "test_5xx_rate_within_5_percent_over_10_minutes": (2, "ROLLBACK"),  # "5xx spike: hemen rollback"
    "test_feedback_stats_reachable": (3, "INVESTIGATE"),  # "feedback fail: investigate, rollback değil"
    "test_p95_latency_within_2x_baseline": (4, "INVESTIGATE"),  # "latency spike: 30 dk investigate"
}
QUIET_INCONCLUSIVE = {
    "test_5xx_rate_within_5_percent_over_10_minutes", "test_s1_rate_within_30_percent",
    "test_p95_latency_within_2x_baseline", "test_error_rate_within_5_percent",
    "test_p95_latency_within_1s", "test_celery_failure_rate_within_10_percent",
    "test_error_rate_below_1_percent", "test_p95_latency_below_500ms",
    "test_run_summary_lines_valid", "test_run_summary_within_alarm_thresholds",
}
GUARDRAILS = {"test_pilot_tenant_isolated", "test_kill_switch_stops_pilot_jobs",
              "test_rate_limit_answers_429", "test_sentry_test_event_arrives"}


def releasegate_run(profile: Path, report_dir: Path, *args: str) -> SuiteRun:
    proc = subprocess.run([sys.executable, "-m", "releasegate.cli", "run", f"--target={profile}",
                           f"--report-dir={report_dir}", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    return SuiteRun(proc.returncode, proc.stdout, proc.stderr, report_dir)


def profile_secrets(profile: Path) -> list[str]:
    """The keys and tokens the stack's profile names as ${VARS}: their values are in this
    process's environment while the stack runs (the profile holds none of them)."""
    values = [os.environ[name] for name in re.findall(r"\$\{(RG_REF\w+)\}", profile.read_text())]
    return [found.group(1) if (found := re.match(r"https?://(\w+)@", v)) else v.split()[-1] for v in values]


def test_every_exit_code_from_a_fault(tmp_path):
    with running_stack(FAULTS, only=PARTS) as stack:
        runs = {check: releasegate_run(stack.profile_path, tmp_path / check,
                                       "-m", "rollback or observability", "-k", check)
                for check in EXITS}
    for check, (code, verdict) in EXITS.items():
        run = runs[check]
        assert (run.returncode, run.summary["exit_code"], run.summary["verdict"]) == (code, code, verdict), \
            run.stdout[-2000:]
        assert set(run.outcomes()) == {check}
        if code:  # the verdict names the trigger that decided it
            assert run.summary["checks"][0]["item"] in run.summary["reason"], run.summary["reason"]
    five = runs["test_5xx_rate_within_5_percent_over_10_minutes"].summary["checks"][0]["evidence"]
    seen = five["observed"]
    assert seen["promql"].startswith('(sum(increase(http_requests_total{status=~"5..",job="reference"')
    assert seen["min_samples_rule"] == "at least 20 requests over 10m" and seen["threshold"] == 0.05
    assert seen["value"] > 0.05 and len(seen["trend"]) >= 5
    assert any("--data-urlencode" in r["reproduce"] for r in five["requests"])


def test_quiet_service_is_inconclusive_not_go_and_read_only(tmp_path):
    with running_stack("quiet_service", only=PARTS) as stack:
        run = releasegate_run(stack.profile_path, tmp_path / "quiet", "-m", "rollback or observability")
        secrets = profile_secrets(stack.profile_path)
    assert (run.returncode, run.summary["verdict"]) == (4, "INVESTIGATE"), run.stdout[-3000:]
    assert run.summary["reason"].startswith("inconclusive, not verified")
    assert "not judged (Inconclusive)" in run.summary["reason"]
    outcomes = run.outcomes()
    inconclusive = {c for c, o in outcomes.items() if o == "inconclusive"}
    assert inconclusive == QUIET_INCONCLUSIVE
    for check in QUIET_INCONCLUSIVE - {"test_run_summary_lines_valid",
                                       "test_run_summary_within_alarm_thresholds"}:
        message = next(c["message"] for c in run.summary["checks"] if c["id"].endswith(check))
        assert "needs at least 20: not judged (Inconclusive)" in message, message
    skipped = {c["id"].split("::")[1]: c["message"] for c in run.summary["checks"]
               if c["outcome"] == "skipped"}
    assert set(skipped) == GUARDRAILS
    assert all(m.endswith("run with --allow-mutations") for m in skipped.values())
    assert {o for c, o in outcomes.items() if c not in inconclusive | GUARDRAILS} == {"passed"}
    assert len(secrets) >= 4
    output = run.outputs()
    for secret in secrets:
        assert secret not in output

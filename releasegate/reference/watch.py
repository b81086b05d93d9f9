"""The reference stack's watch section: the runbook's observation window, on what this stack has.

The observations are the runbook lines of 000 §6.2 and 002 §6.3 read from the parts that are
running (Prometheus from the observability part, MCP from the mcp part, run_summary lines from
the rollback part). The stack's data does not grow while it runs, so "rises" (000 §6.2: rows and
counts must grow) is in the shipped example profiles (fixtures/targets/collector-prod.yaml),
not here; here the counts must stay above zero. No faults of its own: the live faults of the
other parts (``releasegate stack fault error_5xx_burst on``) degrade a window mid-way.
"""

from __future__ import annotations

from typing import Any

from releasegate.reference import prometheus_server
from releasegate.reference.parts import Part, StackContext

# How far back the 5xx count looks: a few of the stack's one-second scrapes.
FIVE_XX_WINDOW = "20s"


def profile(ctx: StackContext) -> dict[str, Any]:
    observations: list[dict[str, Any]] = []
    running = ctx.facts.get("parts", ())
    if "prometheus_url" in ctx.facts:
        observations.append({
            "name": "api_5xx", "runbook": "000 §6.2 5xx must not rise; 002 §6.3 5xx spike: roll back now",
            "unit": "responses",
            "source": {"promql": f'sum(increase(http_requests_total{{job="{prometheus_server.JOB}",'
                                 f'status=~"5.."}}[{FIVE_XX_WINDOW}])) or vector(0)'},
            "assert": {"not_rises": {"tolerance": 0}}, "min_samples": 2})
    if "mcp" in ctx.facts:
        observations.append({
            "name": "minute_remaining", "runbook": "000 §6.2 get_rate_limit_status() minute_remaining "
            "stays stable", "source": {"mcp": {"tool": "get_rate_limit_status",
                                               "field": "minute_remaining"}},
            "assert": {"above": 0}, "consecutive_error_limit": 2})
    if "data" in running:
        observations.append({
            "name": "core_fixtures", "runbook": "000 §6.3 DB observation: core.fixtures (read-only SQL)",
            "source": {"sql": "SELECT count(*) FROM core.fixtures"}, "assert": {"above": 0}})
    if "rollback" in running:
        observations.append({
            "name": "s1_rate", "runbook": "002 §5.3 S1 > 30 %; 002 §6.3 S1 spike: investigate 15 min",
            "source": {"log": {"field": "s1_rate"}}, "assert": {"below": 0.30},
            "action": "investigate", "grace": "15m", "inconclusive_limit": 1000})
    observations.append({
        "name": "ready_latency_ms", "runbook": "004 Readiness Probe: answers within timeoutSeconds",
        "unit": "ms", "source": {"check": {"name": "ready", "measure": "latency_ms"}},
        "assert": {"below": 1000}, "failure_limit": 2})
    return {"watch": {"for": "60m", "every": "5m", "observations": observations,
                      # the stack's probes answer in milliseconds: a 503 is not waited out here,
                      # but one probe slower than its 1 s timeout on a busy runner is not a rollback
                      "checks": {"ready": {"action": "rollback", "failure_limit": 1}}}}


PART = Part("watch", order=90, profile=profile)

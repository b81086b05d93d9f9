"""The per-check view of a rollback trigger: judge it, record the PromQL and values as evidence.

The engines (api.py, triggers.py) know nothing of checks; this view turns an evaluation into
pass / CheckFailed / Inconclusive with 002 §6.3's action as the remedy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from releasegate.core.errors import CheckFailed, Inconclusive, NotApplicable
from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, require_section
from releasegate.prometheus.api import PrometheusAPI
from releasegate.prometheus.naming import Naming
from releasegate.prometheus.triggers import (
    FAILED,
    INCONCLUSIVE,
    ROLL_BACK_NOW,
    Evaluation,
    configure,
    evaluate,
    trend,
)

# post-deploy keys in the profile -> built-in trigger names
POST_DEPLOY = {"error_rate": "post_deploy_error_rate", "latency_p95": "post_deploy_latency_p95"}


def rollback_remedy(target: Target) -> str:
    """002 §7.2's rollback, with the profile's deployment and previous build filled in."""
    cfg = target.section("rollback") or {}
    deployment = cfg.get("deployment", "deployment/api")
    ns = f" -n {cfg['namespace']}" if cfg.get("namespace") else ""
    back_to = f" (back to {cfg['previous_build']})" if cfg.get("previous_build") else ""
    return (f"002 §7.1-7.2: 1) kill switch: kubectl set env {deployment}{ns} PILOT_ENABLED=false; "
            f"2) kubectl rollout undo {deployment}{ns}{back_to}; 3) verify: GET /health/ready → "
            "200, startup log 'Config validation passed', queue depth falling")


def prometheus_section(target: Target) -> Mapping[str, Any]:
    __tracebackhide__ = True
    return require_section(target, "metrics.prometheus")


class TriggerView:
    """Judges one trigger for one check and records the PromQL, values and rule as evidence."""

    def __init__(self, api: PrometheusAPI, target: Target, evidence: Evidence) -> None:
        self.api = api
        self.target = target
        self.evidence = evidence
        self.selector = (target.section("metrics.prometheus") or {}).get("selector", "")

    def judge(self, name: str, section: str = "rollback.triggers", key: str | None = None) -> Evaluation:
        """Successful → return; Failed → CheckFailed with 002 §6.3's action; else Inconclusive."""
        __tracebackhide__ = True
        key = key or name
        require_section(self.target, section.split(".")[0])  # rollback triggers: opt in by section
        overrides = self.target.section(f"{section}.{key}") or {}
        if overrides.get("enabled") is False:
            raise NotApplicable(f"{section}.{key}.enabled is false in target {self.target.name}")
        trigger = configure(name, overrides, Naming.from_profile(self.target.section("metrics.prometheus")))
        with self.api.recording() as seen:
            try:
                ev = evaluate(self.api, trigger, self.selector)
                if ev.outcome == FAILED and ev.missing_metric is None:
                    try:
                        trend(self.api, ev, self.selector)
                    except CheckFailed as exc:  # the trend is evidence; its failure is not the verdict
                        self.evidence.note(trend_error=str(exc))
            except ValueError as exc:  # a template naming an unknown placeholder
                raise CheckFailed(f"{section}.{key}: {exc}") from None
            except CheckFailed as exc:
                # Prometheus unreachable, not its API, or rejecting the profile's PromQL: the
                # monitoring failed, not the release; nothing about the trigger is known.
                raise Inconclusive(f"{exc}: not judged", remedy=(
                    "check metrics.prometheus (base_url, selector, the trigger's query) and that "
                    "the runner reaches Prometheus, then re-run; do not roll back on this alone "
                    "(002 §6.2: no data is Inconclusive)")) from None
            finally:
                for exchange in seen:
                    self.evidence.exchange(exchange)
        self.evidence.note(**ev.observed())
        if ev.outcome == FAILED:
            if ev.missing_metric:
                raise CheckFailed(ev.reason, remedy=(
                    f"004 Prometheus Integration: export {ev.missing_metric} again and check the "
                    "target in Prometheus' targets page (003 Troubleshooting, Prometheus Timeout)"))
            remedy = rollback_remedy(self.target) if trigger.action == ROLL_BACK_NOW else None
            raise CheckFailed(ev.reason, remedy=remedy)
        if ev.outcome == INCONCLUSIVE:
            raise Inconclusive(ev.reason, remedy=(
                f"002 §6.2: too little to judge over {trigger.window} — do not roll back on this "
                "alone; re-run once the service has had traffic (or widen the window in the "
                "profile), and read the other checks meanwhile"))
        return ev

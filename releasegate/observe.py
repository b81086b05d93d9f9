"""What the rollback and observability checks stand on: shared fixtures and thin views.

The engines (prometheus, triggers, logsource, run_summary, pii, sentry, pilot) know nothing of
pytest; the views here record what a check saw as its evidence, turn an engine's outcome into
pass / CheckFailed / Inconclusive, and skip as N/A what the profile does not configure. Both
suites/rollback and suites/observability import these fixtures in their conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from releasegate.errors import CheckFailed, Inconclusive
from releasegate.evidence import Evidence
from releasegate.http import Fetch, HttpTarget
from releasegate.logsource import LogCache, LogSample, LogUnreadable
from releasegate.plugin import require_section
from releasegate.profile import Target
from releasegate.prometheus import PrometheusAPI
from releasegate.redact import Redactor, header_secrets
from releasegate.run import RunState
from releasegate.triggers import FAILED, INCONCLUSIVE, ROLL_BACK_NOW, Evaluation, configure, evaluate, trend

# post-deploy keys in the profile -> built-in trigger names
POST_DEPLOY = {"error_rate": "post_deploy_error_rate", "latency_p95": "post_deploy_latency_p95"}


def register_secrets(redactor: Redactor, headers: Mapping[str, str] | None, *values: str) -> None:
    """Mask credential headers (X-Admin-Key, Authorization, …) and tokens in every output, also
    when the profile gave them literally rather than as ${VAR}."""
    redactor.add([*(v for v in values if v), *header_secrets(headers or {})])


def rollback_remedy(target: Target) -> str:
    """002 §7.2's rollback, with the profile's deployment and previous build filled in."""
    cfg = target.section("rollback") or {}
    deployment = cfg.get("deployment", "deployment/api")
    ns = f" -n {cfg['namespace']}" if cfg.get("namespace") else ""
    back_to = f" (back to {cfg['previous_build']})" if cfg.get("previous_build") else ""
    return (f"002 §7.1-7.2: 1) kill switch: kubectl set env {deployment}{ns} PILOT_ENABLED=false; "
            f"2) kubectl rollout undo {deployment}{ns}{back_to}; 3) verify: GET /health/ready → "
            "200, startup log 'Config validation passed', queue depth falling")


# --- Prometheus and triggers --------------------------------------------------------------------


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
            pytest.skip(f"{section}.{key}.enabled is false in target {self.target.name}")
        trigger = configure(name, overrides)
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


def prometheus_section(target: Target) -> Mapping[str, Any]:
    __tracebackhide__ = True
    return require_section(target, "metrics.prometheus")


@pytest.fixture(scope="session")
def prometheus_api(target: Target, http_target_factory: Callable[[Any], HttpTarget],
                   redactor: Redactor) -> PrometheusAPI:
    """The Prometheus HTTP API of metrics.prometheus, one instant for the whole run."""
    section = prometheus_section(target)
    register_secrets(redactor, section.get("headers"))
    return PrometheusAPI(http_target_factory(section), command=redactor.shell)


@pytest.fixture
def triggers(prometheus_api: PrometheusAPI, target: Target, evidence: Evidence) -> TriggerView:
    return TriggerView(prometheus_api, target, evidence)


@pytest.fixture
def prometheus(prometheus_api: PrometheusAPI, evidence: Evidence) -> Iterator[PrometheusAPI]:
    """The API, recording what this check asked as its evidence."""
    with prometheus_api.recording() as seen:
        try:
            yield prometheus_api
        finally:
            for exchange in seen:
                evidence.exchange(exchange)


# --- logs ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def log_cache(redactor: Redactor) -> LogCache:
    return LogCache(redactor.shell)


class LogView:
    def __init__(self, cache: LogCache, target: Target, evidence: Evidence) -> None:
        self.cache = cache
        self.target = target
        self.evidence = evidence

    def sample(self, section: str) -> LogSample:
        """The log sample of ``section`` (a log source), recorded as evidence; N/A when unset."""
        __tracebackhide__ = True
        config = require_section(self.target, section)
        try:
            sample = self.cache.read(config)
        except LogUnreadable as exc:
            self.evidence.exchange(exc.exchange)
            raise
        self.evidence.exchange(sample.exchange)
        self.evidence.note(log=sample.where, lines_read=len(sample.lines))
        return sample


@pytest.fixture
def logs(log_cache: LogCache, target: Target, evidence: Evidence) -> LogView:
    return LogView(log_cache, target, evidence)


# --- the serving build (002 §2.1) ---------------------------------------------------------------


@pytest.fixture(scope="session")
def serving_release(target: Target, http_target_factory: Callable[[Any], HttpTarget]) -> Fetch:
    """GET /health/ready (health.release.path) once: the build the service says it serves."""
    health = require_section(target, "health")
    release = target.section("health.release") or {}
    return http_target_factory(health).fetch(release.get("path", "/health/ready"))


def serving_build(fetch: Fetch, evidence: Evidence,
                  record_fact: Callable[..., None] | None = None) -> dict[str, Any]:
    """build_id and config_hash of the readiness answer (its body says them even with a 503),
    also published for the report's header when ``record_fact`` is given."""
    __tracebackhide__ = True
    evidence.http(fetch)
    body = fetch.json()
    if not isinstance(body, dict) or not body.get("build_id"):
        raise CheckFailed(f"{fetch.label} reports no build_id: cannot tell which build is serving",
                          cause=fetch.key)
    if record_fact is not None:
        record_fact(build_id=body.get("build_id"), config_hash=body.get("config_hash"))
    return body


def require_mutations(run_state: RunState, evidence: Evidence, what: str) -> None:
    """N/A unless --allow-mutations: the check would change the target; when it may, its
    evidence says what it changed (DESIGN rule 1)."""
    __tracebackhide__ = True
    if not run_state.allow_mutations:
        pytest.skip(f"changes the target ({what}): run with --allow-mutations")
    evidence.note(changes_target=what)

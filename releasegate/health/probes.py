"""Health endpoints of a target: fetched once per run, read by many checks.

Several checks judge the same /healthz/ready answer (status code, environment, db, redis,
schema), so each endpoint is fetched once and the result shared; each check still records the
exchange it judged as its own evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, Timeouts, require_section
from releasegate.http.client import Fetch, HttpTarget

# 004's probe configuration, used where the profile does not say otherwise.
PROBE_DEFAULTS: dict[str, dict[str, Any]] = {
    "live": {"path": "/healthz/live", "timeout_s": 5},
    "ready": {"path": "/healthz/ready", "timeout_s": 3, "expect_redis": True},
    "startup": {"path": "/healthz/startup", "timeout_s": 3, "wait_s": 30, "period_s": 1},
}
READY_STATES = frozenset({"ok", "ready"})
# Where each dependency shows in a readiness body: 001 uses db.status, 004 checks.database.
DEPENDENCY_KEYS = {"db": ("db", "database"), "redis": ("redis",)}
LIVE_DEPENDENCY_KEYS = ("db", "database", "redis", "checks")

# What to do when a health check fails: the runbooks' own troubleshooting and incident steps.
ROLL_BACK = "if the deploy caused it: kubectl rollout undo deployment/<app> (004 Rolling Update)"
REMEDY_READY = ("001 §6.1 Failure Scenarios (/healthz/ready 503): check the database connection "
                "(SELECT 1 from the app) and Redis (redis-cli ping); 004 Incident Response 1-2 "
                f"(DB pool exhausted, Redis connection failure); {ROLL_BACK}")
REMEDY_READY_NO_ANSWER = ("004 Kubernetes probe config: /healthz/ready gave no answer in time — the "
                          "handler hangs on a dependency: 004 Incident Response 1 (DB pool exhausted: "
                          "SELECT count(*) FROM pg_stat_activity) and 2 (Redis: redis-cli ping), the pod's "
                          f"logs and restarts (kubectl logs, kubectl get pods); {ROLL_BACK}")
REMEDY_LIVE = ("004 Liveness Probe: the process does not answer — check the pod's logs and restarts "
               f"(kubectl logs, kubectl get pods); {ROLL_BACK}")
REMEDY_STARTUP = ("004 Startup Probe: startup must answer 200 within failureThreshold x periodSeconds "
                  "(150 s) — check migrations and initialisation in the pod's logs; "
                  f"{ROLL_BACK}")
REMEDY_ENVIRONMENT = ("001 §6.1 checklist: the service reports the wrong environment — check the "
                      "deployment's ENVIRONMENT setting (kubectl get deploy -o yaml) and redeploy")
REMEDY_DB = ("001 §6.1 Failure Scenarios: check the database connection from the app (SELECT 1) "
             "and 004 Incident Response 1 (connection pool: SELECT count(*) FROM pg_stat_activity)")
REMEDY_REDIS = ("001 §6.1 Failure Scenarios: redis-cli ping; 004 Incident Response 2 (Redis connection "
                "failure): kubectl get pods -l app=redis, kubectl logs, redis-cli INFO memory")
REMEDY_READY_CONSISTENT = ("004 Readiness Probe: /healthz/ready must answer 503 while a dependency is "
                           "down, or Kubernetes routes traffic to a broken pod — fix the readiness "
                           f"handler; {ROLL_BACK}")
REMEDY_LIVE_NO_DEPS = ("004 Liveness Probe: liveness must not check the database or Redis (an outage "
                       "would restart every pod) — move dependency checks to /healthz/ready")
REMEDY_PROBE_TIMEOUT = ("004 Kubernetes probe config: the probe must answer within timeoutSeconds — find "
                        "the slow dependency behind the handler (004 Incident Response 1: DB pool) "
                        "before raising timeoutSeconds")
REMEDY_SCHEMA = ("001 §6.1 expected response: keep the documented JSON shape (status, environment, "
                 "db.status, redis.status) — probes, clients and dashboards read it")
REMEDY_STABILITY = ("002 §6.3: readiness 503 for more than 5 minutes is an immediate rollback; flapping "
                    "means an unstable dependency — check the database and Redis (001 §6.1 Failure "
                    "Scenarios)")
REMEDY_LEGACY = ("001 §6.4 / 004 Legacy Health Check: old clients call /healthz — restore it (always "
                 "200) or document it as removed and set health.legacy.expect: removed")
REMEDY_RELEASE = ("002 §7.1: kill switch first (PILOT_ENABLED=false), then kubectl rollout undo "
                  "deployment/api, then verify GET /health/ready -> 200")
REMEDY_RELEASE_CHECKS = ("002 §2.2-2.3: fix the failing dependency (config: validate_config() in the "
                         "startup log; database; openai_api: the API key; queue: the worker); "
                         "002 §6.3: ready 503 means roll back now (002 §7.1)")
REMEDY_BUILD = ("002 §2.1: the build serving is not the one deployed — check kubectl rollout status "
                "deployment/api and the image tag; roll back with kubectl rollout undo if the wrong "
                "build went live")
REMEDY_BUILD_MISSING = ("002 §2.1: nothing reports which build is serving — set BUILD_ID in the "
                        "deployment (002 §2.1 get_build_id) and return build_id and config_hash on "
                        "/health/ready (002 §2.4), or point health.release.path at the endpoint that does")
REMEDY_BUILD_NO_ANSWER = ("002 §2.1: /health/ready gave no answer, so which build serves is unknown — "
                          "check the service is up (kubectl rollout status deployment/api, kubectl get "
                          "pods) before judging the build")
REMEDY_CONFIG_HASH = ("002 §2.3 / §12: the running config differs from the released one — compare the "
                      "deployment's environment with the release and look for 'Config validation "
                      "passed' in the startup log")


def probe_config(target: Target, name: str) -> dict[str, Any]:
    return {**PROBE_DEFAULTS[name], **(target.section(f"health.probes.{name}") or {})}


def dependency_status(body: Any, dependency: str) -> str | None:
    """'ok', another status word, or None when the body does not report the dependency."""
    if not isinstance(body, Mapping):
        return None
    for key in DEPENDENCY_KEYS[dependency]:
        value = body.get(key)
        if isinstance(value, Mapping) and "status" in value:
            return str(value["status"])
        checks = body.get("checks")
        if isinstance(checks, Mapping) and key in checks:
            flag = checks[key]
            if isinstance(flag, bool):
                return "ok" if flag else "error"
            if isinstance(flag, Mapping) and "status" in flag:
                return str(flag["status"])
    return None


@dataclass
class Poll:
    fetch: Fetch
    attempts: int


class HealthEndpoints:
    """The health endpoints of one target; each fetched at most once per run."""

    def __init__(self, target: Target, http: HttpTarget) -> None:
        self.target = target
        self.http = http
        self._cache: dict[str, Any] = {}

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _probe_limits(self, cfg: Mapping[str, Any]) -> Timeouts:
        """The kubelet gives a probe timeoutSeconds in all; so does releasegate."""
        return self.http.timeouts.capped(cfg["timeout_s"], "the probe's timeoutSeconds")

    def probe(self, name: str) -> Fetch:
        """live or ready: one GET, answered within the probe's timeout_s or failed."""
        cfg = probe_config(self.target, name)
        return self._once(name, lambda: self.http.fetch(cfg["path"], timeouts=self._probe_limits(cfg)))

    def startup(self) -> Poll:
        """Poll the startup probe until 200, for at most wait_s (004: failureThreshold × period)."""
        cfg = probe_config(self.target, "startup")

        def poll() -> Poll:
            fetch, attempts = self.http.poll_until(cfg["path"], lambda f: f.status == 200,
                                                   wait_s=cfg["wait_s"], interval_s=cfg["period_s"],
                                                   timeouts=self._probe_limits(cfg))
            return Poll(fetch, attempts)

        return self._once("startup", poll)

    def legacy(self, path: str) -> Fetch:
        return self._once("legacy", lambda: self.http.fetch(path))

    def release(self, path: str, timeout_s: float | None) -> Fetch:
        limits = self.http.timeouts.capped(timeout_s) if timeout_s else None
        return self._once("release", lambda: self.http.fetch(path, timeouts=limits))

    def stability(self, path: str, polls: int, window_s: float, timeout_s: float) -> list[Fetch]:
        """``polls`` GETs spread evenly over ``window_s``; never cached — it is about time."""
        interval = window_s / (polls - 1)
        limits = self.http.timeouts.capped(timeout_s, "the probe's timeoutSeconds")
        results: list[Fetch] = []
        started = time.perf_counter()
        for i in range(polls):
            delay = started + i * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            results.append(self.http.fetch(path, timeouts=limits))
        return results


class HealthView:
    """What a single check uses: the shared endpoints, recording evidence for this check."""

    def __init__(self, endpoints: HealthEndpoints, evidence: Evidence) -> None:
        self.endpoints = endpoints
        self.evidence = evidence
        self.target = endpoints.target

    def probe(self, name: str) -> Fetch:
        """A probe's shared answer; the check is N/A when the profile does not list the probe."""
        __tracebackhide__ = True
        require_section(self.target, f"health.probes.{name}")
        return self.evidence.http(self.endpoints.probe(name))

    def startup(self) -> Poll:
        __tracebackhide__ = True
        require_section(self.target, "health.probes.startup")
        poll = self.endpoints.startup()
        self.evidence.http(poll.fetch)
        self.evidence.note(startup_attempts=poll.attempts)
        return poll

    def ready_body(self) -> Any:
        """The readiness body, whatever its status code (a 503 body still says why)."""
        __tracebackhide__ = True
        return self.probe("ready").json()

    def dependency(self, dependency: str) -> str:
        """The readiness status of a dependency; fails when the target does not report it."""
        __tracebackhide__ = True
        fetch = self.probe("ready")
        status = dependency_status(fetch.json(), dependency)
        if status is None:
            keys = " or ".join(f"{k}.status" for k in DEPENDENCY_KEYS[dependency])
            raise CheckFailed(f"{fetch.label} does not report {dependency} ({keys} missing)")
        self.evidence.note(**{f"{dependency}_status": status})
        return status

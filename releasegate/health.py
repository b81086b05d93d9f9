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

from releasegate.errors import CheckFailed
from releasegate.evidence import Evidence
from releasegate.http import Fetch, HttpTarget
from releasegate.plugin import require_section
from releasegate.profile import Target, Timeouts

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

    def probe(self, name: str) -> Fetch:
        """live or ready: one GET with the profile's request limits."""
        cfg = probe_config(self.target, name)
        return self._once(name, lambda: self.http.fetch(cfg["path"]))

    def startup(self) -> Poll:
        """Poll the startup probe until 200, for at most wait_s (004: failureThreshold × period)."""
        cfg = probe_config(self.target, "startup")

        def poll() -> Poll:
            fetch, attempts = self.http.poll_until(cfg["path"], lambda f: f.status == 200,
                                                   wait_s=cfg["wait_s"], interval_s=cfg["period_s"])
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
        limits = Timeouts(min(self.http.timeouts.connect, timeout_s), timeout_s, timeout_s)
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

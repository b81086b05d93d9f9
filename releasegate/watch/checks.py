"""The checks a watch repeats every cycle, driven through the engines (no pytest session).

A watched check gives, per cycle, an outcome (Successful / Failed / Inconclusive / Error) and
its measurements, which observations can read (``source: {check: {name, measure}}``). They are
the runbook's "roll back now / investigate" conditions that can change minute to minute:

- ``ready`` / ``live`` (health, 001 §6.1, 004 probes): the probe answers 200 — measurements
  ``value`` (1 or 0), ``status``, ``latency_ms``. 002 §6.1: readiness 503 for more than 5 min
  is a rollback, so ``ready`` investigates for 5 min before it rolls back.
- ``release_ready`` (health.release, 002 §2.2): /health/ready answers 200 with the same clock.
- one per 002 §6.1 rollback trigger (rollback, with metrics.prometheus): ``ready_503``,
  ``queue_stuck``, ``error_5xx`` roll back at once; ``s1_spike`` investigates for 15 min,
  ``latency_spike`` for 30 (002 §6.3) — measurement ``value``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from releasegate.core.profile import Target
from releasegate.watch.judge import ERROR, FAILED, INCONCLUSIVE, SUCCESSFUL
from releasegate.watch.spec import Limits

# 002 §6.1 "ready 503 > 5 dk": the probe investigates 5 minutes before it rolls back
READY_LIMITS = Limits(action="investigate", grace_s=300.0, min_samples=1)
TRIGGERS_002 = ("ready_503", "queue_stuck", "error_5xx", "s1_spike", "latency_spike")
AREAS = {"ready": "health", "live": "health", "release_ready": "health",
         **{name: "rollback" for name in TRIGGERS_002}}


@dataclass
class Outcome:
    phase: str
    reason: str = ""
    measures: dict[str, float | None] = field(default_factory=dict)


@dataclass
class WatchedCheck:
    name: str
    runbook: str
    limits: Limits
    run: Callable[[], Outcome]


def _limits_for_action(action: str) -> Limits:
    from releasegate.prometheus.triggers import INVESTIGATE_15, INVESTIGATE_30, ROLL_BACK_NOW

    if action == ROLL_BACK_NOW:
        return Limits(min_samples=1)
    grace = {INVESTIGATE_15: 900.0, INVESTIGATE_30: 1800.0}.get(action)
    return Limits(action="investigate", grace_s=grace, min_samples=1)


class CheckSet:
    """The checks the markers select for a target, with their open clients."""

    def __init__(self, target: Target, markers: str | None) -> None:
        self.target = target
        self.checks: list[WatchedCheck] = []
        self._closers: list[Callable[[], None]] = []
        wanted = _areas(markers)
        if "health" in wanted and target.section("health") is not None:
            self._health()
        if "rollback" in wanted and target.section("rollback") is not None \
                and target.section("metrics.prometheus") is not None:
            self._triggers()
        overrides = ((target.section("watch") or {}).get("checks") or {})
        for check in self.checks:
            if check.name in overrides:
                check.limits = Limits.read(overrides[check.name], check.limits)

    def close(self) -> None:
        for close in self._closers:
            with contextlib.suppress(Exception):
                close()

    def _http(self, cfg: Any) -> Any:
        """One pooled client for a section with base_url (headers, verify_tls, ca_bundle)."""
        from releasegate.http.client import HttpTarget

        http = HttpTarget(str(cfg["base_url"]), timeouts=self.target.timeouts,
                          body_limit=self.target.body_limit, headers=cfg.get("headers"),
                          verify=cfg.get("ca_bundle") or cfg.get("verify_tls", True))
        self._closers.append(http.close)
        return http

    def _health(self) -> None:
        from releasegate.health.probes import probe_config

        cfg = self.target.section("health") or {}
        http = self._http(cfg)
        for name in ("ready", "live"):
            probe = probe_config(self.target, name)
            self.checks.append(WatchedCheck(name, f"001 §6.1 /healthz/{name} answers 200",
                                            READY_LIMITS if name == "ready" else Limits(min_samples=1),
                                            _probe(http, probe["path"], probe.get("timeout_s"))))
        release = cfg.get("release")
        if release:
            self.checks.append(WatchedCheck("release_ready", "002 §2.2 /health/ready answers 200",
                                            READY_LIMITS,
                                            _probe(http, release["path"], release.get("timeout_s"))))

    def _triggers(self) -> None:
        from releasegate.core.errors import CheckFailed
        from releasegate.prometheus.api import PrometheusAPI
        from releasegate.prometheus.triggers import configure, evaluate

        prom = self.target.section("metrics.prometheus") or {}
        http = self._http(prom)
        selector = prom.get("selector", "")
        for name in TRIGGERS_002:
            overrides = self.target.section(f"rollback.triggers.{name}") or {}
            if overrides.get("enabled") is False:
                continue
            trigger = configure(name, overrides)

            def run(trigger: Any = trigger) -> Outcome:
                try:  # a new API object per cycle: it stops asking a silent server within a run
                    ev = evaluate(PrometheusAPI(http), trigger, selector)
                except CheckFailed as exc:
                    return Outcome(ERROR, f"{exc}: not judged")
                phase = {"Successful": SUCCESSFUL, "Failed": FAILED}.get(ev.outcome, INCONCLUSIVE)
                return Outcome(phase, ev.reason, {"value": ev.value, "samples": ev.samples})

            self.checks.append(WatchedCheck(name, f"002 §6.1 {trigger.condition}",
                                            _limits_for_action(trigger.action), run))


def _probe(http: Any, path: str, timeout_s: float | None) -> Callable[[], Outcome]:
    def run() -> Outcome:
        limits = http.timeouts.capped(float(timeout_s), "the probe's timeoutSeconds") \
            if timeout_s else None
        fetch = http.fetch(path, timeouts=limits)
        measures = {"latency_ms": round(fetch.elapsed_s * 1000, 1),
                    "status": float(fetch.status) if fetch.status else None,
                    "value": 1.0 if fetch.status == 200 else 0.0}
        if fetch.status is None:
            return Outcome(FAILED, f"GET {path}: {fetch.error}", measures)
        if fetch.status != 200:
            return Outcome(FAILED, f"GET {path} answered {fetch.status}", measures)
        return Outcome(SUCCESSFUL, "", measures)
    return run


def _areas(markers: str | None) -> set[str]:
    """The areas a marker expression selects ('health or rollback'); none → both."""
    import re

    words = set(re.findall(r"[A-Za-z_]\w*", markers or "")) - {"or", "and", "not"}
    if not words or words & {"smoke", "all"}:
        return {"health", "rollback"}
    return words


@contextlib.contextmanager
def opened(target: Target, markers: str | None) -> Iterator[CheckSet]:
    checks = CheckSet(target, markers)
    try:
        yield checks
    finally:
        checks.close()

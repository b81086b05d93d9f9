"""The watch section of a profile read into plain objects: observations, limits, the window.

Limits are Argo Rollouts' AnalysisRun metric fields (pkg/apis/rollouts/v1alpha1/analysis_types.go:
failureLimit default 0, consecutiveErrorLimit default 4, inconclusiveLimit default 0); ``action``
and ``grace`` are 002 §6.3's table (roll back now / investigate 15 min / 30 min).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
DEFAULT_WINDOW = "60m"
DEFAULT_EVERY = "5m"


def seconds(text: str | float) -> float:
    """'5m' → 300.0, '1h30m' → 5400.0, '0.2s' → 0.2; a bare number is seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    value = str(text).strip()
    parts = _PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not a duration: {value!r} (write e.g. 0.2s, 5m, 1h30m)")
    return sum(float(n) * UNITS[u] for n, u in parts)


def show_s(value: float) -> str:
    """Seconds as the shortest duration text: 900 → '15m', 0.2 → '0.2s'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size and value % size == 0:
            return f"{int(value // size)}{unit}"
    return f"{value:g}s"


@dataclass(frozen=True)
class Limits:
    """How many bad samples an observation or check tolerates, and what a breach means."""

    failure_limit: int = 0
    consecutive_error_limit: int = 4
    inconclusive_limit: int = 0
    min_samples: int = 2
    action: str = "rollback"  # rollback: at once; investigate: escalates after grace
    grace_s: float | None = None

    @classmethod
    def read(cls, cfg: Mapping[str, Any], base: Limits | None = None) -> Limits:
        base = base or cls()
        grace = cfg.get("grace")
        return cls(
            failure_limit=int(cfg.get("failure_limit", base.failure_limit)),
            consecutive_error_limit=int(cfg.get("consecutive_error_limit",
                                                base.consecutive_error_limit)),
            inconclusive_limit=int(cfg.get("inconclusive_limit", base.inconclusive_limit)),
            min_samples=int(cfg.get("min_samples", base.min_samples)),
            action=str(cfg.get("action", base.action)),
            grace_s=seconds(grace) if grace is not None else base.grace_s,
        )


@dataclass(frozen=True)
class Assertion:
    """What every sample (and the window) must show: rises, not_rises, within, above, below."""

    kind: str
    low: float | None = None
    high: float | None = None
    tolerance: float = 0.0

    @classmethod
    def read(cls, cfg: Mapping[str, Any]) -> Assertion:
        (kind, arg), = cfg.items()
        if kind == "within":
            return cls(kind, low=float(arg[0]), high=float(arg[1]))
        if kind == "above":
            return cls(kind, low=float(arg))
        if kind == "below":
            return cls(kind, high=float(arg))
        if kind == "not_rises":
            return cls(kind, tolerance=float((arg or {}).get("tolerance", 0.0)))
        return cls(kind)

    def describe(self) -> str:
        if self.kind == "within":
            return f"stays within [{self.low:g}, {self.high:g}]"
        if self.kind == "above":
            return f"stays above {self.low:g}"
        if self.kind == "below":
            return f"stays below {self.high:g}"
        if self.kind == "not_rises":
            return f"does not rise (tolerance {self.tolerance:g})"
        return "rises"


@dataclass(frozen=True)
class Observation:
    """A series read every cycle and the assertion it must hold over the window."""

    name: str
    kind: str  # mcp | sql | promql | log | check
    source: Mapping[str, Any] = field(repr=False)
    assertion: Assertion = Assertion("rises")
    limits: Limits = Limits()
    runbook: str = ""
    unit: str = ""

    @classmethod
    def read(cls, cfg: Mapping[str, Any]) -> Observation:
        (kind, source), = cfg["source"].items()
        return cls(name=cfg["name"], kind=kind, source=source if isinstance(source, Mapping)
                   else {"query": source}, assertion=Assertion.read(cfg["assert"]),
                   limits=Limits.read(cfg), runbook=cfg.get("runbook", ""), unit=cfg.get("unit", ""))

    def describe_source(self) -> str:
        src = self.source
        if self.kind == "mcp":
            return f"MCP {src['tool']} → {src['field']}"
        if self.kind == "log":
            return f"run_summary {src['field']}"
        if self.kind == "check":
            return f"check {src['name']} {src.get('measure', 'value')}"
        return f"{'SQL' if self.kind == 'sql' else 'PromQL'} {src['query']}"


@dataclass(frozen=True)
class WatchSpec:
    """The whole watch: window, interval, observations, per-check limits, the deploy wait."""

    window_s: float
    every_s: float
    observations: tuple[Observation, ...]
    checks: Mapping[str, Limits]
    deploy: Mapping[str, Any] | None = None


def read_spec(section: Mapping[str, Any] | None, *, window: str | None = None,
              every: str | None = None) -> WatchSpec:
    """The profile's ``watch`` section (may be absent) with the command line's overrides."""
    cfg = section or {}
    window_s = seconds(window or cfg.get("for", DEFAULT_WINDOW))
    every_s = seconds(every or cfg.get("every", DEFAULT_EVERY))
    if every_s <= 0 or window_s < every_s:
        raise ValueError(f"the window ({show_s(window_s)}) must be at least one interval "
                         f"({show_s(every_s)}) long")
    observations = tuple(Observation.read(o) for o in cfg.get("observations", ()))
    names = [o.name for o in observations]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"watch.observations: name {', '.join(dupes)} used twice")
    for obs in observations:
        if obs.limits.grace_s is not None and obs.limits.action != "investigate":
            raise ValueError(f"watch.observations {obs.name}: grace needs action: investigate")
    checks = {name: Limits.read(c) for name, c in (cfg.get("checks") or {}).items()}
    return WatchSpec(window_s, every_s, observations, checks, cfg.get("deploy"))

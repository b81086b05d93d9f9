"""000 §5.3 "Coverage düşmüş": `mart.coverage_status.overall_coverage` dropped — against what.

The runbook's symptom is a drop, not a floor: each row (league, season, endpoint) is compared
with its own baseline, which is the previous run's value (read from that run's summary.json,
where this check recorded it) or, for rows the previous run did not see, a value the profile
gives. The column's unit is declared (fraction 0–1 or percent 0–100) or detected from the values,
and every value is shown in it, with its percentage beside a fraction. Values are compared, and
kept for the next run, in percent, so a service that changes the unit does not read as a drop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRACTION, PERCENT = "fraction", "percent"
CHECK = "test_coverage_not_dropped"
RECORD_KEY = "coverage_percent"  # where the check keeps each row's value for the next run
NO_BASELINE = ("re-run with the same --report-dir (this run's values become the baseline), or set "
               "database.coverage.baseline_percent or baseline_summary in the profile")


def row_key(league_id: Any, season: Any, endpoint: Any) -> str:
    return f"league {league_id} season {season} {endpoint}"


def detect_unit(values: Iterable[float], declared: str | None) -> tuple[str, str]:
    """The column's unit and how it was known: declared in the profile, or detected.

    Detected as a fraction when no value is over 1 (a percent column where every row is at most
    1 % is a collector that lost its data; the message shows the unit, so either reading shows).
    """
    if declared in (FRACTION, PERCENT):
        return declared, "declared (database.coverage.unit)"
    numbers = list(values)
    top = max(numbers) if numbers else 0.0
    if top <= 1.0:
        return FRACTION, f"detected: no value over 1 (highest {top:g})"
    return PERCENT, f"detected: values up to {top:g}"


def to_percent(value: float, unit: str) -> float:
    return value * 100.0 if unit == FRACTION else value


def shown(value: float, unit: str) -> str:
    """0.425 in a fraction column → '0.425 (42.5 %)'; 42.5 in a percent column → '42.5 %'."""
    if unit == FRACTION:
        return f"{value:.4g} ({value * 100:.4g} %)"
    return f"{value:.4g} %"


def shown_percent(percent: float, unit: str) -> str:
    """A baseline kept in percent, shown in the column's unit."""
    return shown(percent / 100.0 if unit == FRACTION else percent, unit)


@dataclass(frozen=True)
class Baseline:
    """Per-row baselines in percent, a value for rows not in them, and where they came from."""

    rows: Mapping[str, float]
    default_percent: float | None
    source: str

    def of(self, key: str) -> float | None:
        return self.rows.get(key, self.default_percent)

    @property
    def empty(self) -> bool:
        return not self.rows and self.default_percent is None


def previous_run(path: Path, target_name: str) -> tuple[dict[str, float], str]:
    """The rows this check recorded in a previous summary.json of the same target ({} if none)."""
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}, f"no readable previous summary at {path}"
    if not isinstance(summary, dict) or summary.get("target") not in (None, target_name):
        return {}, f"{path} is another target's run"
    for check in summary.get("checks") or []:
        if not isinstance(check, dict) or not str(check.get("id", "")).endswith(f"::{CHECK}"):
            continue
        observed = ((check.get("evidence") or {}).get("observed") or {})
        recorded = observed.get(RECORD_KEY)
        if isinstance(recorded, dict) and recorded:
            rows = {str(k): float(v) for k, v in recorded.items() if isinstance(v, (int, float))}
            when = summary.get("started_at") or "?"
            return rows, f"previous run's summary.json ({path}, {when})"
    return {}, f"{path} holds no {CHECK} values"


def baseline_for(cfg: Mapping[str, Any], previous_summary: Path | None, target_name: str) -> Baseline:
    """The previous run's rows (the profile's baseline_summary, else the report directory's
    summary.json), and the profile's baseline_percent for the rows they lack."""
    path = Path(cfg["baseline_summary"]) if cfg.get("baseline_summary") else previous_summary
    rows, said = previous_run(path, target_name) if path else ({}, "no previous summary.json")
    default = cfg.get("baseline_percent")
    sources = ([said] if rows else []) + (
        [f"database.coverage.baseline_percent={default} (profile)"] if default is not None else [])
    return Baseline(rows, None if default is None else float(default), "; ".join(sources) or said)


def record(current: Mapping[str, float], unit: str,
           dropped: Iterable[Drop] = ()) -> dict[str, dict[str, float]]:
    """This run's values in percent, as the check's evidence: the next run's baseline. A row
    that dropped keeps its baseline, so the next run reports the drop again until it recovers
    (or the profile's baseline_percent / a new report directory says the new level is right)."""
    kept = {d.key: d.before_percent for d in dropped}
    return {RECORD_KEY: {k: round(kept.get(k, to_percent(v, unit)), 4) for k, v in current.items()}}


@dataclass(frozen=True)
class Drop:
    key: str
    before_percent: float
    now: float  # in the column's unit

    def describe(self, unit: str) -> str:
        return f"{self.key} {shown(self.now, unit)}, was {shown_percent(self.before_percent, unit)}"


def drops(current: Mapping[str, float], unit: str, baseline: Baseline, max_drop_points: float) -> list[Drop]:
    """Rows whose value fell more than ``max_drop_points`` percentage points under their baseline,
    the largest fall first."""
    found = []
    for key, value in current.items():
        before = baseline.of(key)
        if before is not None and before - to_percent(value, unit) > max_drop_points:
            found.append(Drop(key, before, value))
    return sorted(found, key=lambda d: to_percent(d.now, unit) - d.before_percent)

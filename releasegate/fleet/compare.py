"""A run beside the previous one: what is new since the last deploy.

Per target: new failures, fixed, still failing, flapping (its outcome turned at each of the last
runs), checks whose latency grew past a factor, and the numbers the runbooks trend (000 §5.3
coverage, counts, 002 §6.2 p95) as they moved. The factor is 002 §6.2's "p95 > 2× baseline";
latencies under ``MIN_MS`` are left out (a 3 ms answer taking 7 ms says nothing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from releasegate.core.errors import ProfileError
from releasegate.fleet.merge import FAILING, read_summary, summary_files, target_summaries

FACTOR = 2.0  # 002 §6.2: p95 > 2× baseline
MIN_MS = 50.0


def past_runs(path: str | Path) -> list[dict[str, Any]]:
    """Every summary.json at ``path`` (a file, or a directory of past runs), oldest first."""
    p = Path(path)
    if p.is_dir():
        files = [f for f in p.rglob("summary.json") if "targets" not in f.relative_to(p).parts[:-1]]
        if not files:
            raise ProfileError(f"--baseline {p}: no summary.json in it")
    else:
        files = summary_files([p])
    runs = [read_summary(f) for f in files]
    runs = [r for r in runs if r.get("verdict") is not None] or runs
    return sorted(runs, key=lambda r: str(r.get("started_at") or ""))


def by_target(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(t.get("target")): t for t in target_summaries(summary)}


def baseline_files(runs: Sequence[Mapping[str, Any]], directory: Path) -> dict[str, Path]:
    """Each target's part of the newest run as its own summary.json, for the checks that judge a
    change against the previous run (000 §5.3's coverage drop) when the profile names no other."""
    if not runs:
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for n, (name, target) in enumerate(by_target(runs[-1]).items()):
        path = directory / f"baseline-{n}.json"
        path.write_text(json.dumps(target, ensure_ascii=False))
        out[name] = path
    return out


def _latency(check: Mapping[str, Any]) -> float | None:
    values = [e["latency_ms"] for e in check.get("evidence", {}).get("requests", [])
              if isinstance(e.get("latency_ms"), (int, float))]
    return float(sum(values)) if values else None


def _numbers(node: Any, prefix: str = "") -> dict[str, float]:
    """Flattened numeric values: {'coverage.percent': 97.5, 'p95_ms': 120}."""
    out: dict[str, float] = {}
    if isinstance(node, Mapping):
        for k, v in node.items():
            out.update(_numbers(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out[prefix] = float(node)
    return out


def _values(target: Mapping[str, Any]) -> dict[str, float]:
    """The numbers a run observed: each check's ``evidence.observed`` and the target's facts."""
    values = {f"facts.{k}": v for k, v in _numbers(target.get("target_facts", {})).items()}
    for check in target.get("checks", []):
        for k, v in _numbers(check.get("evidence", {}).get("observed", {})).items():
            values[f"{check['id']}: {k}"] = v
    return values


def _outcomes(target: Mapping[str, Any] | None) -> dict[str, str]:
    return {c["id"]: c.get("outcome", "") for c in (target or {}).get("checks", [])}


def compare_target(now: Mapping[str, Any], before: Mapping[str, Any] | None,
                   older: Sequence[Mapping[str, Any]] = (), factor: float = FACTOR) -> dict[str, Any]:
    """One target now beside its baseline (``older``: the runs before that, newest first)."""
    cur, prev = _outcomes(now), _outcomes(before)
    failing = {i for i, o in cur.items() if o in FAILING}
    was = {i for i, o in prev.items() if o in FAILING}
    flapping = []
    if older:
        earlier = _outcomes(older[0])
        flapping = sorted(i for i in cur if i in prev and i in earlier
                          and (i in failing) != (i in was) and (i in was) != (earlier[i] in FAILING))
    slower = []
    before_checks = {c["id"]: c for c in (before or {}).get("checks", [])}
    for check in now.get("checks", []):
        after_ms, old = _latency(check), before_checks.get(check["id"])
        before_ms = _latency(old) if old else None
        if after_ms and before_ms and after_ms >= MIN_MS and after_ms > factor * before_ms:
            slower.append({"id": check["id"], "before_ms": round(before_ms, 1),
                           "after_ms": round(after_ms, 1), "factor": round(after_ms / before_ms, 2)})
    old_values, new_values = _values(before or {}), _values(now)
    values = [{"key": k, "before": old_values[k], "after": v} for k, v in new_values.items()
              if k in old_values and old_values[k] != v]
    return {
        "target": now.get("target"),
        "verdict_before": (before or {}).get("verdict"),
        "verdict_now": now.get("verdict"),
        "baseline_started_at": (before or {}).get("started_at"),
        "new_failures": sorted(failing - was),
        "fixed": sorted(i for i in was - failing if cur.get(i) == "passed"),
        "still_failing": sorted(failing & was),
        "flapping": flapping,
        "slower": slower,
        "values": values,
        "new_target": before is None,
    }


def compare(now: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], *, path: str = "",
            factor: float = FACTOR) -> dict[str, Any]:
    """``now`` beside the newest of ``runs`` (oldest first), every target."""
    if not runs:
        raise ProfileError(f"--baseline {path}: no previous run")
    history = [by_target(r) for r in reversed(runs)]  # newest first
    targets = []
    for name, target in by_target(now).items():
        past = [h[name] for h in history if name in h]
        targets.append(compare_target(target, past[0] if past else None, past[1:], factor))
    return {"path": str(path), "baseline_started_at": runs[-1].get("started_at"),
            "factor": factor, "min_ms": MIN_MS, "targets": targets}


KINDS = (("new_failures", "new failure"), ("fixed", "fixed"), ("still_failing", "still failing"),
         ("flapping", "flapping"))


def headline(comparison: Mapping[str, Any]) -> str:
    """'1 new failure, 2 fixed, 0 still failing, 0 flapping, 0 slower past 2×'."""
    total = {k: sum(len(t[k]) for t in comparison["targets"]) for k, _ in KINDS}
    slower = sum(len(t["slower"]) for t in comparison["targets"])
    return (", ".join(f"{total[k]} {label}{'s' if k == 'new_failures' and total[k] != 1 else ''}"
                      for k, label in KINDS)
            + f", {slower} slower past {comparison['factor']:g}×")


def lines(comparison: Mapping[str, Any], limit: int = 20) -> list[str]:
    """The comparison for a terminal or ``releasegate diff``: new failures first."""
    out = [f"compared with {comparison['path']} ({comparison.get('baseline_started_at')}): "
           f"{headline(comparison)}"]
    for t in comparison["targets"]:
        rows: list[str] = []
        if t["new_target"]:
            rows.append("  not in the baseline")
        for key, label in KINDS:
            rows += [f"  {label.upper()}: {i}" for i in t[key][:limit]]
        rows += [f"  SLOWER {s['factor']:g}×: {s['id']} ({s['before_ms']:g} → {s['after_ms']:g} ms)"
                 for s in t["slower"][:limit]]
        rows += [f"  VALUE {v['key']}: {v['before']:g} → {v['after']:g}" for v in t["values"][:limit]]
        if rows or t["verdict_before"] != t["verdict_now"]:
            out.append(f"{t['target']}: {t['verdict_before']} → {t['verdict_now']}")
            out += rows
    return out

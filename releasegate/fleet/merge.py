"""Many targets' summary.json files → one fleet summary: a matrix, a verdict per target, per
wave and for the fleet.

The fleet run and ``releasegate merge`` both end here, so merging the summaries of runs made
elsewhere (one CI job per target or wave) gives the same fleet summary as one fleet run.

The policy (stated in every fleet summary as ``policy``):
- any target ROLLBACK → ROLLBACK (the readiness exit code 1 before the blocker's 2);
- else any target INVESTIGATE, NOT CHECKED (nothing on it answered) or NO VERDICT (its run did
  not reach one) → INVESTIGATE: a target not verified is not a GO;
- else GO.
With waves, each wave is decided by the same rule and the reason names the first wave, in
rollout order, that is not GO.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from releasegate.core.errors import ProfileError
from releasegate.core.evidence import excerpt

POLICY = ("any ROLLBACK → ROLLBACK; else any INVESTIGATE, NOT CHECKED or NO VERDICT → INVESTIGATE; "
          "else GO — per wave when waves are named, the fleet takes the worst wave")
FAILING = frozenset({"failed", "error"})
# worst first: what a matrix cell shows when an area's checks differ
CELL_ORDER = ("failed", "error", "inconclusive", "waived", "passed", "skipped")
NOT_CHECKED = "NOT CHECKED"
RUNNER_REACHED_NOTHING = 68  # a run's exit code when no host of its target was reached
NO_VERDICT = "NO VERDICT"


def read_summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{path}: not a releasegate summary.json ({exc})") from None
    if not isinstance(data, dict) or not ("checks" in data or "targets" in data):
        raise ProfileError(f"{path}: not a releasegate summary.json (no checks, no targets)")
    return data


def summary_files(paths: Iterable[str | Path]) -> list[Path]:
    """summary.json files from arguments: a file, or a directory holding one (DIR/summary.json)
    or one per run below it (DIR/*/summary.json, as a CI artifact download leaves them)."""
    found: list[Path] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            inner = [path / "summary.json"] if (path / "summary.json").is_file() \
                else sorted(path.glob("*/summary.json"))
            if not inner:
                raise ProfileError(f"{path}: no summary.json in it or in its sub-directories")
            found += inner
        elif path.is_file():
            found.append(path)
        else:
            raise ProfileError(f"{path} does not exist")
    return found


def target_summaries(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The one-target summaries inside a summary: itself, or a fleet summary's targets."""
    if "targets" in summary and "checks" not in summary:
        return [dict(t) for t in summary["targets"]]
    return [dict(summary)]


def unreachable(summary: Mapping[str, Any]) -> bool:
    """Nothing on the target answered: every exchange of the run got no answer at all."""
    exchanges = [e for c in summary.get("checks", []) for e in c.get("evidence", {}).get("requests", [])]
    return bool(exchanges) and all(e.get("unreachable") for e in exchanges)


def fleet_verdict_of(summary: Mapping[str, Any]) -> tuple[str, int]:
    """The verdict a target counts with in the fleet, and its exit code."""
    if summary.get("verdict") is None:  # 68: the runner reached none of its hosts (DNS, route)
        return (NOT_CHECKED if summary.get("exit_code") == RUNNER_REACHED_NOTHING else NO_VERDICT), 4
    if unreachable(summary):
        return NOT_CHECKED, 4
    return str(summary["verdict"]), int(summary["exit_code"])


def matrix_row(summary: Mapping[str, Any], not_checked: bool = False) -> dict[str, dict[str, Any]]:
    """area → the worst outcome of its checks, how many had it, and the first such check; every
    cell "not_checked" when nothing on the target answered (its checks judged nothing)."""
    row: dict[str, dict[str, Any]] = {}
    deciding = summary.get("deciding_check")
    for check in summary.get("checks", []):
        area, outcome = check.get("area", "?"), check.get("outcome", "passed")
        cell = row.get(area)
        rank = CELL_ORDER.index(outcome) if outcome in CELL_ORDER else 0
        if cell is None or rank < CELL_ORDER.index(cell["outcome"]):
            total = cell["total"] if cell else 0
            row[area] = {"outcome": outcome, "count": 1, "check": check["id"], "total": total}
        elif outcome == cell["outcome"]:
            cell["count"] += 1
            if check["id"] == deciding:
                cell["check"] = deciding
        row[area]["total"] += 1
    if not_checked:
        for cell in row.values():
            cell.update(outcome="not_checked", count=cell["total"])
    return row


def _worst(verdicts: Sequence[tuple[str, int]]) -> tuple[str, int]:
    rollback = sorted(code for v, code in verdicts if v == "ROLLBACK")
    if rollback:
        return "ROLLBACK", rollback[0]
    if any(v != "GO" for v, _ in verdicts):
        return "INVESTIGATE", min((c for v, c in verdicts if v != "GO" and c in (3, 4)), default=4)
    return "GO", 0


def _why(entries: Sequence[Mapping[str, Any]]) -> str:
    """'prod-eu ROLLBACK: readiness failed — …; prod-us NOT CHECKED: could not reach …'."""
    bad = [e for e in entries if e["fleet_verdict"] != "GO"]
    if not bad:
        return f"all {len(entries)} target{'s' if len(entries) != 1 else ''} GO"
    rank = {"ROLLBACK": 0, "INVESTIGATE": 1, NOT_CHECKED: 2, NO_VERDICT: 3}
    bad.sort(key=lambda e: rank.get(e["fleet_verdict"], 4))
    parts = [f"{e['target']} {e['fleet_verdict']}: {excerpt(str(e.get('reason') or ''), 200)}"
             for e in bad]
    return f"{len(bad)} of {len(entries)} targets not GO — " + "; ".join(parts)


def merge(summaries: Iterable[Mapping[str, Any]], *, name: str = "fleet",
          waves: Mapping[str, str | None] | None = None, wave_order: Sequence[str] = (),
          started_at: str | None = None, duration_s: float | None = None) -> dict[str, Any]:
    """One fleet summary from one-target (or fleet) summaries; ``waves`` maps a target to its
    wave where the summaries do not say."""
    entries: list[dict[str, Any]] = []
    for s in summaries:
        entries += target_summaries(s)
    if not entries:
        raise ProfileError("no summaries to merge")
    seen: set[str] = set()
    for e in entries:
        name_ = str(e.get("target"))
        if name_ in seen:
            raise ProfileError(f"two summaries for target {name_!r}: merge one run per target")
        seen.add(name_)
        if waves and waves.get(name_):
            e["wave"] = waves[name_]
        e.setdefault("wave", None)
        e["fleet_verdict"], e["fleet_exit_code"] = fleet_verdict_of(e)
    order = list(wave_order) + sorted({e["wave"] for e in entries if e["wave"]} - set(wave_order))
    wave_rows = []
    for wave in order:
        members = [e for e in entries if e["wave"] == wave]
        if members:
            verdict, code = _worst([(e["fleet_verdict"], e["fleet_exit_code"]) for e in members])
            wave_rows.append({"name": wave, "verdict": verdict, "exit_code": code,
                              "targets": [e["target"] for e in members], "reason": _why(members)})
    verdict, code = _worst([(e["fleet_verdict"], e["fleet_exit_code"]) for e in entries])
    first_bad = next((w for w in wave_rows if w["verdict"] != "GO"), None)
    reason = (f"wave {first_bad['name']}: {first_bad['verdict']} — {first_bad['reason']}"
              if first_bad else _why(entries))
    areas: list[str] = []
    for c in (c for e in entries for c in e.get("checks", [])):
        if c.get("area", "?") not in areas:
            areas.append(c.get("area", "?"))
    when = started_at or min((str(e.get("started_at") or "") for e in entries), default="") or \
        datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {
        "fleet": name,
        "verdict": verdict,
        "exit_code": code,
        "reason": reason,
        "policy": POLICY,
        "started_at": when,
        "duration_s": duration_s if duration_s is not None else
        max((float(e.get("duration_s") or 0) for e in entries), default=0.0),
        "suite_version": next((e.get("suite_version") for e in entries), None),
        "counts": {v: sum(1 for e in entries if e["fleet_verdict"] == v)
                   for v in ("GO", "INVESTIGATE", "ROLLBACK", NOT_CHECKED, NO_VERDICT)},
        "waves": wave_rows,
        "areas": areas,
        "matrix": {e["target"]: matrix_row(e, e["fleet_verdict"] == NOT_CHECKED) for e in entries},
        "targets": entries,
    }

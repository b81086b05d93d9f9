"""History without a server: a directory of past summaries drawn as one HTML page of inline SVG —
per target, its verdict in each run (a strip of squares, oldest left) and the values a release
manager trends (checks failed, checks passed, run time) as small line charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from releasegate.fleet.merge import fleet_verdict_of, target_summaries

COLOURS = {"GO": "#1a7f37", "ROLLBACK": "#a40e26", "INVESTIGATE": "#d4a72c",
           "NOT CHECKED": "#8c959f", "NO VERDICT": "#6e7781"}
CELL = 16
SERIES = (("failed", lambda t: (t.get("counts") or {}).get("blockers_failed", 0)
           + (t.get("counts") or {}).get("warnings_failed", 0)),
          ("passed", lambda t: (t.get("counts") or {}).get("passed", 0)),
          ("run time s", lambda t: float(t.get("duration_s") or 0)))


def _strip(points: Sequence[Mapping[str, Any] | None], when: Sequence[str]) -> str:
    rects = []
    for i, t in enumerate(points):
        verdict = fleet_verdict_of(t)[0] if t is not None else "absent"
        fill = COLOURS.get(verdict, "#ffffff")
        rects.append(f'<rect x="{i * (CELL + 2)}" y="0" width="{CELL}" height="{CELL}" fill="{fill}" '
                     f'stroke="#d0d7de" data-verdict="{escape(verdict)}"><title>{escape(when[i])}: '
                     f"{escape(verdict)}</title></rect>")
    width = max(len(points) * (CELL + 2), CELL)
    return (f'<svg class="rg-strip" width="{width}" height="{CELL}" role="img" '
            f'aria-label="verdicts, oldest first">{"".join(rects)}</svg>')


def _line(values: Sequence[float | None], label: str) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return ""
    top, width, height = max(known) or 1.0, max(len(values) * (CELL + 2), CELL), 28
    pts = [f"{i * (CELL + 2) + CELL / 2:.0f},{height - 2 - (v / top) * (height - 4):.1f}"
           for i, v in enumerate(values) if v is not None]
    return (f'<svg class="rg-line" width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{" ".join(pts)}"/>'
            f"<title>{escape(label)}: {', '.join(f'{v:g}' if v is not None else '-' for v in values)}"
            f"</title></svg> <small>{escape(label)} (last {known[-1]:g}, max {top:g})</small>")


def history_html(runs: Sequence[Mapping[str, Any]]) -> str:
    """``runs`` oldest first (one-target or fleet summaries)."""
    per_run = [{str(t.get("target")): t for t in target_summaries(r)} for r in runs]
    when = [str(r.get("started_at") or "?") for r in runs]
    names: list[str] = []
    for run in per_run:
        names += [n for n in run if n not in names]
    rows = []
    for name in names:
        points = [run.get(name) for run in per_run]
        charts = "<br/>".join(c for label, value in SERIES
                              if (c := _line([value(p) if p else None for p in points], label)))
        rows.append(f'<tr data-target="{escape(name)}"><th>{escape(name)}</th>'
                    f"<td>{_strip(points, when)}</td><td>{charts}</td></tr>")
    legend = " ".join(f'<span style="color:{c}">■</span> {escape(v)}' for v, c in COLOURS.items())
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"/><title>releasegate history</title>"
            "<style>body{font:14px system-ui,sans-serif}td,th{padding:4px 10px;text-align:left;"
            "vertical-align:top;border-bottom:1px solid #d0d7de}</style></head><body>"
            f"<h1>releasegate: the last {len(runs)} runs</h1><p>{when[0] if when else ''} … "
            f"{when[-1] if when else ''} · {legend}</p>"
            f'<table id="rg-history"><tr><th>target</th><th>verdicts, oldest first</th>'
            f"<th>values</th></tr>{''.join(rows)}</table></body></html>\n")

"""The window's report: one chart per observation and one timeline strip per check, as inline
SVG (no script, no network), rewritten after every cycle so it can stay open in a browser.

Each chart draws the series over time, its threshold or band (or, for "does not rise", the
first sample plus the tolerance), and marks the samples that failed in red (class ``failed``,
``data-cycle`` the cycle) — the report's own "why did it fail?" (kayenta#521, flagger#1815).
"""

from __future__ import annotations

import html
import math
from typing import Any

from releasegate.watch.judge import ERROR, FAILED, INCONCLUSIVE, Tracker
from releasegate.watch.spec import show_s
from releasegate.watch.window import WindowState, limits_text

W, H, PAD, RIGHT = 640, 160, 36, 80  # RIGHT: room for the threshold labels
COLOURS = {"Successful": "#2e7d32", FAILED: "#c62828", INCONCLUSIVE: "#9e9e9e", ERROR: "#ef6c00"}
BADGE = {"GO": "#2e7d32", "ROLLBACK": "#c62828", "INVESTIGATE": "#ef6c00", "INCONCLUSIVE": "#757575"}
e = html.escape


def _lines(tracker: Tracker) -> list[tuple[str, float]]:
    """The threshold lines to draw: (label, value)."""
    a = tracker.assertion
    if a is None:
        return []
    out = []
    if a.low is not None:
        out.append(("low" if a.kind == "within" else "above", a.low))
    if a.high is not None:
        out.append(("high" if a.kind == "within" else "below", a.high))
    if a.kind == "not_rises" and tracker.first is not None:
        out.append(("first+tol", tracker.first + a.tolerance))
    return out


def chart(tracker: Tracker, window_s: float, cache: dict[str, Any] | None = None) -> str:
    """An SVG line chart of the tracker's points with its limits and failed samples marked.

    ``cache`` (kept by the writer between cycles) holds each point's drawing: while the scale
    stays the same, a cycle draws only its new point, not the whole window again."""
    points = [p for p in tracker.points if p.value is not None and not math.isnan(p.value)]
    limits = _lines(tracker)
    values = [p.value for p in points] + [v for _, v in limits]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)  # type: ignore[type-var]
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    span = max(window_s, max((p.t for p in tracker.points), default=0.0), 1e-9)

    def x(t: float) -> float:
        return round(PAD + (W - PAD - RIGHT) * t / span, 1)

    def y(v: float) -> float:
        return round(H - PAD / 2 - (H - PAD) * (v - lo) / (hi - lo), 1)

    key = (lo, hi, span, tracker.thinned, tracker.points[0].cycle if tracker.points else None)
    entry = (cache or {}).get(tracker.name)
    if entry is None or entry["key"] != key:
        entry = {"key": key, "drawn": 0, "coords": [], "marks": []}
    for p in tracker.points[entry["drawn"]:]:
        entry["marks"].append(_mark(p, x, y))
        if p.value is not None and not math.isnan(p.value):
            entry["coords"].append(f"{x(p.t)},{y(p.value)}")
    entry["drawn"] = len(tracker.points)
    if cache is not None:
        cache[tracker.name] = entry
    parts = [f'<svg class="chart" data-name="{e(tracker.name)}" viewBox="0 0 {W} {H}" '
             f'width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg" role="img" '
             f'aria-label="{e(tracker.name)} over the window">',
             f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fafafa"/>',
             f'<text x="4" y="{y(hi) + 4}" font-size="10">{hi:g}</text>',
             f'<text x="4" y="{y(lo) + 4}" font-size="10">{lo:g}</text>',
             f'<text x="{PAD}" y="{H - 2}" font-size="9">+0s</text>',
             f'<text x="{W - RIGHT}" y="{H - 2}" font-size="9" text-anchor="end">'
             f'+{show_s(round(span, 3))}</text>']
    a = tracker.assertion
    if a is not None and a.kind == "within" and a.low is not None and a.high is not None:
        parts.append(f'<rect class="band" x="{PAD}" y="{y(a.high)}" width="{W - PAD - RIGHT}" '
                     f'height="{round(y(a.low) - y(a.high), 1)}" fill="#e8f5e9"/>')
    for label, value in limits:
        parts.append(f'<line class="threshold" data-value="{value:g}" x1="{PAD}" x2="{W - RIGHT}" '
                     f'y1="{y(value)}" y2="{y(value)}" stroke="#c62828" stroke-dasharray="4 3"/>'
                     f'<text x="{W - RIGHT + 2}" y="{y(value) + 3}" font-size="9">{e(label)} {value:g}'
                     '</text>')
    if entry["coords"]:
        parts.append(f'<polyline class="series" points="{" ".join(entry["coords"])}" fill="none" '
                     'stroke="#1565c0" stroke-width="1.5"/>')
    parts.extend(entry["marks"])
    parts.append("</svg>")
    return "".join(parts)


def _mark(p: Any, x: Any, y: Any) -> str:
    """One sample on a chart: a dot (red and larger when it failed), a dashed line when it had
    no value."""
    if p.value is None or math.isnan(p.value):
        return (f'<line class="sample {p.phase.lower()}" data-cycle="{p.cycle}" '
                f'x1="{x(p.t)}" x2="{x(p.t)}" y1="{PAD / 2}" y2="{H - PAD / 2}" '
                f'stroke="{COLOURS[p.phase]}" stroke-dasharray="2 2"><title>cycle '
                f'{p.cycle}: {e(p.reason)}</title></line>')
    if p.phase == "Successful":  # most points: no tooltip, to keep a day's report small
        return (f'<circle class="sample successful" data-cycle="{p.cycle}" cx="{x(p.t)}" '
                f'cy="{y(p.value)}" r="2" fill="{COLOURS[p.phase]}"/>')
    return (f'<circle class="sample {p.phase.lower()}" data-cycle="{p.cycle}" '
            f'data-value="{p.value:g}" cx="{x(p.t)}" cy="{y(p.value)}" r="4" '
            f'fill="{COLOURS[p.phase]}"><title>cycle {p.cycle} at {show_s(round(p.t, 2))}: '
            f'{p.value:g}{" — " + e(p.reason) if p.reason else ""}</title></circle>')


def strip(tracker: Tracker, slots: int, cache: dict[str, Any] | None = None) -> str:
    """A timeline strip: one cell per cycle, coloured by the check's outcome (cells cached as
    the chart's points are)."""
    cell = min(16.0, (W - 2 * PAD) / max(slots, 1))
    width = round(max(cell * 0.85, 0.5), 2)
    key = (slots, tracker.thinned, tracker.points[0].cycle if tracker.points else None)
    entry = (cache or {}).get(tracker.name)
    if entry is None or entry["key"] != key:
        entry = {"key": key, "drawn": 0, "cells": []}
    for p in tracker.points[entry["drawn"]:]:
        tip = "" if p.phase == "Successful" else \
            f'<title>cycle {p.cycle}: {p.phase}{" — " + e(p.reason) if p.reason else ""}</title>'
        entry["cells"].append(f'<rect class="cycle {p.phase.lower()}" data-cycle="{p.cycle}" '
                              f'x="{round(PAD + p.cycle * cell, 2)}" y="2" width="{width:g}" '
                              f'height="14" fill="{COLOURS[p.phase]}">{tip}</rect>')
    entry["drawn"] = len(tracker.points)
    if cache is not None:
        cache[tracker.name] = entry
    return (f'<svg class="strip" data-name="{e(tracker.name)}" width="{W}" height="18" '
            'xmlns="http://www.w3.org/2000/svg">' + "".join(entry["cells"]) + "</svg>")


def verdict_line(st: WindowState) -> str:
    """'ROLLBACK — error_5xx at cycle 4: …' (the step summary and the terminal say the same)."""
    by = st.decided_by or {}
    where = f"{by['name']} at cycle {by['cycle']}" if by.get("name") and "cycle" in by else \
        (by.get("name") or "")
    state = "" if st.complete else (" (window incomplete)" if not st.stopped_early else
                                    " (stopped early)")
    return f"{st.decision or 'RUNNING'}{state}" + (f" — {where}" if where else "") + \
        (f": {by['reason']}" if by.get("reason") else "")


def html_report(st: WindowState, *, final: bool, cache: dict[str, Any] | None = None) -> str:
    refresh = "" if final else f'<meta http-equiv="refresh" content="{max(2, round(st.every_s))}">'
    colour = BADGE.get(st.decision or "", "#1565c0")
    progress = f"{st.cycles_done} of {st.slots} cycles, every {show_s(st.every_s)} over {show_s(st.window_s)}"
    extra = []
    if st.missed:
        extra.append(f"{st.missed} slots skipped (a cycle, a pause or a kill outlasted the interval)")
    if st.resumed:
        extra.append(f"resumed {st.resumed}×")
    if st.thinned_cycles:
        extra.append(f"{st.thinned_cycles} older cycles thinned in this report (cycles.jsonl has all)")
    out = [f"<!doctype html><html><head><meta charset='utf-8'>{refresh}<title>releasegate watch "
           f"{e(st.target)}</title><style>body{{font:14px system-ui,sans-serif;margin:1.5em}}"
           ".badge{color:#fff;padding:.2em .6em;border-radius:4px}section{margin:1em 0}"
           "small{color:#555}</style></head><body>",
           f"<h1>releasegate watch — {e(st.target)}</h1>",
           f'<p id="decision" data-decision="{e(st.decision or "RUNNING")}"><span class="badge" '
           f'style="background:{colour}">{e(st.decision or "RUNNING")}</span> '
           f"{e(verdict_line(st))}</p>",
           f"<p><small>{e(progress)}{'; ' + e('; '.join(extra)) if extra else ''}"
           f"{'' if final else ' — this page reloads itself while the watch runs'}</small></p>"]
    if st.deploy:
        out.append(f"<p id='deploy'>Deploy: {e(str(st.deploy.get('summary', '')))}</p>")
    out.append("<h2>Observations</h2>")
    for name, tracker in st.trackers.items():
        kind = st.kinds.get(name, {})
        if kind.get("kind") != "observation":
            continue
        decision, reason = tracker.final(st.complete)
        out.append(f'<section class="observation" data-name="{e(name)}" data-decision="{decision}">'
                   f"<h3>{e(name)} <small>{e(kind.get('source', ''))} — {e(kind.get('assert', ''))}"
                   f"{' — ' + e(kind['runbook']) if kind.get('runbook') else ''}</small></h3>"
                   f"{chart(tracker, st.window_s, cache)}<p>{e(decision)}{': ' + e(reason) if reason else ''}"
                   f"<br><small>{_counts(tracker)}; {e(limits_text(tracker.limits))}</small></p>"
                   "</section>")
    out.append("<h2>Checks</h2>")
    for name, tracker in st.trackers.items():
        kind = st.kinds.get(name, {})
        if kind.get("kind") != "check":
            continue
        decision, reason = tracker.final(st.complete)
        out.append(f'<section class="check" data-name="{e(name)}" data-decision="{decision}">'
                   f"<h3>{e(name)} <small>{e(kind.get('runbook', ''))}</small></h3>"
                   f"{strip(tracker, st.slots, cache)}<p>{e(decision)}{': ' + e(reason) if reason else ''}"
                   f"<br><small>{_counts(tracker)}; {e(limits_text(tracker.limits))}</small></p>"
                   "</section>")
    out.append("</body></html>\n")
    return "".join(out)


def _counts(t: Tracker) -> str:
    return (f"{t.successful} successful, {t.failed} failed, {t.inconclusive} without data, "
            f"{t.errors} errors")


def step_summary(st: WindowState) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: the decision and one line per chart's verdict."""
    rows = ["| series | kind | verdict | why |", "|---|---|---|---|"]
    for name, tracker in st.trackers.items():
        decision, reason = tracker.final(st.complete)
        kind = st.kinds.get(name, {}).get("kind", "")
        rows.append(f"| {name} | {kind} | {decision} | {reason.replace('|', '/') or '—'} |")
    return (f"### releasegate watch — {st.target}: {verdict_line(st)}\n\n"
            f"{st.cycles_done} of {st.slots} cycles, every {show_s(st.every_s)} over "
            f"{show_s(st.window_s)}\n\n" + "\n".join(rows) + "\n")

"""Writers for what a run leaves behind: summary.json, the checklist (HTML and markdown).

pytest-html draws the report itself; this module supplies the checklist view and verdict banner
that go at its top, and the same checklist as markdown for $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from itertools import groupby
from pathlib import Path
from typing import Any

from releasegate.results import AREA_TITLES, AREAS, CheckResult
from releasegate.verdict import Decision

MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "N/A",
        "inconclusive": "INCONCLUSIVE"}
ICON = {"passed": "✅", "failed": "❌", "error": "❌", "skipped": "➖", "inconclusive": "❔"}
BANNER_COLOUR = {"GO": "#1a7f37", "INVESTIGATE": "#9a6700", "ROLLBACK": "#cf222e"}


def _ordered(results: Iterable[CheckResult]) -> list[CheckResult]:
    rank = {a: i for i, a in enumerate(AREAS)}
    return sorted(results, key=lambda r: (rank.get(r.meta.area, 99), _section_key(r.meta.runbook)))


def _section_key(runbook: str) -> tuple[Any, ...]:
    """'001 §6.1' sorts before '001 §6.10' and '002 §2.1'."""
    parts: list[Any] = []
    for token in runbook.replace("§", " ").replace(".", " ").split():
        parts.append((0, int(token), "") if token.isdigit() else (1, 0, token))
    return tuple(parts)


def write_summary(path: Path, header: Mapping[str, Any], decision: Decision,
                  results: Iterable[CheckResult]) -> dict[str, Any]:
    """summary.json exactly as DESIGN shows, plus the reason for the verdict."""
    summary = {
        "target": header["target"],
        "verdict": decision.verdict,
        "exit_code": int(decision.exit_code),
        "reason": decision.reason,
        "started_at": header["started_at"],
        "duration_s": header["duration_s"],
        "suite_version": header["suite_version"],
        "target_facts": header.get("facts", {}),
        "checks": [r.as_summary() for r in _ordered(results)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def _md(text: str, limit: int | None = None) -> str:
    """Target-supplied text inside the markdown: one line, no table breaks, no live HTML."""
    text = " ".join(str(text).split())[:limit]
    return escape(text, quote=False).replace("|", "\\|")


def checklist_markdown(header: Mapping[str, Any], decision: Decision,
                       results: Iterable[CheckResult]) -> str:
    """The checklist for a GitHub job summary: verdict first, then one line per check."""
    lines = [f"## releasegate: {decision.verdict} — {_md(header['target'])}", "",
             f"**{_md(decision.reason)}** (exit {int(decision.exit_code)})", ""]
    for area, group in groupby(_ordered(results), key=lambda r: r.meta.area):
        lines += [f"### {AREA_TITLES.get(area, area)}", "",
                  "| | check | runbook | severity | detail |", "|---|---|---|---|---|"]
        for r in group:
            lines.append(f"| {ICON[r.outcome]} | {_md(r.meta.item)} | {_md(r.meta.runbook)} | "
                         f"{_md(r.meta.severity)} | {_md(r.message, 200)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def verdict_banner_html(header: Mapping[str, Any], decision: Decision) -> str:
    colour = BANNER_COLOUR[decision.verdict]
    facts = "".join(f"<li><b>{escape(str(k))}</b>: {escape(str(v))}</li>"
                    for k, v in header.get("facts_display", {}).items())
    return (
        f'<div class="rg-verdict" style="border-left:8px solid {colour};padding:8px 16px;'
        f'margin:12px 0;background:#f6f8fa">'
        f'<h2 style="color:{colour};margin:4px 0">Verdict: {escape(decision.verdict)} '
        f'(exit {int(decision.exit_code)})</h2>'
        f"<p>{escape(decision.reason)}</p><ul>{facts}</ul></div>"
    )


def checklist_html(results: Iterable[CheckResult]) -> str:
    """The checklist view: areas, then runbook sections, then one line per check."""
    out = ['<div class="rg-checklist"><h2>Checklist</h2>',
           "<style>.rg-checklist td{padding:2px 8px;vertical-align:top}"
           ".rg-passed{color:#1a7f37}.rg-failed,.rg-error{color:#cf222e;font-weight:bold}"
           ".rg-skipped{color:#6e7781}</style>"]
    for area, by_area in groupby(_ordered(results), key=lambda r: r.meta.area):
        out.append(f"<h3>{escape(AREA_TITLES.get(area, area))}</h3>")
        for section, by_section in groupby(by_area, key=lambda r: r.meta.runbook):
            out.append(f"<h4>Runbook {escape(section)}</h4><table>")
            for r in by_section:
                out.append(
                    f'<tr><td class="rg-{r.outcome}">{MARK[r.outcome]}</td>'
                    f"<td>{escape(r.meta.item)}</td><td>{escape(r.meta.severity)}</td>"
                    f"<td>{escape(r.message)}</td></tr>"
                )
            out.append("</table>")
    out.append("</div>")
    return "".join(out)

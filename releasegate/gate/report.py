"""Writers for what a run leaves behind: summary.json, the release view (HTML), the job summary.

pytest-html draws the technical report; ``release_view_html`` is the part a release manager acts
on and goes above everything else in report.html: the verdict with its counts and the serving
build, then the failures grouped under their root cause (each expanding to its evidence and a
command that reproduces it), then passes, then what was not applicable. ``checklist_markdown``
says the same for $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from itertools import groupby
from pathlib import Path
from typing import Any

from releasegate.core.evidence import excerpt
from releasegate.gate.results import AREA_TITLES, AREAS, OUTCOME_LABEL, CheckResult
from releasegate.gate.verdict import Decision

ICON = {"passed": "✅", "failed": "❌", "error": "❌", "skipped": "➖", "inconclusive": "❔",
        "waived": "🟨"}
COUNT_LABELS = (("blockers_failed", "blockers failed"), ("warnings_failed", "warnings failed"),
                ("inconclusive", "inconclusive"), ("passed", "passed"),
                ("not_applicable", "N/A"), ("waived", "waived"))


def counts_text(counts: Mapping[str, int]) -> str:
    """'2 blockers failed · 1 warning failed · 0 inconclusive · 20 passed · 3 N/A · 0 waived'."""
    parts = []
    for key, label in COUNT_LABELS:
        n = counts.get(key, 0)
        parts.append(f"{n} {label.replace('blockers', 'blocker').replace('warnings', 'warning')}"
                     if n == 1 else f"{n} {label}")
    return " · ".join(parts)


def _ordered(results: Iterable[CheckResult]) -> list[CheckResult]:
    rank = {a: i for i, a in enumerate(AREAS)}
    return sorted(results, key=lambda r: (rank.get(r.meta.area, 99), _section_key(r.meta.runbook)))


def _section_key(runbook: str) -> tuple[Any, ...]:
    """'001 §6.1' sorts before '001 §6.10' and '002 §2.1'."""
    parts: list[Any] = []
    for token in runbook.replace("§", " ").replace(".", " ").split():
        parts.append((0, int(token), "") if token.isdigit() else (1, 0, token))
    return tuple(parts)


def failure_groups(results: Sequence[CheckResult], decision: Decision
                   ) -> list[tuple[CheckResult, list[CheckResult]]]:
    """Failures as (root, followers), the deciding check's group first, then by severity."""
    failed = [r for r in results if r.failed]
    followers: dict[str, list[CheckResult]] = {}
    for r in failed:
        if r.follows:
            followers.setdefault(r.follows, []).append(r)
    roots = [r for r in failed if not r.follows or r.follows not in {f.id for f in failed}]

    def weight(r: CheckResult) -> tuple[int, int, int]:
        deciding = 0 if decision.deciding in {r.id, *(f.id for f in followers.get(r.id, []))} else 1
        gate = 0 if r.meta.gate == "readiness" else 1
        return (deciding, 0 if r.meta.severity == "blocker" else 1, gate)

    return [(r, followers.get(r.id, [])) for r in sorted(roots, key=weight)]


# --- summary.json --------------------------------------------------------------------------------


def write_summary(path: Path, header: Mapping[str, Any], decision: Decision,
                  results: Iterable[CheckResult]) -> dict[str, Any]:
    """summary.json as DESIGN shows, plus the reason, counts and deciding check of the verdict."""
    results = list(results)
    summary = {
        "target": header["target"],
        "verdict": decision.verdict,
        "exit_code": int(decision.exit_code),
        "reason": decision.reason,
        "deciding_check": decision.deciding,
        "counts": decision.counts,
        "started_at": header["started_at"],
        "duration_s": header["duration_s"],
        "suite_version": header["suite_version"],
        "target_facts": header.get("facts", {}),
        "notes": list(header.get("notes", [])),
        "checks": [r.as_summary() for r in _ordered(results)],
    }
    _write_json(path, summary)
    return summary


def not_started_summary(target: str | None, reason: str, exit_code: int, started_at: str,
                        duration_s: float, suite_version: str) -> dict[str, Any]:
    """summary.json of a run that reached no verdict: it could not start, or was interrupted."""
    return {"target": target, "verdict": None, "exit_code": exit_code, "reason": reason,
            "deciding_check": None, "counts": {}, "started_at": started_at,
            "duration_s": duration_s, "suite_version": suite_version, "target_facts": {},
            "notes": [], "checks": []}


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# --- GitHub job summary (markdown) ---------------------------------------------------------------


def _md(text: Any, limit: int | None = None) -> str:
    """Target-supplied text inside the markdown: one line, no table breaks, no live HTML, cut at a
    word boundary when long."""
    text = " ".join(str(text).split())
    if limit:
        text = excerpt(text, limit)
    return escape(text, quote=False).replace("|", "\\|")


def checklist_markdown(header: Mapping[str, Any], decision: Decision,
                       results: Iterable[CheckResult]) -> str:
    """The job summary: verdict, counts and facts first; failures with their remedies; passes
    folded away."""
    results = _ordered(results)
    facts = header.get("facts", {})
    lines = [f"## releasegate: {decision.verdict} (exit {int(decision.exit_code)}) — "
             f"{_md(header['target'])}", "",
             f"**{_md(decision.reason, 600)}**", "", counts_text(decision.counts), ""]
    about = [("build_id", facts.get("build_id")), ("config_hash", facts.get("config_hash")),
             ("host", ", ".join(header.get("hosts", []))), ("started", header.get("started_at")),
             ("duration", f"{header.get('duration_s', 0)} s"), ("run", header.get("run_url"))]
    lines += [" · ".join(f"{k}: `{_md(v)}`" if k != "run" else f"[CI run]({v})"
                         for k, v in about if v), ""]
    groups = failure_groups(results, decision)
    if groups:
        lines += ["### Failures", "", "| | check | severity | reason | what to do |",
                  "|---|---|---|---|---|"]
        for root, followers in groups:
            for r in (root, *followers):
                mark = "⮑ " if r.follows else ""
                lines.append(f"| {ICON[r.outcome]} | {mark}{_md(r.meta.item)} ({_md(r.meta.runbook)}) | "
                             f"{r.meta.severity} | {_md(r.message, 400)} | {_md(r.what_to_do or '', 300)} |")
        lines.append("")
    for outcome, title in (("inconclusive", "Inconclusive"), ("waived", "Waived")):
        chosen = [r for r in results if r.outcome == outcome]
        if chosen:
            lines += [f"### {title}", ""]
            lines += [f"- {ICON[outcome]} {_md(r.meta.item)} ({_md(r.meta.runbook)}): {_md(r.message, 400)}"
                      for r in chosen]
            lines.append("")
    for note in header.get("notes", []):
        lines.append(f"> {_md(note, 400)}")
    passed = [r for r in results if r.outcome == "passed"]
    skipped = [r for r in results if r.outcome == "skipped"]
    for chosen, title in ((passed, "Passed"), (skipped, "Not applicable")):
        if chosen:
            lines += ["", f"<details><summary>{title} ({len(chosen)})</summary>", ""]
            lines += [f"- {ICON[r.outcome]} {_md(r.meta.item)} ({_md(r.meta.runbook)})"
                      + (f": {_md(r.message, 200)}" if r.outcome == "skipped" else "") for r in chosen]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def not_started_markdown(reason: str, exit_code: int) -> str:
    return (f"## releasegate: no verdict (exit {exit_code})\n\n**the run did not reach a verdict: "
            f"{_md(reason, 600)}**\n")


# --- report.html: the release view ---------------------------------------------------------------

STYLE = """
.rg{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;max-width:1200px}
.rg h2{font-size:20px;margin:22px 0 8px}.rg h3{font-size:16px;margin:14px 0 6px;color:#31363c}
.rg-banner{border-radius:8px;padding:16px 20px;margin:8px 0 16px}
.rg-banner.GO{background:#1a7f37;color:#fff}.rg-banner.ROLLBACK{background:#a40e26;color:#fff}
.rg-banner.INVESTIGATE{background:#fff4ce;color:#3b2300;border:2px solid #9a6700}
.rg-banner.NONE{background:#eaeef2;color:#1f2328;border:2px solid #6e7781}
.rg-verdict-word{font-size:34px;font-weight:800;letter-spacing:.5px}
.rg-verdict-word small{font-size:16px;font-weight:600;margin-left:10px;opacity:.9}
.rg-reason{font-size:16px;margin:6px 0 10px}
.rg-counts{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0;padding:0;list-style:none}
.rg-counts li{background:rgba(255,255,255,.92);color:#1f2328;border-radius:6px;padding:4px 10px}
.rg-counts b{font-size:18px}
.rg-facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0 0}
.rg-facts dt{font-weight:600}.rg-facts dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.rg-group{border-left:4px solid #a40e26;padding-left:12px;margin:10px 0 16px}
.rg-group.warning{border-left-color:#9a6700}
.rg-cause{font-weight:600;color:#57606a;margin:4px 0}
.rg-check{border:1px solid #d0d7de;border-radius:6px;margin:6px 0;background:#fff}
.rg-check>summary{cursor:pointer;padding:4px 10px;list-style-position:inside}
.rg-check[open]>summary{border-bottom:1px solid #d0d7de;background:#f6f8fa}
.rg-check.rg-deciding{border:2px solid #a40e26;box-shadow:0 0 0 3px #ffebe9}
.rg-group.warning .rg-check.rg-deciding{border-color:#9a6700;box-shadow:0 0 0 3px #fff4ce}
.rg-badge{display:inline-block;min-width:52px;text-align:center;font-weight:700;font-size:12px;
 border-radius:4px;padding:1px 6px;margin-right:6px}
.rg-b-failed,.rg-b-error{background:#a40e26;color:#fff}.rg-b-passed{background:#1a7f37;color:#fff}
.rg-b-skipped{background:#eaeef2;color:#31363c}
.rg-b-waived{background:#fff4ce;color:#3b2300;border:1px solid #9a6700}
.rg-b-inconclusive{background:#ddf4ff;color:#0a3069;border:1px solid #0969da}
.rg-sev{font-size:12px;font-weight:600;color:#57606a;margin-right:6px}
.rg-tag{font-size:12px;background:#a40e26;color:#fff;border-radius:4px;padding:1px 6px;margin-left:6px}
.rg-msg{color:#1f2328}.rg-follows{color:#57606a}
.rg-body{padding:8px 12px}.rg-remedy{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;
 padding:6px 10px;margin:4px 0 8px}
.rg-exchange{border-top:1px dashed #d0d7de;padding:6px 0}.rg-exchange:first-child{border-top:0}
.rg-req{font-family:ui-monospace,monospace;font-weight:600;word-break:break-all}
.rg-status{font-weight:700}.rg-kv{border-collapse:collapse;margin:4px 0}
.rg-kv td{border:1px solid #d0d7de;padding:2px 8px;font-family:ui-monospace,monospace;font-size:13px;
 vertical-align:top;word-break:break-all}
.rg pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:6px 8px;margin:4px 0;
 white-space:pre-wrap;word-break:break-word;font-size:13px}
.rg pre.rg-cmd{background:#1f2328;color:#f6f8fa}
.rg-area{margin:6px 0}.rg-list{margin:2px 0 8px 0;padding-left:0;list-style:none}
.rg-list li{padding:2px 0}
.rg-note{border-left:4px solid #9a6700;background:#fff8c5;padding:6px 10px;margin:6px 0}
"""


def _facts_dl(header: Mapping[str, Any]) -> str:
    facts = header.get("facts", {})
    rows = [("target", header.get("target")), ("host", ", ".join(header.get("hosts", []))),
            # unknown: the target did not report it, or no check of this run read /health/ready
            ("serving build_id", facts.get("build_id") or "(unknown)"),
            ("config_hash", facts.get("config_hash") or "(unknown)"),
            ("started", f"{header.get('started_at', '')} · {header.get('duration_s', '')} s"),
            ("suite", header.get("suite_version")), ("provider", header.get("provider")),
            ("mutations", header.get("mutations")), ("CI run", header.get("run_url"))]
    rows += [(k, v) for k, v in facts.items() if k not in ("build_id", "config_hash")]
    cells = "".join(f"<dt>{escape(str(k))}</dt><dd>{escape(str(v))}</dd>" for k, v in rows if v)
    return f'<dl class="rg-facts">{cells}</dl>'


def banner_html(header: Mapping[str, Any], decision: Decision | None, reason: str = "") -> str:
    if decision is None:
        return (f'<div class="rg-banner NONE"><div class="rg-verdict-word">NO VERDICT</div>'
                f'<p class="rg-reason">{escape(reason)}</p>{_facts_dl(header)}</div>')
    counts = "".join(f"<li><b>{decision.counts.get(key, 0)}</b> {label}</li>"
                     for key, label in COUNT_LABELS)
    return (f'<div class="rg-banner {decision.verdict}" id="rg-verdict">'
            f'<div class="rg-verdict-word">{decision.verdict}<small>exit {int(decision.exit_code)}'
            f'</small></div><p class="rg-reason">{escape(excerpt(decision.reason, 420))}</p>'
            f'<ul class="rg-counts">{counts}</ul>{_facts_dl(header)}</div>')


def _kv_table(pairs: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(_plain(v))}</td></tr>"
                   for k, v in pairs.items())
    return f'<table class="rg-kv">{rows}</table>' if rows else ""


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def exchange_html(exchange: Mapping[str, Any]) -> str:
    status = exchange.get("status")
    answer = (f'<span class="rg-status">{escape(str(status))}</span>' if status is not None
              else f'<span class="rg-status">no answer</span>: {escape(exchange.get("error", ""))}')
    latency = exchange.get("latency_ms")
    out = [f'<div class="rg-exchange"><div><span class="rg-req">{escape(exchange.get("request", ""))}'
           f"</span> → {answer}" + (f" in {latency:g} ms" if latency is not None else "") + "</div>"]
    if exchange.get("error") and status is not None:
        out.append(f"<div>{escape(exchange['error'])}</div>")
    if exchange.get("headers"):
        out.append(_kv_table(exchange["headers"]))
    if exchange.get("excerpt"):
        out.append(f"<pre>{escape(exchange['excerpt'])}</pre>")
    if exchange.get("reproduce"):
        out.append(f'<div>reproduce:</div><pre class="rg-cmd">{escape(exchange["reproduce"])}</pre>')
    out.append("</div>")
    return "".join(out)


def check_html(r: CheckResult, *, deciding: bool = False, open_: bool = False) -> str:
    label = OUTCOME_LABEL.get(r.outcome, r.outcome.upper())
    classes = "rg-check" + (" rg-deciding" if deciding else "")
    tag = '<span class="rg-tag">decided the verdict</span>' if deciding else ""
    message = (f' — <span class="{"rg-follows" if r.follows else "rg-msg"}">{escape(r.message)}</span>'
               if r.message else "")
    body = []
    if r.what_to_do and r.outcome in ("failed", "error", "inconclusive", "waived"):
        body.append(f'<div class="rg-remedy"><b>What to do:</b> {escape(r.what_to_do)}</div>')
    if r.waiver:
        w = r.waiver
        body.append(f'<div class="rg-note">Waiver ({escape(w["state"])}, expires {escape(w["expires"])}): '
                    f'{escape(w["justification"])}</div>')
    body += [exchange_html(e) for e in r.exchanges()]
    if r.evidence.get("observed"):
        body.append("<div>observed:</div>" + _kv_table(r.evidence["observed"]))
    body.append(f'<div class="rg-id">check <code>{escape(r.id)}</code> · {r.duration_s * 1000:.0f} ms</div>')
    return (f'<details class="{classes}"{" open" if open_ else ""}><summary>'
            f'<span class="rg-badge rg-b-{r.outcome}">{label}</span>'
            f'<span class="rg-sev">{escape(r.meta.severity)}</span>{escape(r.meta.item)} '
            f'<small>[{escape(r.meta.runbook)}]</small>{tag}{message}</summary>'
            f'<div class="rg-body">{"".join(body)}</div></details>')


def _by_area(results: Sequence[CheckResult]) -> str:
    out = []
    for area, by_area in groupby(_ordered(results), key=lambda r: r.meta.area):
        out.append(f'<div class="rg-area"><h3>{escape(AREA_TITLES.get(area, area))}</h3>')
        for section, by_section in groupby(by_area, key=lambda r: r.meta.runbook):
            out.append(f"<div><small>Runbook {escape(section)}</small></div>")
            out += [check_html(r) for r in by_section]
        out.append("</div>")
    return "".join(out)


def release_view_html(header: Mapping[str, Any], decision: Decision | None,
                      results: Sequence[CheckResult], reason: str = "") -> str:
    """The release manager's view, placed first in report.html (see module doc)."""
    out = [f'<section class="rg" id="releasegate"><style>{STYLE}</style>',
           banner_html(header, decision, reason)]
    if decision is not None:
        out += [f'<div class="rg-note">{escape(n)}</div>' for n in header.get("notes", [])]
        groups = failure_groups(results, decision)
        if groups:
            total = sum(1 + len(f) for _, f in groups)
            out.append(f'<h2 id="rg-failures">Failures ({total}), root cause first</h2>')
            for i, (root, followers) in enumerate(groups):
                kind = "warning" if root.meta.severity == "warning" else "blocker"
                cause = (f'<div class="rg-cause">{len(followers)} more check'
                         f'{"s" if len(followers) != 1 else ""} follow from this failure</div>'
                         if followers else "")
                out.append(f'<div class="rg-group {kind}">{cause}')
                out.append(check_html(root, deciding=root.id == decision.deciding, open_=i == 0))
                out += [check_html(f, deciding=f.id == decision.deciding) for f in followers]
                out.append("</div>")
        for outcome, title in (("inconclusive", "Inconclusive: not verified"),
                               ("waived", "Waived failures")):
            chosen = [r for r in results if r.outcome == outcome]
            if chosen:
                out.append(f"<h2>{title} ({len(chosen)})</h2>")
                out += [check_html(r, deciding=r.id == decision.deciding,
                                   open_=r.id == decision.deciding) for r in chosen]
        passed = [r for r in results if r.outcome == "passed"]
        if passed:
            out.append(f'<h2 id="rg-passed">Passed ({len(passed)})</h2>{_by_area(passed)}')
        skipped = [r for r in results if r.outcome == "skipped"]
        if skipped:
            out.append(f'<h2 id="rg-na">Not applicable ({len(skipped)})</h2>{_by_area(skipped)}')
        out.append('<h2>Technical report</h2><p>Every check as pytest ran it, with its log, '
                   'follows below.</p>')
    out.append("</section>")
    return "".join(out)


def not_started_html(title: str, header: Mapping[str, Any], reason: str) -> str:
    """A whole report.html for a run that reached no verdict."""
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"/><title>{escape(title)}</title></head>'
            f"<body>{release_view_html(header, None, [], reason)}</body></html>\n")


def inject(html: str, view: str) -> str:
    """Put the release view first in pytest-html's page, above its title and environment table."""
    at = html.find("<body>")
    if at < 0:
        return view + html
    at += len("<body>")
    return html[:at] + view + html[at:]

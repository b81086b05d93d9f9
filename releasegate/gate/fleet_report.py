"""The fleet's report: the comparison with the last run first (when there is one), then the
matrix — targets × areas, each cell the worst outcome with its count, linked to the check that
decided it — then each target's checklist as a one-target report shows it. The same in markdown
for $GITHUB_STEP_SUMMARY, and JUnit with one suite per target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from xml.etree import ElementTree

from releasegate.fleet.merge import NO_VERDICT, NOT_CHECKED
from releasegate.gate.report import ICON, STYLE, _md, banner_html, check_html, failure_groups
from releasegate.gate.results import AREA_TITLES, OUTCOME_LABEL, CheckMeta, CheckResult
from releasegate.gate.verdict import Decision, ExitCode

FLEET_STYLE = """
.rg-matrix{border-collapse:collapse;margin:6px 0 16px}.rg-matrix th,.rg-matrix td{border:1px solid
 #d0d7de;padding:3px 8px;text-align:left;font-size:14px}.rg-matrix th{background:#f6f8fa}
.rg-matrix a{text-decoration:none;color:inherit;display:block}
.rg-v{font-weight:700}.rg-v.ROLLBACK{color:#a40e26}.rg-v.GO{color:#1a7f37}.rg-v.INVESTIGATE{color:#9a6700}
.rg-v.NOT-CHECKED,.rg-v.NO-VERDICT{color:#57606a}
.rg-cell-none{color:#8c959f}.rg-target{border-top:3px solid #d0d7de;margin-top:24px}
.rg-b-not_checked{background:#eaeef2;color:#57606a;border:1px dashed #6e7781}
.rg-new{background:#ffebe9;border:2px solid #a40e26;border-radius:6px;padding:6px 12px;margin:8px 0}
"""


def _n(count: int) -> str:
    return f"{count} target{'s' if count != 1 else ''}"


def anchor(target: str, n: int | None = None) -> str:
    base = "t-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in target)
    return base if n is None else f"{base}-c{n}"


def result_of(entry: Mapping[str, Any]) -> CheckResult:
    """A summary.json check entry back into the record the one-target report draws."""
    meta = CheckMeta(entry.get("area", "?"), entry.get("runbook", ""), entry.get("item", entry["id"]),
                     entry.get("severity", "blocker"))
    return CheckResult(entry["id"], meta, entry.get("outcome", "passed"), entry.get("message", ""),
                       dict(entry.get("evidence") or {}), remedy=entry.get("remedy"),
                       follows=entry.get("follows_from"), waiver=entry.get("waiver"))


def decision_of(target: Mapping[str, Any]) -> Decision | None:
    if target.get("verdict") is None:
        return None
    return Decision(str(target["verdict"]), ExitCode(int(target["exit_code"])),
                    str(target.get("reason", "")), target.get("deciding_check"),
                    dict(target.get("counts") or {}))


def _header(target: Mapping[str, Any]) -> dict[str, Any]:
    return {"target": target.get("target"), "started_at": target.get("started_at"),
            "duration_s": target.get("duration_s"), "suite_version": target.get("suite_version"),
            "facts": target.get("target_facts", {}), "notes": target.get("notes", []),
            "hosts": sorted({e["host"] for c in target.get("checks", [])
                             for e in c.get("evidence", {}).get("requests", []) if e.get("host")})}


def _css(verdict: str) -> str:
    return verdict.replace(" ", "-")


def _cell(target: str, area: str, cell: Mapping[str, Any] | None, index: Mapping[str, int],
          not_checked: bool) -> str:
    if cell is None:
        return '<td class="rg-cell-none">—</td>'
    outcome = cell["outcome"]
    label = "not checked" if not_checked else OUTCOME_LABEL.get(outcome, outcome.upper())
    count = f" ×{cell['count']}" if cell["count"] > 1 else ""
    href = f"#{anchor(target, index.get(cell['check']))}"
    return (f'<td data-area="{escape(area)}" data-outcome="{escape(outcome)}">'
            f'<a href="{href}" title="{escape(cell["check"])}"><span class="rg-badge rg-b-{outcome}">'
            f'{escape(label)}{count}</span><small>/{cell["total"]}</small></a></td>')


def matrix_html(summary: Mapping[str, Any]) -> str:
    areas = summary["areas"]
    head = "".join(f"<th>{escape(AREA_TITLES.get(a, a))}</th>" for a in areas)
    waves = any(t.get("wave") for t in summary["targets"])
    rows = []
    for t in summary["targets"]:
        name = str(t["target"])
        index = {c["id"]: n for n, c in enumerate(t.get("checks", []))}
        verdict = t["fleet_verdict"]
        deciding = t.get("deciding_check")
        link = f"#{anchor(name, index[deciding])}" if deciding in index else f"#{anchor(name)}"
        row = summary["matrix"].get(name, {})
        cells = "".join(_cell(name, a, row.get(a), index, verdict == NOT_CHECKED) for a in areas)
        rows.append(f'<tr data-target="{escape(name)}" data-verdict="{escape(verdict)}">'
                    f'<th><a href="#{anchor(name)}">{escape(name)}</a></th>'
                    + (f"<td>{escape(t.get('wave') or '')}</td>" if waves else "")
                    + f'<td><a href="{link}" class="rg-v {_css(verdict)}">{escape(verdict)}</a></td>'
                    f"{cells}</tr>")
    return (f'<h2 id="rg-matrix-title">Matrix: {len(rows)} targets × {len(areas)} areas</h2>'
            f'<table class="rg-matrix" id="rg-matrix"><thead><tr><th>target</th>'
            + ("<th>wave</th>" if waves else "") + f"<th>verdict</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def comparison_html(comparison: Mapping[str, Any] | None) -> str:
    if not comparison:
        return ""
    from releasegate.fleet.compare import headline

    out = [f'<h2 id="rg-baseline">Since the last run: {escape(headline(comparison))}</h2>',
           f"<p>baseline {escape(comparison['path'])} ({escape(str(comparison['baseline_started_at']))})"
           "</p>"]
    for t in comparison["targets"]:
        name = str(t["target"])
        items = [f'<li class="rg-new-failure" data-target="{escape(name)}" data-check="{escape(i)}">'
                 f"<b>NEW</b> {escape(i)}</li>" for i in t["new_failures"]]
        items += [f"<li>{label.upper()}: {escape(i)}</li>" for key, label in
                  (("fixed", "fixed"), ("still_failing", "still failing"), ("flapping", "flapping"))
                  for i in t[key]]
        items += [f"<li>SLOWER {s['factor']:g}×: {escape(s['id'])} ({s['before_ms']:g} → "
                  f"{s['after_ms']:g} ms)</li>" for s in t["slower"]]
        items += [f"<li>VALUE {escape(v['key'])}: {v['before']:g} → {v['after']:g}</li>"
                  for v in t["values"][:30]]
        if items or t["verdict_before"] != t["verdict_now"]:
            out.append(f'<div class="rg-new" data-target="{escape(name)}"><b>{escape(name)}</b>: '
                       f"{escape(str(t['verdict_before']))} → {escape(str(t['verdict_now']))}"
                       f"<ul>{''.join(items)}</ul></div>")
    return "".join(out)


def _light(r: CheckResult) -> CheckResult:
    """A pass or N/A as the fleet report lists it: its line and message, no exchanges (its
    target's own report.html, or summary.json, has them)."""
    if r.outcome in ("passed", "skipped"):
        r.evidence = {k: v for k, v in r.evidence.items() if k != "requests"}
    return r


def target_html(t: Mapping[str, Any]) -> str:
    """One target's checklist: its banner, failures root cause first, then the rest folded."""
    name = str(t["target"])
    decision = decision_of(t)
    results = [result_of(c) for c in t.get("checks", [])]
    ids = {r.id: n for n, r in enumerate(results)}

    def wrap(r: CheckResult, html: str) -> str:
        return f'<div id="{anchor(name, ids[r.id])}">{html}</div>'

    out = [f'<section class="rg-target" id="{anchor(name)}" data-target="{escape(name)}">'
           f"<h2>{escape(name)}" + (f" <small>wave {escape(t['wave'])}</small>" if t.get("wave") else "")
           + f' — <span class="rg-v {_css(t["fleet_verdict"])}">{escape(t["fleet_verdict"])}</span></h2>',
           banner_html(_header(t), decision, str(t.get("reason", "")))]
    if decision is not None:
        for root, followers in failure_groups(results, decision):
            for r in (root, *followers):
                out.append(wrap(r, check_html(r, deciding=r.id == decision.deciding,
                                               open_=r.id == decision.deciding)))
        rest = [r for r in results if not r.failed]
        if rest:  # passes and N/A without their exchanges: a hundred targets stay a few MB
            out.append(f"<details><summary>the other {len(rest)} checks</summary>")
            out += [wrap(r, check_html(_light(r), deciding=r.id == decision.deciding)) for r in rest]
            out.append("</details>")
    out.append("</section>")
    return "".join(out)


def fleet_html(summary: Mapping[str, Any], comparison: Mapping[str, Any] | None = None) -> str:
    counts = "".join(f"<li><b>{n}</b> {escape(v)}</li>" for v, n in summary["counts"].items() if n)
    waves = "".join(f'<li>wave <b>{escape(w["name"])}</b>: <span class="rg-v {_css(w["verdict"])}">'
                    f'{escape(w["verdict"])}</span> ({_n(len(w["targets"]))})</li>'
                    for w in summary.get("waves", []))
    banner = (f'<div class="rg-banner {summary["verdict"]}" id="rg-verdict"><div class="rg-verdict-word">'
              f'{escape(summary["verdict"])}<small>exit {summary["exit_code"]} · fleet '
              f'{escape(summary["fleet"])}</small></div><p class="rg-reason">{escape(summary["reason"])}</p>'
              f'<ul class="rg-counts">{counts}</ul><p><small>policy: {escape(summary["policy"])}'
              f'</small></p></div>')
    body = [banner, comparison_html(comparison), f"<ul>{waves}</ul>" if waves else "",
            matrix_html(summary)] + [target_html(t) for t in summary["targets"]]
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"/><title>releasegate fleet '
            f'{escape(summary["fleet"])}: {escape(summary["verdict"])}</title></head><body>'
            f'<section class="rg" id="releasegate"><style>{STYLE}{FLEET_STYLE}</style>'
            + "".join(body) + "</section></body></html>\n")


def fleet_markdown(summary: Mapping[str, Any], comparison: Mapping[str, Any] | None = None) -> str:
    """The job summary: verdict, what is new since the last run, the matrix."""
    lines = [f"## releasegate fleet {_md(summary['fleet'])}: {summary['verdict']} "
             f"(exit {summary['exit_code']})", "", f"**{_md(summary['reason'], 600)}**", ""]
    if comparison:
        from releasegate.fleet.compare import headline

        lines += [f"### Since the last run: {_md(headline(comparison))}", ""]
        lines += [f"- ❌ NEW {_md(t['target'])}: {_md(i)}" for t in comparison["targets"]
                  for i in t["new_failures"]]
        lines += [f"- ✅ fixed {_md(t['target'])}: {_md(i)}" for t in comparison["targets"]
                  for i in t["fixed"]]
        lines.append("")
    for w in summary.get("waves", []):
        lines.append(f"- wave **{_md(w['name'])}**: {w['verdict']} ({_n(len(w['targets']))})")
    areas = summary["areas"]
    lines += ["", "| target | verdict | " + " | ".join(_md(a) for a in areas) + " |",
              "|---|---|" + "---|" * len(areas)]
    for t in summary["targets"]:
        row = summary["matrix"].get(t["target"], {})
        cells = []
        for a in areas:
            cell = row.get(a)
            cells.append("—" if cell is None else
                         f"{ICON.get(cell['outcome'], '')} {cell['count']}/{cell['total']}")
        lines.append(f"| {_md(t['target'])} | {t['fleet_verdict']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def fleet_junit(summary: Mapping[str, Any]) -> bytes:
    """One <testsuite> per target, its checks as test cases, failures as in its own junit.xml."""
    root = ElementTree.Element("testsuites", name=f"releasegate fleet {summary['fleet']}")
    for t in summary["targets"]:
        checks: Sequence[Mapping[str, Any]] = t.get("checks", [])
        failed = sum(1 for c in checks if c.get("outcome") == "failed")
        errors = sum(1 for c in checks if c.get("outcome") == "error") + (t.get("verdict") is None)
        skipped = sum(1 for c in checks if c.get("outcome") in ("skipped", "inconclusive", "waived"))
        suite = ElementTree.SubElement(root, "testsuite", name=str(t["target"]),
                                       tests=str(len(checks) + (t.get("verdict") is None)),
                                       failures=str(failed), errors=str(errors), skipped=str(skipped),
                                       time=str(t.get("duration_s") or 0),
                                       timestamp=str(t.get("started_at") or ""))
        props = ElementTree.SubElement(suite, "properties")
        for key in ("fleet_verdict", "wave", "verdict", "reason"):
            ElementTree.SubElement(props, "property", name=key, value=str(t.get(key)))
        if t.get("verdict") is None:
            case = ElementTree.SubElement(suite, "testcase", classname=str(t["target"]), name="run")
            ElementTree.SubElement(case, "error", message=str(t.get("reason") or NO_VERDICT))
        for c in checks:
            path, _, name = str(c["id"]).rpartition("::")
            classname = f"{t['target']}." + path.removesuffix(".py").replace("/", ".")
            case = ElementTree.SubElement(suite, "testcase", classname=classname, name=name)
            outcome, message = c.get("outcome"), str(c.get("message") or "")
            if outcome in ("failed", "error"):
                ElementTree.SubElement(case, "failure" if outcome == "failed" else "error",
                                       message=message).text = str(c.get("remedy") or "")
            elif outcome in ("skipped", "inconclusive", "waived"):
                ElementTree.SubElement(case, "skipped", message=f"{outcome}: {message}")
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

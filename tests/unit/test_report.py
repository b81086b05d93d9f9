"""releasegate.report: summary.json shape, checklist ordering and escaping."""

from __future__ import annotations

import copy
import json
import re
from html import escape

import jsonschema
import pytest

from releasegate.report import (
    checklist_html,
    checklist_markdown,
    verdict_banner_html,
    write_summary,
)
from releasegate.results import AREA_TITLES, AREAS
from releasegate.verdict import decide
from tests.unit.conftest import result
from tests.unit.summary_schema import CHECK_KEYS, DESIGN_KEYS, SUMMARY_SCHEMA, validate_summary

HEADER = {"target": "staging", "started_at": "2026-11-23T08:00:00+00:00", "duration_s": 1.9,
          "suite_version": "0.1.0", "facts": {"build_id": "git:abc"}}
HOSTILE_ITEM = "<script>alert('item')</script> a | b"
HOSTILE_MESSAGE = "got <img src=x onerror=alert(1)> | 503\nsecond line & more"


def mixed_results():
    return [
        result("metrics exposed", area="observability", runbook="001 §6.2", outcome="skipped",
               message="metrics: not configured in target staging"),
        result("startup 200", runbook="001 §6.10", severity="blocker", gate="readiness"),
        result("ready 200", runbook="001 §6.2", outcome="failed", gate="readiness",
               message="GET /healthz/ready returned 503", evidence={"status": 503}),
        result("release ready", runbook="002 §2.1", outcome="error", message="error in setup: boom"),
        result("mcp initialize", area="mcp", runbook="003 §1", severity="warning"),
        result("live 200", runbook="001 §6.1"),
    ]


# --- summary.json ------------------------------------------------------------------------------


def test_summary_matches_the_design_schema(tmp_path):
    results = mixed_results()
    decision = decide(r.judged() for r in results)
    path = tmp_path / "nested" / "summary.json"
    returned = write_summary(path, HEADER, decision, results)
    written = json.loads(path.read_text())
    assert written == returned
    validate_summary(written)
    assert set(DESIGN_KEYS) <= written.keys()
    assert all(tuple(c) == CHECK_KEYS for c in written["checks"])
    assert (written["target"], written["verdict"], written["exit_code"]) == ("staging", "ROLLBACK", 1)
    assert (written["started_at"], written["duration_s"]) == (HEADER["started_at"], 1.9)


def test_summary_check_entries_carry_each_field(tmp_path):
    results = mixed_results()
    summary = write_summary(tmp_path / "s.json", HEADER, decide(r.judged() for r in results), results)
    ready = next(c for c in summary["checks"] if c["item"] == "ready 200")
    assert ready == {"id": "suites/health/test_x.py::ready 200", "area": "health",
                     "runbook": "001 §6.2", "item": "ready 200", "severity": "blocker",
                     "outcome": "failed", "message": "GET /healthz/ready returned 503",
                     "evidence": {"status": 503}}
    skipped = next(c for c in summary["checks"] if c["area"] == "observability")
    assert skipped["outcome"] == "skipped"


def test_summary_keeps_unicode_readable(tmp_path):
    path = tmp_path / "s.json"
    results = [result("live 200")]
    write_summary(path, HEADER, decide(r.judged() for r in results), results)
    assert "001 §6.1" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("mutate", [
    lambda s: s.pop("verdict"),
    lambda s: s.update(unexpected=1),
    lambda s: s["checks"][0].pop("evidence"),
    lambda s: s["checks"][0].update(gate="readiness"),
    lambda s: s["checks"][0].update(outcome="xfailed"),
    lambda s: s.update(verdict="GO", exit_code=2),
    lambda s: s.update(started_at="yesterday"),
])
def test_the_schema_itself_rejects_deviations(tmp_path, mutate):
    """The schema is strict enough to notice a changed contract."""
    results = mixed_results()
    good = write_summary(tmp_path / "s.json", HEADER, decide(r.judged() for r in results), results)
    bad = copy.deepcopy(good)
    mutate(bad)
    validator = jsonschema.Draft202012Validator(
        SUMMARY_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert not validator.is_valid(bad)


# --- ordering ----------------------------------------------------------------------------------


def test_summary_orders_by_area_then_numeric_section(tmp_path):
    results = mixed_results()
    summary = write_summary(tmp_path / "s.json", HEADER, decide(r.judged() for r in results), results)
    assert [(c["area"], c["runbook"]) for c in summary["checks"]] == [
        ("health", "001 §6.1"), ("health", "001 §6.2"), ("health", "001 §6.10"),
        ("health", "002 §2.1"), ("mcp", "003 §1"), ("observability", "001 §6.2")]


def _positions(text: str, needles: list[str]) -> list[int]:
    found = [text.find(n) for n in needles]
    assert -1 not in found, dict(zip(needles, found, strict=True))
    return found


@pytest.mark.parametrize("render", ["html", "markdown"])
def test_checklist_orders_areas_as_AREAS_and_sections_numerically(render):
    results = [result(f"check in {area}", area=area, runbook="001 §1") for area in reversed(AREAS)]
    results += [result("check-6.10", runbook="001 §6.10"), result("check-6.2", runbook="001 §6.2"),
                result("check-6.9", runbook="001 §6.9"), result("check-002", runbook="002 §1.1")]
    decision = decide(r.judged() for r in results)
    text = checklist_html(results) if render == "html" else checklist_markdown(HEADER, decision, results)
    shown = escape if render == "html" else str
    titles = _positions(text, [shown(AREA_TITLES[a]) for a in AREAS])
    assert titles == sorted(titles)
    items = _positions(text, ["check-6.2<", "check-6.9<", "check-6.10<", "check-002<"]
                       if render == "html" else ["check-6.2 ", "check-6.9 ", "check-6.10 ", "check-002 "])
    assert items == sorted(items)


def test_html_groups_one_heading_per_runbook_section():
    results = [result("a", runbook="001 §6.1"), result("b", runbook="001 §6.2"),
               result("c", runbook="001 §6.1")]
    html = checklist_html(results)
    assert html.count("<h4>Runbook 001 §6.1</h4>") == 1
    assert html.count("<h3>") == 1


# --- escaping ----------------------------------------------------------------------------------


def test_html_escapes_item_message_and_section():
    results = [result(HOSTILE_ITEM, runbook="001 <b>§1</b>", outcome="failed", message=HOSTILE_MESSAGE)]
    html = checklist_html(results)
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>§1" not in html
    assert "&lt;script&gt;alert(&#x27;item&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_html_marks_each_outcome():
    results = [result("p"), result("f", outcome="failed"), result("e", outcome="error"),
               result("s", outcome="skipped")]
    html = checklist_html(results)
    for cls, mark, item in [("passed", "PASS", "p"), ("failed", "FAIL", "f"), ("error", "ERROR", "e"),
                            ("skipped", "N/A", "s")]:
        assert f'<td class="rg-{cls}">{mark}</td><td>{item}</td>' in html


def _table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line
            and not line.startswith("| | check")]


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_markdown_escapes_pipes_html_and_newlines():
    results = [result(HOSTILE_ITEM, runbook="001 §6.1", outcome="failed", message=HOSTILE_MESSAGE)]
    decision = decide(r.judged() for r in results)
    md = checklist_markdown({**HEADER, "target": "stag|ing <i>"}, decision, results)
    assert "<script>" not in md
    assert "<img" not in md
    assert "<i>" not in md
    rows = _table_rows(md)
    assert len(rows) == 1, md
    cells = _cells(rows[0])
    assert len(cells) == 5, cells
    assert cells[0] == "❌"
    assert "a \\| b" in cells[1]
    assert "second line" in cells[4]


def test_markdown_header_and_rows():
    results = mixed_results()
    decision = decide(r.judged() for r in results)
    md = checklist_markdown(HEADER, decision, results)
    lines = md.splitlines()
    assert lines[0] == "## releasegate: ROLLBACK — staging"
    assert "(exit 1)" in lines[2]
    assert "ready 200" in lines[2]
    rows = {(_cells(r)[1]): _cells(r) for r in _table_rows(md)}
    assert rows["ready 200"] == ["❌", "ready 200", "001 §6.2", "blocker",
                                 "GET /healthz/ready returned 503"]
    assert rows["metrics exposed"][0] == "➖"
    assert rows["live 200"][0] == "✅"
    assert rows["release ready"][0] == "❌"


def test_markdown_truncates_long_messages():
    results = [result("x", outcome="failed", message="y" * 1000)]
    md = checklist_markdown(HEADER, decide(r.judged() for r in results), results)
    assert "y" * 200 in md
    assert "y" * 201 not in md


def test_verdict_banner_escapes_reason_and_facts():
    results = [result("<script>x</script>", outcome="failed")]
    decision = decide(r.judged() for r in results)
    html = verdict_banner_html({**HEADER, "facts_display": {"<k>": "<v>"}}, decision)
    assert "<script>" not in html
    assert "&lt;k&gt;" in html
    assert "&lt;v&gt;" in html
    assert "Verdict: ROLLBACK (exit 2)" in html

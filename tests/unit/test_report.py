"""releasegate.gate.report: summary.json shape, the release view (HTML), the job summary (markdown)."""

from __future__ import annotations

import copy
import json
import re
from html import escape

import jsonschema
import pytest

from releasegate.gate import causes
from releasegate.gate.report import (
    checklist_markdown,
    inject,
    release_view_html,
    write_summary,
)
from releasegate.gate.results import AREA_TITLES, AREAS
from releasegate.gate.verdict import decide
from tests.unit.conftest import result
from tests.unit.summary_schema import CHECK_KEYS, DESIGN_KEYS, SUMMARY_SCHEMA, validate_summary

HEADER = {"target": "staging", "started_at": "2026-11-23T08:00:00+00:00", "duration_s": 1.9,
          "suite_version": "0.1.0", "facts": {"build_id": "git:abc", "config_hash": "sha256:0123abcd"},
          "hosts": ["https://hunter-staging.example"]}
HOSTILE_ITEM = "<script>alert('item')</script> a | b"
HOSTILE_MESSAGE = "got <img src=x onerror=alert(1)> | 503\nsecond line & more"
READY_503 = {"request": "GET https://h/healthz/ready", "host": "h:443", "status": 503, "latency_ms": 12.5,
             "headers": {"content-type": "application/json"}, "excerpt": '{"db": {"status": "error"}}',
             "reproduce": "curl -sS -i \"${URL}\"/healthz/ready"}


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


def decided(results):
    causes.link(results)
    return decide(r.judged() for r in results)


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
    assert all(tuple(c)[:len(CHECK_KEYS)] == CHECK_KEYS for c in written["checks"])
    assert (written["target"], written["verdict"], written["exit_code"]) == ("staging", "ROLLBACK", 1)
    assert (written["started_at"], written["duration_s"]) == (HEADER["started_at"], 1.9)


def test_summary_check_entries_carry_each_field(tmp_path):
    results = mixed_results()
    summary = write_summary(tmp_path / "s.json", HEADER, decide(r.judged() for r in results), results)
    ready = next(c for c in summary["checks"] if c["item"] == "ready 200")
    assert ready == {"id": "suites/health/test_x.py::ready 200", "area": "health",
                     "runbook": "001 §6.2", "item": "ready 200", "severity": "blocker",
                     "outcome": "failed", "message": "GET /healthz/ready returned 503",
                     "evidence": {"status": 503}, "remedy": None, "kind": "wrong_status"}
    assert summary["deciding_check"] == "suites/health/test_x.py::ready 200"
    assert summary["counts"]["blockers_failed"] == 2
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
def test_passes_are_listed_by_area_as_AREAS_and_sections_numerically(render):
    results = [result(f"check in {area}", area=area, runbook="001 §1") for area in reversed(AREAS)]
    results += [result("check-6.10", runbook="001 §6.10"), result("check-6.2", runbook="001 §6.2"),
                result("check-6.9", runbook="001 §6.9"), result("check-002", runbook="002 §1.1")]
    decision = decided(results)
    text = release_view_html(HEADER, decision, results) if render == "html" \
        else checklist_markdown(HEADER, decision, results)
    if render == "html":
        titles = _positions(text, [escape(AREA_TITLES[a]) for a in AREAS])
        assert titles == sorted(titles)
    items = _positions(text, ["check-6.2 ", "check-6.9 ", "check-6.10 ", "check-002 "])
    assert items == sorted(items)


def test_the_view_puts_the_verdict_and_counts_first_then_failures_then_passes_then_na():
    results = [result("live 200"), result("metrics", outcome="skipped", message="n/a here"),
               result("legacy", severity="warning", outcome="failed", message="404"),
               result("ready 200", outcome="failed", gate="readiness", message="503",
                      evidence={"requests": [READY_503]})]
    html = release_view_html(HEADER, decided(results), results)
    order = _positions(html, ['id="rg-verdict"', "1 blocker and 1 warning failed", 'id="rg-failures"',
                              '</span>ready 200 ', '</span>legacy ', 'id="rg-passed"', '</span>live 200 ',
                              'id="rg-na"', '</span>metrics '])
    assert order == sorted(order)
    for count in ("<b>1</b> blockers failed", "<b>1</b> warnings failed", "<b>1</b> passed",
                  "<b>1</b> N/A", "<b>0</b> waived"):
        assert count in html
    assert "git:abc" in html and "sha256:0123abcd" in html and "https://hunter-staging.example" in html


def test_the_deciding_check_is_highlighted_and_opens_with_its_evidence_and_remedy():
    ready = result("ready 200", outcome="failed", gate="readiness", message="503",
                   evidence={"requests": [READY_503]})
    ready.remedy = "001 §6.1 Failure Scenarios: check the database"
    html = release_view_html(HEADER, decided([ready, result("live")]), [ready, result("live")])
    deciding = html[html.index('class="rg-check rg-deciding" open'):]
    assert deciding.index("decided the verdict") < deciding.index("What to do:")
    for shown in ("GET https://h/healthz/ready", ">503<", "in 12.5 ms", "content-type",
                  "{&quot;db&quot;: {&quot;status&quot;: &quot;error&quot;}}",
                  "curl -sS -i &quot;${URL}&quot;/healthz/ready", "check the database"):
        assert shown in deciding, shown
    assert "data:" not in html  # nothing is reached through data: URLs


def test_a_follower_does_not_repeat_the_error_its_root_already_names():
    why = 'connection to server at "127.0.0.1", port 41677 failed: Connection refused'
    refused = {"request": "connect postgresql://127.0.0.1:41677/reference", "host": "127.0.0.1:41677",
               "error": why, "unreachable": True}
    session = result("session is read-only", area="data", outcome="failed",
                     message=f"could not connect: {why}", evidence={"requests": [refused]})
    raw = result("raw not empty", area="data", outcome="failed",
                 message=f"database not usable: {why}", evidence={"requests": [refused]})
    decided([session, raw])
    assert raw.message == f"follows from could not reach 127.0.0.1:41677 ({why}): database not usable"


def test_an_inconclusive_deciding_check_opens_with_how_to_get_a_judgement():
    quiet = result("5xx rate within 5 %", outcome="inconclusive", message="only 2 requests: not judged")
    quiet.meta.remedy = "002 §6.3: roll back now"
    logs = result("run_summary lines valid", outcome="inconclusive", severity="warning",
                  message="no run_summary line")
    logs.remedy = "002 §6.2: re-run once the service has had traffic"
    results = [logs, quiet, result("live")]
    decision = decided(results)
    assert decision.deciding == quiet.id
    html = release_view_html(HEADER, decision, results)
    deciding = html[html.index('class="rg-check rg-deciding" open'):]
    assert deciding.index("5xx rate within 5 %") < deciding.index("What to do:")
    assert "not judged, so not a failure" in deciding.split("</details>")[0]
    assert "should it fail then: 002 §6.3: roll back now" in deciding.split("</details>")[0]
    assert logs.what_to_do == "002 §6.2: re-run once the service has had traffic"


def test_failures_are_grouped_under_their_root_cause():
    root = result("ready 200", outcome="failed", gate="readiness",
                  message="GET https://h/healthz/ready returned 503", evidence={"requests": [READY_503]})
    root.cause = "GET https://h/healthz/ready → 503"
    follower = result("db status ok", outcome="failed", gate="readiness", message="db status 'error'",
                      evidence={"requests": [READY_503]})
    other = result("legacy", outcome="failed", severity="warning", message="404")
    results = [follower, other, root]
    decision = decided(results)
    assert follower.follows == root.id and follower.message.startswith(
        "follows from GET /healthz/ready → 503: ")
    assert decision.deciding == root.id  # the root decides, not the first follower listed
    html = release_view_html(HEADER, decision, results)
    assert "1 more check follow from this failure" in html
    assert _positions(html, ["ready 200", "db status ok", ">legacy"]) == sorted(
        _positions(html, ["ready 200", "db status ok", ">legacy"]))


def test_inject_puts_the_view_above_pytest_htmls_title_and_environment():
    page = '<html><head></head><body><h1 id="title">r</h1><table id="environment"></table></body></html>'
    out = inject(page, '<section id="releasegate">V</section>')
    assert out.index('id="releasegate"') < out.index('id="title"') < out.index('id="environment"')


# --- escaping ----------------------------------------------------------------------------------


def test_html_escapes_item_message_section_and_evidence():
    evidence = {"requests": [{**READY_503, "excerpt": "<script>x</script>"}], "observed": {"<k>": "<v>"}}
    results = [result(HOSTILE_ITEM, runbook="001 <b>§1</b>", outcome="failed", message=HOSTILE_MESSAGE,
                      evidence=evidence)]
    html = release_view_html({**HEADER, "facts": {"<f>": "<g>"}}, decided(results), results)
    for raw in ("<script>", "<img", "<b>§1", "<k>", "<v>", "<f>", "<g>"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(&#x27;item&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_html_marks_each_outcome():
    results = [result("p"), result("f", outcome="failed"), result("e", outcome="error"),
               result("s", outcome="skipped"), result("w", outcome="waived"),
               result("i", outcome="inconclusive")]
    html = release_view_html(HEADER, decided(results), results)
    for cls, mark in [("passed", "PASS"), ("failed", "FAIL"), ("error", "ERROR"), ("skipped", "N/A"),
                      ("waived", "WAIVED"), ("inconclusive", "INCONCLUSIVE")]:
        assert f'<span class="rg-badge rg-b-{cls}">{mark}</span>' in html


def _table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line
            and not line.startswith("| | check")]


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_markdown_escapes_pipes_html_and_newlines():
    results = [result(HOSTILE_ITEM, runbook="001 §6.1", outcome="failed", message=HOSTILE_MESSAGE)]
    md = checklist_markdown({**HEADER, "target": "stag|ing <i>"}, decided(results), results)
    assert "<script>" not in md
    assert "<img" not in md
    assert "<i>" not in md
    rows = _table_rows(md)
    assert len(rows) == 1, md
    cells = _cells(rows[0])
    assert len(cells) == 5, cells
    assert cells[0] == "❌"
    assert "a \\| b" in cells[1]
    assert "second line" in cells[3]


def test_markdown_puts_verdict_counts_and_facts_first_failures_with_remedies_and_folds_passes():
    results = mixed_results()
    results[2].remedy = "001 §6.1: check the database"
    md = checklist_markdown({**HEADER, "run_url": "https://github.com/o/r/actions/runs/1"},
                            decided(results), results)
    lines = md.splitlines()
    assert lines[0] == "## releasegate: ROLLBACK (exit 1) — staging"
    assert "ready 200" in lines[2]
    assert lines[4] == "2 blockers failed · 0 warnings failed · 0 inconclusive · 3 passed · 1 N/A · 0 waived"
    assert "build_id: `git:abc`" in md and "[CI run](https://github.com/o/r/actions/runs/1)" in md
    rows = {(_cells(r)[1]): _cells(r) for r in _table_rows(md)}
    assert rows["ready 200 (001 §6.2)"] == ["❌", "ready 200 (001 §6.2)", "blocker",
                                            "GET /healthz/ready returned 503", "001 §6.1: check the database"]
    assert md.index("### Failures") < md.index("<details><summary>Passed (3)</summary>")
    assert md.index("live 200") > md.index("<details><summary>Passed")


def test_markdown_cuts_long_messages_at_a_word_boundary():
    results = [result("x", outcome="failed", message="word " * 300)]
    md = checklist_markdown(HEADER, decided(results), results)
    row = _table_rows(md)[0]
    assert "word word…" in row and "wor…" not in row
    assert len(_cells(row)[3]) <= 401

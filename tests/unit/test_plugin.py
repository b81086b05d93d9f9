"""The pytest plugin, as a user meets it: tiny check files run by pytest in a subprocess."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from tests.unit.summary_schema import validate_summary

AREAS = ("smoke", "health", "mcp", "readapi", "versioning", "data", "redis", "backup", "rollback",
         "observability")

CHECKS = '''
from releasegate.core.profile import require_section


@pytest.mark.health
@pytest.mark.smoke
@pytest.mark.runbook("001", "§6.1", "live answers")
@pytest.mark.severity("blocker", gate="readiness")
def test_live(target):
    require_section(target, "health")


@pytest.mark.health
@pytest.mark.runbook("001", "§6.10", "ready answers")
@pytest.mark.severity("blocker")
def test_ready():
    assert False, "ready returned 503"


@pytest.mark.mcp
@pytest.mark.runbook("003", "§1", "MCP initialize works")
@pytest.mark.severity("blocker")
def test_mcp_initialize(target):
    require_section(target, "mcp")
'''


def test_markers_are_registered(project):
    run = project.pytest("--markers", target=False)
    assert run.returncode == 0, run.output
    registered = set(re.findall(r"^@pytest\.mark\.(\w+)", run.stdout, re.M))
    assert set(AREAS) | {"runbook", "severity"} <= registered


def test_plain_pytest_without_target_stays_inert(project):
    project.checks("def test_plain():\n    assert 1\n")
    run = project.pytest(target=False)
    assert run.returncode == 0, run.output
    assert not (project.root / "out").exists()
    assert "releasegate verdict" not in run.stdout


def test_unregistered_marker_fails_collection(project):
    project.checks('''
@pytest.mark.helth
@pytest.mark.runbook("001", "§6.1", "typo in the area marker")
@pytest.mark.severity("blocker")
def test_typo():
    pass
''')
    run = project.pytest()
    assert run.returncode == 64, run.output  # could not start: not a verdict, not pytest's 2
    assert "'helth' not found in `markers` configuration option" in run.output
    assert "1 error" in run.stdout
    summary = run.summary
    validate_summary(summary)
    assert (summary["verdict"], summary["exit_code"]) == (None, 64)
    assert "'helth' not found" in summary["reason"]


def test_check_without_runbook_or_severity_stops_the_run(project):
    project.checks('''
@pytest.mark.health
def test_fine_otherwise():
    pass


@pytest.mark.health
@pytest.mark.runbook("001", "§6.1", "has a runbook line")
def test_no_severity():
    pass
''')
    run = project.pytest()
    assert run.returncode == 64, run.output
    lines = [line for line in run.output.splitlines() if "a check needs" in line]
    assert len(lines) == 1, run.output
    assert "test_checks.py::test_fine_otherwise" in lines[0]
    assert "runbook" in lines[0] and "severity" in lines[0]
    assert " passed" not in run.stdout
    summary = run.summary  # the run that never started says so, in all three files
    validate_summary(summary)
    assert (summary["verdict"], summary["exit_code"], summary["checks"]) == (None, 64, [])
    assert "a check needs" in summary["reason"]
    junit = ElementTree.parse(run.report_dir / "junit.xml").getroot()
    assert junit.find("testsuite").get("errors") == "1"
    assert "could not" in (run.report_dir / "report.html").read_text() or \
        "NO VERDICT" in (run.report_dir / "report.html").read_text()


def test_area_check_without_target_stops_the_run(project):
    project.checks(CHECKS)
    run = project.pytest(target=False)
    assert run.returncode == 64, run.output
    assert "no target profile" in run.output


def test_bad_profile_stops_the_run_with_one_line(project):
    project.checks(CHECKS)
    project.profile_path = project.profile({"name": "unit", "helth": {}}, name="bad.yaml")
    run = project.pytest()
    assert run.returncode == 64, run.output
    lines = [line for line in run.output.splitlines() if "unknown key 'helth'" in line]
    assert len(lines) == 1, run.output
    assert " passed" not in run.stdout


def test_outcomes_skip_reason_and_summary(project):
    project.checks(CHECKS)
    run = project.pytest("--verdict-exit-codes", "-rs")
    assert run.returncode == 2, run.output  # ready is a blocker without gate
    summary = run.summary
    validate_summary(summary)
    checks = {c["id"].split("::")[1]: c for c in summary["checks"]}
    assert checks["test_live"]["outcome"] == "passed"
    assert checks["test_ready"]["outcome"] == "failed"
    assert checks["test_ready"]["message"] == "ready returned 503"
    mcp = checks["test_mcp_initialize"]
    assert mcp["outcome"] == "skipped"
    assert mcp["message"].endswith("not configured in target unit")
    assert "not configured in target unit" in run.stdout  # -rs shows the skip reason
    assert (summary["target"], summary["verdict"]) == ("unit", "ROLLBACK")
    assert [c["runbook"] for c in summary["checks"]] == ["001 §6.1", "001 §6.10", "003 §1"]
    assert (run.report_dir / "report.html").is_file()
    junit = ElementTree.parse(run.report_dir / "junit.xml")
    case = next(c for c in junit.iter("testcase") if c.get("name") == "test_ready")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties == {"area": "health", "runbook": "001 §6.10", "item": "ready answers",
                          "severity": "blocker"}


def test_profile_severity_override_turns_blocker_into_warning(project):
    project.checks(CHECKS)
    project.profile_path = project.profile({
        "name": "unit", "health": {"base_url": "http://127.0.0.1:9"},
        "severity": {"test_ready": "warning"}}, name="override.yaml")
    run = project.pytest("--verdict-exit-codes")
    assert run.returncode == 4, run.output
    summary = run.summary
    assert (summary["verdict"], summary["exit_code"]) == ("INVESTIGATE", 4)
    ready = next(c for c in summary["checks"] if c["id"].endswith("::test_ready"))
    assert ready["severity"] == "warning"


def test_a_parameters_own_marks_beat_its_functions_defaults(project):
    """A declared check (e.g. a SQL assertion from the profile) brings its own severity,
    runbook line and remedy as pytest.param marks; the function's are only the defaults."""
    project.checks('''
def _declared(name, **marks):
    return pytest.param(name, id=name, marks=[getattr(pytest.mark, k)(*v) for k, v in marks.items()])


@pytest.mark.health
@pytest.mark.runbook("000", "§2", "declared assertion holds")
@pytest.mark.severity("warning")
@pytest.mark.remedy("default remedy")
@pytest.mark.parametrize("name", [
    _declared("strict", severity=("blocker",), runbook=("000", "§5.1", "at most 5 errors an hour"),
              remedy=("stop the backfill",)),
    _declared("lenient")])
def test_declared(name):
    assert False, f"{name} broken"
''')
    run = project.pytest("--verdict-exit-codes")
    assert run.returncode == 2, run.output  # the strict one is a blocker: ROLLBACK, not INVESTIGATE
    checks = {c["id"].split("[")[1].rstrip("]"): c for c in run.summary["checks"]}
    strict, lenient = checks["strict"], checks["lenient"]
    assert (strict["severity"], strict["runbook"], strict["item"]) == (
        "blocker", "000 §5.1", "at most 5 errors an hour [strict]")
    assert strict["remedy"] == "stop the backfill"
    assert (lenient["severity"], lenient["runbook"], lenient["item"]) == (
        "warning", "000 §2", "declared assertion holds [lenient]")
    assert lenient["remedy"] == "default remedy"


def test_pytest_exit_code_is_kept_without_verdict_exit_codes(project):
    project.checks(CHECKS)
    run = project.pytest()
    assert run.returncode == 1, run.output
    assert run.summary["exit_code"] == 2
    assert "releasegate verdict: ROLLBACK (exit 2)" in run.stdout


def test_readiness_failure_exits_1_with_verdict_exit_codes(project):
    project.checks('''
@pytest.mark.health
@pytest.mark.runbook("001", "§6.1", "live answers")
@pytest.mark.severity("blocker")
def test_live():
    pass


@pytest.mark.health
@pytest.mark.runbook("001", "§6.1", "ready answers")
@pytest.mark.severity("blocker", gate="readiness")
def test_ready():
    from releasegate.core.errors import CheckFailed
    raise CheckFailed("GET /healthz/ready: connection refused")
''')
    run = project.pytest("--verdict-exit-codes")
    assert run.returncode == 1, run.output
    ready = next(c for c in run.summary["checks"] if c["id"].endswith("::test_ready"))
    assert ready["outcome"] == "failed"
    assert ready["message"] == "GET /healthz/ready: connection refused"


def test_github_step_summary_gets_the_checklist_appended(project):
    project.checks(CHECKS)
    step_summary = project.root / "step_summary.md"
    step_summary.write_text("earlier step output\n")
    run = project.pytest(env={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert run.returncode == 1, run.output
    text = step_summary.read_text()
    assert text.startswith("earlier step output\n")
    assert "## releasegate: ROLLBACK (exit 2) — unit" in text
    assert "1 blocker failed · 0 warnings failed · 0 inconclusive · 1 passed · 1 N/A · 0 waived" in text
    failures, passes = text.split("### Failures", 1)[1].split("<details><summary>Passed", 1)
    assert "| ❌ | ready answers (001 §6.10) | blocker | ready returned 503 |" in failures
    assert "live answers" in passes and "live answers" not in failures
    assert "- ➖ MCP initialize works (003 §1): mcp: not configured in target unit" in text


def test_secret_from_profile_is_masked_in_every_output(project, tmp_path):
    secret = "tok-3f9a7c1e-very-secret"
    project.checks('''
@pytest.mark.health
@pytest.mark.runbook("001", "§6.1", "header is sent")
@pytest.mark.severity("blocker")
def test_header(target, evidence):
    token = target.section("health")["headers"]["Authorization"]
    evidence.note(seen=token, password="plain-" + "field-value")
    print("sending", token)
    assert False, f"server rejected {token}"
''')
    project.profile_path = project.profile({
        "name": "unit", "health": {"base_url": "http://127.0.0.1:9",
                                   "headers": {"Authorization": "${RG_UNIT_TOKEN}"}}}, name="s.yaml")
    run = project.pytest(env={"RG_UNIT_TOKEN": secret})
    assert run.returncode == 1, run.output
    outputs = [run.stdout, run.stderr] + [(run.report_dir / n).read_text()
                                          for n in ("summary.json", "junit.xml", "report.html")]
    for text in outputs:
        assert secret not in text
        assert "plain-field-value" not in text
    check = run.summary["checks"][0]
    assert check["message"] == "server rejected ***"
    assert check["evidence"]["observed"] == {"seen": "***", "password": "***"}


def test_showlocals_is_refused_in_a_gate_run_because_locals_hold_raw_secrets(project):
    """pytest prints locals cut (-v) or wrapped (-vv): no secret stays whole to be masked."""
    secret = "tok-3f9a7c1e-" + "x" * 300 + "-very-secret"
    project.checks('''
@pytest.mark.health
@pytest.mark.runbook("001", "§6.1", "header is sent")
@pytest.mark.severity("blocker")
def test_header(target):
    body = "echo: " + "y" * 80 + target.section("health")["headers"]["Authorization"] + "z" * 80
    assert body.startswith("ok"), "server echoed the request"
''')
    project.profile_path = project.profile({
        "name": "unit", "health": {"base_url": "http://127.0.0.1:9",
                                   "headers": {"Authorization": "${RG_UNIT_TOKEN}"}}}, name="s.yaml")
    for flags in (["-v", "--showlocals"], ["-vv", "--showlocals"]):
        run = project.pytest(*flags, env={"RG_UNIT_TOKEN": secret})
        assert run.returncode == 1, run.output
        assert "--showlocals is off in a gate run" in run.stdout
        outputs = run.stdout + run.stderr + (run.report_dir / "junit.xml").read_text() + (
            run.report_dir / "report.html").read_text()
        assert "3f9a7c1e" not in outputs and "very-secret" not in outputs, flags
        assert "xxxxxxxxxx" not in outputs, flags  # not even a piece of it


def test_a_crash_of_releasegate_itself_is_70_not_a_verdict(project):
    project.checks(CHECKS)
    (project.root / "conftest.py").write_text(
        "def pytest_runtest_logreport(report):\n    raise RuntimeError('boom in a hook')\n")
    run = project.pytest("--verdict-exit-codes")
    assert run.returncode == 70, run.output
    assert "INTERNALERROR" in run.output
    summary = run.summary
    validate_summary(summary)
    assert (summary["verdict"], summary["exit_code"]) == (None, 70)
    assert "a bug in releasegate" in summary["reason"]


def test_a_bug_in_a_check_is_an_error_everywhere_and_a_misbehaving_target_a_failure(project):
    project.checks('''
from releasegate.core.errors import CheckFailed


@pytest.mark.health
@pytest.mark.runbook("001", "§6.1", "a check with a bug")
@pytest.mark.severity("blocker")
def test_buggy():
    {}["missing"]


@pytest.mark.health
@pytest.mark.runbook("001", "§6.1", "the target misbehaves")
@pytest.mark.severity("blocker")
def test_target_wrong():
    raise CheckFailed("GET /x returned 503")
''')
    run = project.pytest("--verdict-exit-codes")
    checks = {c["id"].split("::")[1]: c for c in run.summary["checks"]}
    assert checks["test_buggy"]["outcome"] == "error"
    assert checks["test_buggy"]["message"] == ("a bug in the check, not a verdict on the target: "
                                               "KeyError: 'missing'")
    assert checks["test_target_wrong"]["outcome"] == "failed"
    suite = ElementTree.parse(run.report_dir / "junit.xml").getroot().find("testsuite")
    assert (suite.get("errors"), suite.get("failures")) == ("1", "1")
    assert "1 failed, 1 error" in run.stdout

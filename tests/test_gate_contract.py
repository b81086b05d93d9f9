"""The gate's contract (issue 7), end to end as a CI job meets it: exit codes that mean one thing,
one set of reports per run, one outcome everywhere, root causes first, waivers, --expect-build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from releasegate.reference.stack import running_stack
from tests import hostile
from tests.hostile import HostileServer
from tests.support import REPO, SUITES, run_suites, write_profile
from tests.unit.conftest import clean_env
from tests.unit.summary_schema import validate_summary

RELEASEGATE = Path(sys.executable).with_name("releasegate")
LOGIN_PAGE = b"<html><head><title>Sign in - Corp SSO</title></head><body><form>...</form></body></html>"


def releasegate(*args: str, cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RELEASEGATE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=clean_env(**(env or {})))


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def stack() -> Iterator[object]:
    """One healthy reference stack (health part only) for the cases that need a live target."""
    with running_stack(only=("health",)) as running:
        yield running


@pytest.fixture
def login_page() -> Iterator[HostileServer]:
    with HostileServer(hostile.respond("200 OK", "text/html; charset=utf-8", LOGIN_PAGE)) as server:
        yield server


def health_profile(path: Path, base_url: str, **extra: object) -> Path:
    return write_profile(path, {"name": "contract", "environment": "staging", "health": {
        "base_url": base_url,
        "probes": {"live": {"path": "/healthz/live", "timeout_s": 1},
                   "ready": {"path": "/healthz/ready", "timeout_s": 1},
                   "startup": {"path": "/healthz/startup", "timeout_s": 1, "wait_s": 0.5, "period_s": 0.25}},
        "legacy": {"path": "/healthz"}, "release": {"path": "/health/ready"}}, **extra})


# --- 1. exit codes belong to verdicts ------------------------------------------------------------


@pytest.mark.parametrize(("args", "needle"), [
    (("-m", "smok"), "did you mean 'smoke'?"),
    (("--no-such-option",), "unknown option --no-such-option"),
    (("suites/nope",), "path not found: suites/nope"),
], ids=["unknown-marker", "unknown-option", "missing-path"])
def test_usage_errors_exit_64_with_one_line_and_a_no_verdict_report(tmp_path, stack, args, needle):
    report_dir = tmp_path / "reports"
    proc = releasegate("run", f"--target={stack.profile_path}", "--report-dir", str(report_dir), *args,
                       cwd=REPO)
    assert proc.returncode == 64, proc.stdout[-2000:] + proc.stderr[-2000:]
    said = [line for line in proc.stderr.splitlines() if line.startswith("releasegate: ")]
    assert len(said) == 1 and needle in said[0], proc.stderr
    summary = json.loads((report_dir / "summary.json").read_text())
    validate_summary(summary)
    assert (summary["verdict"], summary["exit_code"]) == (None, 64) and needle in summary["reason"]


@pytest.mark.parametrize(("args", "code", "needle"), [
    (("-m", "smok"), 64, "-m names unknown marker 'smok' (did you mean 'smoke'?)"),
    (("--no-such-option",), 64, "unknown option --no-such-option"),
    (("--expect-build", "git:0000000"), 2, "expected 'git:0000000'"),
], ids=["typo-marker", "unknown-option", "other-build-serving"])
def test_demo_exit_codes(tmp_path, args, code, needle):
    proc = releasegate("demo", "--report-dir", str(tmp_path / "r"), *args, cwd=tmp_path)
    assert proc.returncode == code, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert needle in proc.stdout + proc.stderr
    verdict = "ROLLBACK (exit 2)" if code == 2 else "no verdict (exit 64)"
    assert last_line(proc.stderr).endswith(verdict)  # demo's last line carries the verdict


def test_plain_pytest_on_the_suites_without_a_target_prints_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", str(SUITES), "-p", "no:cacheprovider",
                           f"--report-dir={tmp_path}"], cwd=REPO, capture_output=True, text=True,
                          env=clean_env(), timeout=60)
    assert proc.returncode == 64
    assert proc.stdout.strip() == ""
    assert proc.stderr.strip().splitlines() == [
        "Exit: releasegate: no target profile: pass --target PROFILE or set RELEASEGATE_TARGET"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_exits_130_and_says_so_in_its_reports(tmp_path, sig):
    with HostileServer(hostile.silent) as server:  # every request waits out its timeout
        profile = health_profile(tmp_path / "p.yaml", server.url,
                                 defaults={"timeouts": {"connect": 5, "read": 5, "total": 5}})
        report_dir = tmp_path / "reports"
        proc = subprocess.Popen([str(RELEASEGATE), "run", f"--target={profile}", "--report-dir",
                                 str(report_dir)], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=clean_env())
        deadline = time.monotonic() + 20
        while server.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    summary = json.loads((report_dir / "summary.json").read_text())
    assert (summary["verdict"], summary["exit_code"]) == (None, 130)
    assert "interrupted" in summary["reason"]


def test_stack_up_started_with_sigint_ignored_still_stops_on_sigint(tmp_path):
    """A script's background job inherits SIGINT ignored; `stack up` must still honour it."""
    proc = subprocess.Popen([str(RELEASEGATE), "stack", "up", "--report-dir", str(tmp_path)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert Path(proc.stdout.readline().strip()).is_file()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130
        assert "interrupted; everything started was stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


# --- 2. one run, one set of files ----------------------------------------------------------------


def test_a_run_that_could_not_start_replaces_all_three_reports(tmp_path, stack):
    report_dir = tmp_path / "reports"
    good = releasegate("run", f"--target={stack.profile_path}", "--report-dir", str(report_dir),
                       "-m", "smoke", cwd=REPO)
    assert good.returncode == 0, good.stdout[-2000:]
    before = {n: (report_dir / n).read_text() for n in ("report.html", "junit.xml", "summary.json")}
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: broken\nhealth:\n  base_url: ${RG_CONTRACT_UNSET_URL}\n")
    step_summary = tmp_path / "step.md"
    proc = releasegate("run", f"--target={bad}", "--report-dir", str(report_dir), cwd=REPO,
                       env={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert proc.returncode == 64
    assert proc.stderr.strip().splitlines() == [f"releasegate: target profile {bad}: health.base_url: "
                                                "environment variable RG_CONTRACT_UNSET_URL is not set "
                                                "(export RG_CONTRACT_UNSET_URL=... or write "
                                                "${RG_CONTRACT_UNSET_URL:-default} in the profile)"]
    after = {n: (report_dir / n).read_text() for n in before}
    assert all(after[n] != before[n] for n in before)  # all three belong to the run that failed
    summary = json.loads(after["summary.json"])
    validate_summary(summary)
    assert (summary["verdict"], summary["exit_code"], summary["checks"]) == (None, 64, [])
    assert "RG_CONTRACT_UNSET_URL" in summary["reason"]
    assert ElementTree.fromstring(after["junit.xml"]).find("testsuite").get("errors") == "1"
    assert "NO VERDICT" in after["report.html"] and "RG_CONTRACT_UNSET_URL" in after["report.html"]
    assert "no verdict (exit 64)" in step_summary.read_text()
    assert not list(report_dir.glob(".releasegate-run-*"))  # no staging left behind


# --- 3. one outcome everywhere, and the log ends with the decision -------------------------------


def test_a_login_page_in_front_of_the_service_is_failed_everywhere_never_errored(tmp_path, login_page):
    profile = health_profile(tmp_path / "p.yaml", login_page.url)
    run = run_suites(profile, tmp_path / "reports", "-m", "health")
    summary = run.summary
    failed = [c for c in summary["checks"] if c["outcome"] == "failed"]
    assert failed and not [c for c in summary["checks"] if c["outcome"] == "error"]
    suite = ElementTree.parse(run.report_dir / "junit.xml").getroot().find("testsuite")
    assert (suite.get("errors"), suite.get("failures")) == ("0", str(len(failed)))
    assert " error" not in run.stdout.splitlines()[-len(failed) - 6]  # pytest's own tally line
    assert all("HTML page 'Sign in - Corp SSO'" in c["message"] for c in failed), \
        [c["message"] for c in failed if "HTML" not in c["message"]]
    html = (run.report_dir / "report.html").read_text()
    assert "Errors" not in html.split('id="environment"')[0]


def test_the_log_has_one_line_per_failure_and_ends_with_the_verdict(tmp_path, login_page):
    profile = health_profile(tmp_path / "p.yaml", login_page.url)
    run = run_suites(profile, tmp_path / "reports", "-m", "health")
    lines = run.stdout.strip().splitlines()
    assert lines[-2].startswith("=") and "releasegate verdict: ROLLBACK (exit 1)" in lines[-2]
    assert lines[-1].startswith("readiness failed — ")
    assert "Traceback" not in run.stdout and "def test_" not in run.stdout  # no tracebacks by default
    reports = [line for line in lines if "report.html" in line]
    assert reports == [f"reports: {run.report_dir / 'report.html'}  {run.report_dir / 'junit.xml'}  "
                       f"{run.report_dir / 'summary.json'}"]  # each report path printed once
    verbose = run_suites(profile, tmp_path / "verbose", "-m", "health", "-v")
    assert "test_probes.py:" in verbose.stdout  # -v brings the tracebacks back


# --- 4. root cause first -------------------------------------------------------------------------


def test_an_unreachable_target_says_check_the_network_before_rolling_back(tmp_path):
    with hostile.refused_port() as port:
        run = run_suites(health_profile(tmp_path / "p.yaml", f"http://127.0.0.1:{port}"),
                         tmp_path / "reports", "-m", "health")
    reason = run.summary["reason"]
    assert reason.startswith(f"could not reach 127.0.0.1:{port} (connection refused")
    assert "check the runner's network" in reason and "before rolling back" in reason
    roots = [c for c in run.summary["checks"] if c["outcome"] == "failed" and "follows_from" not in c]
    assert len(roots) == 1, [c["message"] for c in roots]  # one cause, the rest follow from it


def test_checks_that_follow_from_a_503_say_so(tmp_path):
    with running_stack("db_down", only=("health",)) as stack:
        run = run_suites(stack.profile_path, tmp_path / "reports", "-m", "health")
    checks = {c["id"].split("::")[1]: c for c in run.summary["checks"]}
    root = checks["test_ready_returns_200"]
    assert "follows_from" not in root and run.summary["deciding_check"] == root["id"]
    db = checks["test_ready_reports_db_ok"]
    assert db["follows_from"] == root["id"]
    assert db["message"].startswith("follows from GET /healthz/ready → 503: ")
    junit = ElementTree.parse(run.report_dir / "junit.xml")
    case = next(c for c in junit.iter("testcase") if c.get("name") == "test_ready_reports_db_ok")
    assert case.find("failure").get("message") == db["message"]  # JUnit says the same


# --- 5. --expect-build always checks or says why it cannot ---------------------------------------


def test_expect_build_adds_the_build_check_to_a_smoke_run(tmp_path, stack):
    run = run_suites(stack.profile_path, tmp_path / "r1", "-m", "smoke", "--expect-build=git:0000000")
    build = [c for c in run.summary["checks"] if c["id"].endswith("test_release_build_id_is_expected")]
    assert build and build[0]["outcome"] == "failed"
    assert (run.returncode, run.summary["verdict"]) == (2, "ROLLBACK")
    ok = run_suites(stack.profile_path, tmp_path / "r2", "-m", "smoke", "--expect-build=git:ref1234")
    assert ok.returncode == 0 and any(c["id"].endswith("test_release_build_id_is_expected")
                                      and c["outcome"] == "passed" for c in ok.summary["checks"])


@pytest.mark.parametrize("health", [None, "no-release"], ids=["no-health-section", "no-release-section"])
def test_expect_build_fails_in_one_line_when_nothing_reports_a_build(tmp_path, login_page, health):
    data = {"name": "nobuild"}
    if health:
        data["health"] = {"base_url": login_page.url}
    profile = write_profile(tmp_path / "p.yaml", data)
    run = run_suites(profile, tmp_path / "reports", "-m", "smoke", "--expect-build=git:abc1234")
    build = next(c for c in run.summary["checks"] if c["id"].endswith("test_release_build_id_is_expected"))
    assert build["outcome"] == "failed"
    assert build["message"].startswith("--expect-build git:abc1234: nothing on ")
    assert "reports a build" in build["message"] and "\n" not in build["message"]
    assert run.returncode == 2


# --- 9. waivers ----------------------------------------------------------------------------------


def _waiver(check: str, days: int) -> dict[str, str]:
    return {"check": check, "justification": "legacy /healthz retired by ADR-42, clients moved",
            "expires": (date.today() + timedelta(days=days)).isoformat()}


def test_an_active_waiver_shows_the_failure_without_deciding_the_verdict(tmp_path):
    with running_stack("legacy_healthz_gone", only=("health",)) as stack:
        profile = stack.profile_path
        data = __import__("yaml").safe_load(profile.read_text())
        data["waivers"] = [_waiver("test_legacy_healthz_answers_as_decided", 30),
                           _waiver("test_legacy_healthz_body_matches_schema", 30),
                           _waiver("test_live_returns_200", 30)]  # passes: stale
        run = run_suites(write_profile(tmp_path / "w.yaml", data), tmp_path / "reports", "-m", "health")
    summary = run.summary
    validate_summary(summary)
    assert (run.returncode, summary["verdict"], summary["counts"]["waived"]) == (0, "GO", 2)
    waived = next(c for c in summary["checks"] if c["id"].endswith("test_legacy_healthz_answers_as_decided"))
    assert waived["outcome"] == "waived" and waived["waiver"]["state"] == "active"
    assert "/healthz returned 404" in waived["message"]
    assert any("test_live_returns_200 is stale: the check passed — remove it" in n for n in summary["notes"])
    suite = ElementTree.parse(run.report_dir / "junit.xml").getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "2")
    assert "WAIVED" in (run.report_dir / "report.html").read_text()


def test_an_expired_waiver_is_ignored_and_the_report_says_so(tmp_path):
    with running_stack("legacy_healthz_gone", only=("health",)) as stack:
        data = __import__("yaml").safe_load(stack.profile_path.read_text())
        data["waivers"] = [_waiver("test_legacy_healthz_answers_as_decided", -1)]
        run = run_suites(write_profile(tmp_path / "w.yaml", data), tmp_path / "reports", "-m", "health")
    assert (run.returncode, run.summary["verdict"]) == (2, "ROLLBACK")
    assert any("expired on" in n and "ignored" in n for n in run.summary["notes"])


@pytest.mark.parametrize("key", ["waivers", "severity"])
def test_a_waiver_or_override_naming_no_check_stops_the_run(tmp_path, stack, key):
    data = __import__("yaml").safe_load(stack.profile_path.read_text())
    data[key] = [_waiver("test_ready_retruns_200", 3)] if key == "waivers" else \
        {"test_ready_retruns_200": "warning"}
    run = run_suites(write_profile(tmp_path / "w.yaml", data), tmp_path / "reports", "-m", "smoke")
    assert run.returncode == 64
    assert "names no check: test_ready_retruns_200" in run.summary["reason"]
    assert "did you mean 'test_ready_returns_200'?" in run.summary["reason"]


# --- 6. hosts visible, secrets not ---------------------------------------------------------------


def test_a_url_from_a_variable_shows_its_host_but_not_its_credentials(tmp_path, login_page):
    profile = write_profile(tmp_path / "p.yaml", {"name": "vars", "health": {
        "base_url": "${RG_CONTRACT_URL}", "probes": {"live": {"path": "/healthz/live"}}}})
    host = login_page.url.removeprefix("http://")
    run = run_suites(profile, tmp_path / "reports", "-m", "health",
                     env={"RG_CONTRACT_URL": f"http://ops:pw-0987654321@{host}"})
    outputs = run.outputs()
    assert "pw-0987654321" not in outputs
    live = next(c for c in run.summary["checks"] if c["id"].endswith("test_live_returns_200"))
    assert f"GET http://ops:***@{host}/healthz/live" in live["message"]
    reproduce = live["evidence"]["requests"][0]["reproduce"]
    assert reproduce == 'curl -sS -i --max-time 5 "${RG_CONTRACT_URL}"/healthz/live'  # as $VAR
    assert os.environ.get("RG_CONTRACT_URL") is None

"""The end of a run: check results in, root causes linked, the verdict decided, the three reports
published together, and the log's last lines — on the xdist controller."""

from __future__ import annotations

import dataclasses
import re

import pytest

from releasegate.gate import causes
from releasegate.gate.exitcodes import EXIT_INTERRUPTED, EXIT_NO_REACH, EXIT_UNUSABLE
from releasegate.gate.outputs import step_summary, write_no_verdict
from releasegate.gate.report import checklist_markdown, inject, release_view_html, write_summary
from releasegate.gate.results import CheckMeta, CheckResult
from releasegate.gate.run import RunState, say
from releasegate.gate.terminal import report_line, result_lines, verdict_title
from releasegate.gate.verdict import decide


class ResultCollector:
    """Turns test reports into check results; runs where reports end up (the xdist controller)."""

    def __init__(self, run: RunState) -> None:
        self.run = run

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            text = str(report.longrepr).splitlines()
            lines = [line.removeprefix("E").strip() for line in text if line.startswith("E ")] \
                or [line.strip() for line in text if line.strip()]
            self.run.collect_errors.append(
                f"{report.nodeid}: {lines[-1] if lines else 'collection error'}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "releasegate", None)
        if not data:
            return
        run = self.run
        run.facts.update(data.get("facts", {}))
        run.notes += [n for n in data.get("notes", []) if n not in run.notes]
        result = run.results.get(report.nodeid)
        if result is None:
            result = CheckResult(report.nodeid, CheckMeta(**data["meta"]))
            run.results[report.nodeid] = result
        result.duration_s += report.duration
        if data.get("evidence"):
            result.evidence = data["evidence"]
        if data.get("waiver"):
            result.waiver = data["waiver"]
        if data.get("inconclusive"):
            result.outcome, result.message = "inconclusive", data["message"]
            result.remedy = data.get("remedy")
        elif result.waiver and result.waiver["state"] == "active" and report.when == "call":
            result.outcome, result.message = "waived", data["message"]
        elif report.skipped and report.when in ("setup", "call"):
            result.outcome, result.message = "skipped", data["message"]
        elif report.failed:
            if report.when == "call":
                result.outcome, result.message = "failed", data["message"]
                result.remedy, result.cause = data.get("remedy"), data.get("cause")
                result.kind = data.get("kind")
            elif data.get("no_server"):
                result.outcome, result.message = "error", data["message"]
                run.no_server = run.no_server or data["message"].removeprefix("ServerUnavailable: ")
            elif data.get("bug"):
                result.outcome = "error"
                result.message = f"a bug in the check, not a verdict on the target: {data['message']}"
            elif result.outcome != "failed":
                result.outcome = "error"
                result.message = result.message or f"error in {report.when}: {data['message']}"


def decide_run(run: RunState) -> None:
    """Link root causes, decide the verdict, write summary.json and the job summary."""
    results = list(run.results.values())
    causes.link(results)
    blind = causes.runner_cannot_reach(results)
    if blind:  # not ROLLBACK: a runner without DNS or a route says nothing about the target
        where = ", ".join(f"{u.host} ({u.why})" for u in blind)
        run.no_verdict = (f"no verdict: the runner reached no host of the target ({where}) — "
                          "check its network (DNS, VPN, proxy, routes); nothing was judged",
                          EXIT_NO_REACH)
        return
    decision = decide(r.judged() for r in results)
    down = causes.nothing_answered(results)
    if down:
        where = ", ".join(f"{u.host} ({u.why})" for u in down)
        decision = dataclasses.replace(decision, reason=(
            f"could not reach {where}: nothing on the target answered — check the runner's "
            f"network (DNS, VPN, firewall, allowlist) before rolling back; {decision.reason}"))
    for r in results:
        if r.waiver and r.waiver["state"] == "stale":
            run.notes.append(f"waiver for {r.waiver['check']} is stale: the check passed — remove it")
    run.decision = decision
    header = run.header()
    write_summary(run.outputs.path("summary.json"), header, decision, results)
    step_summary(checklist_markdown(header, decision, results))


def finish(session: pytest.Session, run: RunState) -> None:
    """Publish the three reports (or the no-verdict set), print the end of the log, set the
    exit code."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if run.no_verdict is not None:
        why, code = run.no_verdict
        run.outputs.discard()
        write_no_verdict(run.report_dir, target=run.target.name, reason=why, exit_code=code,
                         started=run.started, checks=[r.as_summary() for r in run.results.values()])
        say(why if code != EXIT_INTERRUPTED else "interrupted; no verdict (exit 130)")
        if run.verdict_exit_codes or code == EXIT_UNUSABLE:  # a releasegate run that never started
            session.exitstatus = code
        return
    decision = run.decision
    assert decision is not None
    finalize_html(run)
    finalize_junit(run)
    published = run.outputs.publish()
    if reporter is not None:
        results = list(run.results.values())
        for line in result_lines(results, decision, run.notes):
            reporter.write_line(line)
        reporter.write_line(report_line(run.report_dir) if published else
                            "releasegate: the reports could not all be written; see above")
        colour = {"GO": "green", "ROLLBACK": "red", "INVESTIGATE": "yellow"}[decision.verdict]
        reporter.write_sep("=", verdict_title(decision, int(decision.exit_code)), bold=True,
                           **{colour: True})
        reporter.write_line(decision.reason)
    if run.verdict_exit_codes:
        session.exitstatus = int(decision.exit_code)


def finalize_html(run: RunState) -> None:
    path = run.outputs.path("report.html")
    if not path.is_file() or run.decision is None:
        return
    view = release_view_html(run.header(), run.decision, list(run.results.values()))
    path.write_text(inject(path.read_text(encoding="utf-8"), view), encoding="utf-8")


def junit_names(nodeid: str) -> list[str]:
    """A node id as JUnit XML names it: ``suites.health.test_x`` (classname) and the test's name;
    pytest's junitxml mangle_test_address, which pytest keeps private (_pytest.junitxml)."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return names


def finalize_junit(run: RunState) -> None:
    """JUnit says what summary.json says: a follower's failure message names its root cause."""
    path = run.outputs.path("junit.xml")
    followers = {r.id: r.message for r in run.results.values() if r.follows}
    if not path.is_file() or not followers:
        return
    from xml.etree import ElementTree

    wanted = {}
    for nodeid, message in followers.items():
        names = junit_names(nodeid)
        wanted[(".".join(names[:-1]), names[-1])] = message
    tree = ElementTree.parse(path)
    for case in tree.iter("testcase"):
        message = wanted.get((case.get("classname", ""), case.get("name", "")))
        failure = case.find("failure")
        if message is not None and failure is not None:
            failure.set("message", message)
    tree.write(path, encoding="utf-8", xml_declaration=True)

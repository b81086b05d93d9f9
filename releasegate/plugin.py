"""The pytest plugin (pytest11 entry point): options, markers, target, evidence, verdict, outputs.

It stays inert in a plain pytest run: markers are registered, nothing else happens until a
target is given (``--target`` or RELEASEGATE_TARGET).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from releasegate import __version__
from releasegate.errors import CheckFailed, Inconclusive, ProfileError
from releasegate.evidence import Evidence
from releasegate.http import HttpTarget
from releasegate.profile import Target, load_target
from releasegate.redact import Redactor
from releasegate.report import (
    checklist_html,
    checklist_markdown,
    verdict_banner_html,
    write_summary,
)
from releasegate.results import AREAS, CheckMeta, CheckResult
from releasegate.verdict import Decision, decide

EXIT_UNUSABLE = 64  # the run could not start: bad profile or a check without its markers
MARKERS = {
    "smoke": "the post-deploy smoke subset: a few fast checks across areas",
    "health": "health probes: live, ready, startup, legacy, release readiness (001, 002, 004)",
    "mcp": "MCP server over streamable HTTP (000 §1, 003)",
    "readapi": "Read API: REST, SSE, auth and allowlist (000 §3)",
    "versioning": "API versioning and legacy endpoints (001 §6.4)",
    "data": "Postgres data checks, read-only (000 §2)",
    "redis": "Redis health and alarms (001 §6.4, 003)",
    "backup": "backup restorability rehearsed on throwaway replicas (001 §6.3, 004)",
    "rollback": "rollback criteria (002 §6, 004)",
    "observability": "metrics, alert rules, Sentry, logs (001 §6.2, 003, 004)",
    "runbook(file, section, item)": "the runbook line a check verifies, e.g. runbook('001', '§6.1', "
    "'/healthz/live returns 200')",
    "severity(level, gate=None)": "blocker (failure = ROLLBACK) or warning (INVESTIGATE); "
    "gate='readiness' or 'feedback' picks the exit code",
    "remedy(text)": "what to do when the check fails: the runbook's troubleshooting or incident "
    "step, shown beside the failure",
}
STATE = pytest.StashKey["RunState"]()
DEFERRED = pytest.StashKey[BaseException]()  # what a fixture saw of the target, raised in the call
EVIDENCE = pytest.StashKey[Evidence]()
META = pytest.StashKey[CheckMeta]()


class RunState:
    """Everything one releasegate run knows; lives on the config stash."""

    def __init__(self, target: Target, report_dir: Path, verdict_exit_codes: bool,
                 expect_build: str | None, allow_mutations: bool) -> None:
        self.target = target
        self.report_dir = report_dir
        self.verdict_exit_codes = verdict_exit_codes
        self.expect_build = expect_build
        self.allow_mutations = allow_mutations
        self.redactor = target.redactor()
        self.results: dict[str, CheckResult] = {}
        self.facts: dict[str, Any] = {}
        self.started = time.time()
        self.decision: Decision | None = None

    def header(self) -> dict[str, Any]:
        facts_display = {"target": f"{self.target.name} ({self.target.path})",
                         "expected environment": self.target.environment or "(not set)",
                         "suite version": __version__}
        facts_display.update(self.facts)
        facts_display.update({f"meta.{k}": v for k, v in self.target.meta.items()})
        if self.allow_mutations:
            facts_display["mutations"] = "ALLOWED (--allow-mutations): checks may change the target"
        return {
            "target": self.target.name,
            "started_at": datetime.fromtimestamp(self.started, timezone.utc).isoformat(
                timespec="seconds"),
            "duration_s": round(time.time() - self.started, 2),
            "suite_version": __version__,
            "facts": self.redactor.value(dict(self.facts)),
            "facts_display": self.redactor.value(facts_display),
        }


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("releasegate", "releasegate post-deploy checks")
    group.addoption("--target", metavar="PROFILE", default=os.environ.get("RELEASEGATE_TARGET"),
                    help="target profile YAML (default: $RELEASEGATE_TARGET)")
    group.addoption("--report-dir", metavar="DIR", default=None,
                    help="where report.html, junit.xml and summary.json go (default: reports/)")
    group.addoption("--verdict-exit-codes", action="store_true", default=False,
                    help="exit 0 GO, 1/2 ROLLBACK, 3/4 INVESTIGATE instead of pytest's codes")
    group.addoption("--expect-build", metavar="BUILD_ID", default=None,
                    help="the build_id the target must report (overrides health.release.build_id)")
    group.addoption("--allow-mutations", action="store_true", default=False,
                    help="let checks that change the target run (kill switch, rate-limit probe)")


def state(config: pytest.Config) -> RunState | None:
    return config.stash.get(STATE, None)


def target_of(config: pytest.Config) -> Target | None:
    """The run's target at collection time (for parametrizing checks from the profile)."""
    run = state(config)
    return run.target if run else None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    profile = config.getoption("target")
    if not profile:
        return
    try:
        target = load_target(profile)
    except ProfileError as exc:
        pytest.exit(f"releasegate: {exc}", returncode=EXIT_UNUSABLE)
    report_dir = Path(config.getoption("report_dir") or "reports").resolve()
    run = RunState(target, report_dir, config.getoption("verdict_exit_codes"),
                   config.getoption("expect_build"), config.getoption("allow_mutations"))
    config.stash[STATE] = run
    if not hasattr(config, "workerinput"):
        report_dir.mkdir(parents=True, exist_ok=True)
        if not config.option.xmlpath:
            config.option.xmlpath = str(report_dir / "junit.xml")
        if not getattr(config.option, "htmlpath", None):
            config.option.htmlpath = str(report_dir / "report.html")
            config.option.self_contained_html = True
        config.pluginmanager.register(ResultCollector(run), "releasegate-results")
        config.pluginmanager.register(HtmlHooks(run), "releasegate-html")
        _add_ci_metadata(config, run.redactor)


def _add_ci_metadata(config: pytest.Config, redactor: Redactor) -> None:
    """pytest-metadata knows many CI systems but not GitHub Actions; add its run facts."""
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:  # pragma: no cover - pytest-metadata comes with pytest-html
        return
    meta = config.stash.get(metadata_key, None)
    if meta is None:
        return
    env = os.environ
    if env.get("GITHUB_RUN_ID"):
        meta["GitHub run"] = (f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}"
                              f"/actions/runs/{env['GITHUB_RUN_ID']}")
        for key in ("GITHUB_SHA", "GITHUB_REF", "GITHUB_WORKFLOW", "GITHUB_ACTOR"):
            if env.get(key):
                meta[key] = env[key]
    for key, value in list(meta.items()):
        meta[key] = redactor.value(value, key) if isinstance(value, (str, dict, list)) else value


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = state(config)
    if run is None:
        return []
    return [f"releasegate {__version__}: target {run.target.name} ({run.target.path}), "
            f"reports in {run.report_dir}"]


def check_meta(item: pytest.Item, overrides: dict[str, str]) -> CheckMeta | None:
    """Read a check's markers; None for tests that are not releasegate checks."""
    names = {m.name for m in item.iter_markers()}
    areas = [a for a in AREAS if a in names]
    if not areas:
        return None
    runbook = item.get_closest_marker("runbook")
    severity = item.get_closest_marker("severity")
    if runbook is None or len(runbook.args) != 3 or severity is None or not severity.args:
        raise pytest.UsageError(
            f"{item.nodeid}: a check needs @pytest.mark.runbook(file, section, item) and "
            f"@pytest.mark.severity('blocker'|'warning')")
    level = overrides.get(item.originalname, overrides.get(item.nodeid, severity.args[0]))
    if level not in ("blocker", "warning"):
        raise pytest.UsageError(f"{item.nodeid}: severity must be blocker or warning, not {level!r}")
    file, section, text = runbook.args
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        text = f"{text} [{callspec.id}]"  # one checklist line per parameter
    remedy = item.get_closest_marker("remedy")
    return CheckMeta(area=areas[0], runbook=f"{file} {section}", item=text, severity=level,
                     gate=severity.kwargs.get("gate"), smoke="smoke" in names,
                     remedy=str(remedy.args[0]) if remedy and remedy.args else None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = state(config)
    overrides = dict(run.target.severity_overrides) if run else {}
    used: set[str] = set()
    try:
        for item in items:
            meta = check_meta(item, overrides)
            if meta is None:
                continue
            if run is None:
                raise pytest.UsageError(
                    "no target profile: pass --target PROFILE or set RELEASEGATE_TARGET")
            item.stash[META] = meta
            used |= {item.originalname, item.nodeid} & overrides.keys()
    except pytest.UsageError as exc:
        pytest.exit(f"releasegate: {exc}", returncode=EXIT_UNUSABLE)
    unused = sorted(overrides.keys() - used)
    if unused:
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                f"releasegate: severity overrides name no collected check: {', '.join(unused)}"),
            stacklevel=2)


# --- fixtures the suites share ------------------------------------------------------------------


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The validated target profile of this run."""
    run = state(pytestconfig)
    if run is None:
        pytest.skip("no target profile given (--target or RELEASEGATE_TARGET)")
    return run.target


@pytest.fixture(scope="session")
def run_state(pytestconfig: pytest.Config, target: Target) -> RunState:
    run = state(pytestconfig)
    assert run is not None
    return run


@pytest.fixture(scope="session")
def redactor(run_state: RunState) -> Redactor:
    return run_state.redactor


@pytest.fixture
def evidence(request: pytest.FixtureRequest, redactor: Redactor) -> Evidence:
    """What this check saw; attached to its result in every output, redacted."""
    item = request.node
    if EVIDENCE not in item.stash:
        item.stash[EVIDENCE] = Evidence(redactor)
    return item.stash[EVIDENCE]


def require_section(target: Target, dotted: str) -> Any:
    """The profile section a check needs, or skip the check as N/A for this target."""
    __tracebackhide__ = True
    section = target.section(dotted)
    if section is None:
        pytest.skip(f"{dotted}: not configured in target {target.name}")
    return section


@pytest.fixture(scope="session")
def http_target_factory(target: Target) -> Iterator[Any]:
    """Pooled HTTP clients, one per base URL, closed at the end of the run."""
    made: dict[tuple[str, str], HttpTarget] = {}

    def make(section: dict[str, Any]) -> HttpTarget:
        verify: bool | str = section.get("ca_bundle") or section.get("verify_tls", True)
        key = (section["base_url"], json.dumps(section.get("headers", {}), sort_keys=True))
        if key not in made:
            made[key] = HttpTarget(section["base_url"], timeouts=target.timeouts,
                                   body_limit=target.body_limit,
                                   headers=section.get("headers"), verify=verify)
        return made[key]

    yield make
    for client in made.values():
        client.close()


@pytest.fixture(scope="session")
def record_fact(run_state: RunState) -> Any:
    """Let a check publish a fact about the target (build_id, config_hash) for the report."""

    def record(**facts: Any) -> None:
        run_state.facts.update({k: v for k, v in facts.items() if v is not None})

    return record


# --- results, redaction, verdict ---------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    """A fixture that notices the target misbehaving fails the check, it is not a setup error.

    Shared fixtures (the /health/ready body, an MCP session) raise CheckFailed when the target
    answers wrong; pytest would count that an error in setup. It is kept and raised again as the
    check's own result (pytest_runtest_call), so summary, JUnit, terminal and report agree.
    """
    try:
        return (yield)
    except (CheckFailed, Inconclusive) as exc:
        if META not in item.stash:
            raise
        item.stash[DEFERRED] = exc
        return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    __tracebackhide__ = True
    seen = item.stash.get(DEFERRED, None)
    if seen is not None:
        raise seen


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    run = state(item.config)
    meta = item.stash.get(META, None)
    if run is None or meta is None:
        return report
    redactor = run.redactor
    if call.excinfo is not None and call.excinfo.errisinstance(Inconclusive):
        reason = " ".join(str(call.excinfo.value).split()) or "no data"
        report.outcome = "skipped"  # neither passed nor failed; JUnit writes it as skipped
        report.longrepr = (str(item.path), item.reportinfo()[1] or 0, f"Inconclusive: {reason}")
        report.inconclusive = True
    message = redactor.text(_message(report, call))
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and call.excinfo is not None and call.excinfo.errisinstance(CheckFailed):
        crash.message = message  # the short summary shows the reason, not the exception class
    _redact_report(report, redactor)
    data: dict[str, Any] = {"meta": meta.as_dict(), "message": message}
    if getattr(report, "inconclusive", False):
        data["inconclusive"] = True
    if call.excinfo is not None and call.excinfo.errisinstance(CheckFailed):
        data["check_failed"] = True  # the target misbehaved, even if a fixture noticed it
        failure = call.excinfo.value
        if failure.remedy:
            data["remedy"] = redactor.text(failure.remedy)
        if failure.cause:
            data["cause"] = redactor.text(failure.cause)
    ev = item.stash.get(EVIDENCE, None)
    if ev is not None and (report.when == "call" or report.failed):
        data["evidence"] = ev.as_dict()
        if data["evidence"]:
            report.extras = [*getattr(report, "extras", []), _html_extra(data["evidence"])]
    if run.facts:
        data["facts"] = redactor.value(dict(run.facts))
    report.releasegate = data
    if report.when == "setup":  # junitxml reads them from the teardown report, made from the item
        item.user_properties += [("area", meta.area), ("runbook", meta.runbook),
                                 ("item", meta.item), ("severity", meta.severity)]
    return report


def _html_extra(evidence: dict[str, Any]) -> dict[str, Any]:
    from pytest_html import extras

    return extras.json(evidence, name="evidence")


def _message(report: pytest.TestReport, call: pytest.CallInfo[None]) -> str:
    """The one-line reason of a failure or skip."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ").removeprefix("Inconclusive: ")
    if report.failed and call.excinfo is not None:
        text = str(call.excinfo.value).strip() or call.excinfo.typename
        first = text.splitlines()[0]
        return first if call.excinfo.errisinstance(AssertionError) else f"{call.excinfo.typename}: {first}"
    return ""


def _redact_report(report: pytest.TestReport, redactor: Redactor) -> None:
    """Mask secrets in the traceback text and captured output before any writer sees them."""
    if report.longrepr is not None and not isinstance(report.longrepr, tuple):
        text = str(report.longrepr)
        masked = redactor.text(text)
        if masked != text:
            report.longrepr = masked
    elif isinstance(report.longrepr, tuple):
        path, line, reason = report.longrepr
        report.longrepr = (path, line, redactor.text(reason))
    report.sections = [(title, redactor.text(body)) for title, body in report.sections]


class ResultCollector:
    """Turns test reports into check results; runs where reports end up (the xdist controller)."""

    def __init__(self, run: RunState) -> None:
        self.run = run

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "releasegate", None)
        if not data:
            return
        run = self.run
        run.facts.update(data.get("facts", {}))
        result = run.results.get(report.nodeid)
        if result is None:
            result = CheckResult(report.nodeid, CheckMeta(**data["meta"]))
            run.results[report.nodeid] = result
        result.duration_s += report.duration
        if data.get("evidence"):
            result.evidence = data["evidence"]
        if data.get("inconclusive"):
            result.outcome, result.message = "inconclusive", data["message"]
        elif report.skipped and report.when in ("setup", "call"):
            result.outcome, result.message = "skipped", data["message"]
        elif report.failed:
            if report.when == "call":
                result.outcome, result.message = "failed", data["message"]
            elif result.outcome != "failed":
                result.outcome = "error"
                result.message = result.message or f"error in {report.when}: {data['message']}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = state(session.config)
    if run is None or hasattr(session.config, "workerinput") or exitstatus == EXIT_UNUSABLE:
        return
    if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR,
                      pytest.ExitCode.USAGE_ERROR):
        return
    run.decision = decide(r.judged() for r in run.results.values())
    header = run.header()
    write_summary(run.report_dir / "summary.json", header, run.decision, run.results.values())
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as fh:
            fh.write(checklist_markdown(header, run.decision, run.results.values()))
    if run.verdict_exit_codes:
        session.exitstatus = int(run.decision.exit_code)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    run = state(config)
    if run is None or run.decision is None:
        return
    d = run.decision
    terminalreporter.write_sep("=", f"releasegate verdict: {d.verdict} (exit {int(d.exit_code)})",
                               bold=True, red=d.verdict == "ROLLBACK", green=d.verdict == "GO",
                               yellow=d.verdict == "INVESTIGATE")
    terminalreporter.write_line(run.redactor.text(d.reason))
    for name in ("report.html", "junit.xml", "summary.json"):
        terminalreporter.write_line(f"  {name:<13} {run.report_dir / name}")


class HtmlHooks:
    """pytest-html hooks, registered only for a releasegate run on the controller."""

    COLUMNS = (("Area", "area"), ("Runbook", "runbook"), ("Check", "item"), ("Severity", "severity"))

    def __init__(self, run: RunState) -> None:
        self.run = run

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"releasegate — {self.run.target.name}"

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        for offset, (title, key) in enumerate(self.COLUMNS):
            cells.insert(1 + offset, f'<th class="sortable" data-column-type="{key}">{title}</th>')

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        from html import escape

        meta = (getattr(report, "releasegate", None) or {}).get("meta", {})
        for offset, (_, key) in enumerate(self.COLUMNS):
            cells.insert(1 + offset, f'<td class="col-{key}">{escape(str(meta.get(key, "")))}</td>')

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str],
                                    postfix: list[str], session: pytest.Session) -> None:
        decision = self.run.decision
        if decision is None:
            return
        prefix.append(verdict_banner_html(self.run.header(), decision))
        prefix.append(checklist_html(self.run.results.values()))

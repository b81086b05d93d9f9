"""The pytest plugin (pytest11 entry point): options, markers, target, evidence, verdict, outputs.

It stays inert in a plain pytest run: markers are registered, nothing else happens until a
target is given (``--target`` or RELEASEGATE_TARGET) or releasegate's own suites are collected.

The gate's contract (issue 7): exit codes 0-4 only for a verdict; 64 when the run could not start
(bad profile, unknown option or marker, missing path, a check without its markers, a waiver or
override naming no check), 70 when releasegate itself crashed, 130 when interrupted. A target's
misbehaviour is a failure everywhere, also when a fixture noticed it. The three reports are
replaced together (releasegate/gate/outputs.py).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from releasegate import __version__
from releasegate.core.errors import CheckFailed, Inconclusive, NotApplicable, ProfileError, ServerUnavailable
from releasegate.core.evidence import Evidence
from releasegate.core.paths import SUITES
from releasegate.core.profile import Target, load_target
from releasegate.core.redact import Redactor
from releasegate.gate import waivers
from releasegate.gate.exitcodes import EXIT_INTERRUPTED, EXIT_NO_SERVER, EXIT_SOFTWARE, EXIT_UNUSABLE
from releasegate.gate.finish import ResultCollector, decide_run, finish
from releasegate.gate.htmlhooks import HtmlHooks
from releasegate.gate.outputs import write_no_verdict
from releasegate.gate.results import AREAS, CheckMeta
from releasegate.gate.run import RunState
from releasegate.gate.usage import exit_64_on_usage_errors, usage_reason
from releasegate.http.client import HttpTarget

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
    "build_identity": "the check --expect-build needs: selected whatever -m says when it is given",
}
STATE = pytest.StashKey["RunState"]()
DEFERRED = pytest.StashKey[BaseException]()  # what a fixture saw of the target, raised in the call
EVIDENCE = pytest.StashKey[Evidence]()
META = pytest.StashKey[CheckMeta]()
WAIVER = pytest.StashKey[waivers.Waiver]()
NO_TARGET = "no target profile: pass --target PROFILE or set RELEASEGATE_TARGET"





# --- options and the command line's usage errors -------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("releasegate", "releasegate post-deploy checks")
    group.addoption("--target", metavar="PROFILE", default=os.environ.get("RELEASEGATE_TARGET"),
                    help="target profile YAML (default: $RELEASEGATE_TARGET)")
    group.addoption("--report-dir", metavar="DIR", default=None,
                    help="where report.html, junit.xml and summary.json go (default: reports/)")
    group.addoption("--verdict-exit-codes", action="store_true", default=False,
                    help="exit 0 GO, 1/2 ROLLBACK, 3/4 INVESTIGATE, 64 could not start, "
                    "130 interrupted, instead of pytest's codes")
    group.addoption("--expect-build", metavar="BUILD_ID", default=None,
                    help="the build_id the target must report (overrides health.release.build_id); "
                    "the build identity check then runs whatever -m selects")
    group.addoption("--allow-mutations", action="store_true", default=False,
                    help="let checks that change the target run (kill switch, rate-limit probe)")
    exit_64_on_usage_errors(parser)


# --- configuration -------------------------------------------------------------------------------


def state(config: pytest.Config) -> RunState | None:
    return config.stash.get(STATE, None)


def target_of(config: pytest.Config) -> Target | None:
    """The run's target at collection time (for parametrizing checks from the profile)."""
    run = state(config)
    return run.target if run else None


def _runs_releasegate_suites(config: pytest.Config) -> bool:
    """Were releasegate's own suites asked for (an argument inside suites/)?"""
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        if path == SUITES or SUITES in path.parents:
            return True
    return False


def _report_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("report_dir") or "reports").resolve()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    controller = not hasattr(config, "workerinput")
    profile = config.getoption("target")
    if not profile:
        if _runs_releasegate_suites(config) and controller:
            write_no_verdict(_report_dir(config), target=None, reason=NO_TARGET,
                             exit_code=EXIT_UNUSABLE)
            pytest.exit(f"releasegate: {NO_TARGET}", returncode=EXIT_UNUSABLE)
        return
    try:
        target = load_target(profile)
    except ProfileError as exc:
        if controller:
            write_no_verdict(_report_dir(config), target=None, reason=str(exc),
                             exit_code=EXIT_UNUSABLE)
        pytest.exit(f"releasegate: {exc}", returncode=EXIT_UNUSABLE)
    run = RunState(target, _report_dir(config), config.getoption("verdict_exit_codes"),
                   config.getoption("expect_build"), config.getoption("allow_mutations"), controller)
    config.stash[STATE] = run
    # A check's locals hold the target's raw answers and the profile's credentials, and pytest
    # prints them cut and wrapped, where no secret stays whole to be masked: off in gate runs.
    run.showlocals_refused = bool(config.option.showlocals)
    config.option.showlocals = False
    if not controller:
        return
    run.outputs.prepare()
    config.option.xmlpath = str(run.outputs.path("junit.xml"))
    config.option.htmlpath = str(run.outputs.path("report.html"))
    config.option.self_contained_html = True
    given = [str(a) for a in config.invocation_params.args]
    if config.get_verbosity() <= 0:  # one line per failed check; tracebacks with -v
        if not any(a.startswith("--tb") for a in given):
            config.option.tbstyle = "no"
        if not any(re.match(r"^-r\w*$|^--report-chars", a) for a in given):
            config.option.reportchars = ""
    if run.expect_build:
        config.pluginmanager.register(KeepBuildIdentity(), "releasegate-build-identity")
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
    lines = [f"releasegate {__version__}: target {run.target.name} ({run.target.path}), "
             f"reports in {run.report_dir}"]
    if run.showlocals_refused:
        lines.append("releasegate: --showlocals is off in a gate run: a check's locals hold raw "
                     "answers and credentials (-v shows the tracebacks)")
    return lines


# --- collection ----------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Any:
    """A usage error during collection (unknown -m marker, a path that does not exist, a check
    without its markers) ends the run as "could not start" with one line, not pytest's 4."""
    try:
        return (yield)
    except pytest.UsageError as exc:
        run = state(session.config)
        if run is None:
            if str(exc) == NO_TARGET:
                pytest.exit(f"releasegate: {NO_TARGET}", returncode=EXIT_UNUSABLE)
            raise
        known = [line.split(":")[0].split("(")[0] for line in session.config.getini("markers")]
        run.no_verdict = (usage_reason(str(exc), known), EXIT_UNUSABLE)
        session.items = []
        session.testscollected = 0
        return None


def closest_marker(item: pytest.Item, name: str) -> pytest.Mark | None:
    """The marker that applies to this checklist line: a parameter's own beats its function's.

    pytest lists a function's marks before its parameters' (so `get_closest_marker` returns the
    function's default), but a `pytest.param(..., marks=...)` from the profile — a declared
    assertion's severity, runbook line or remedy — is the more specific one.
    """
    callspec = getattr(item, "callspec", None)
    own = next((m for m in getattr(callspec, "marks", ()) if m.name == name), None)
    return own or item.get_closest_marker(name)


def check_meta(item: pytest.Item, overrides: dict[str, str]) -> CheckMeta | None:
    """Read a check's markers; None for tests that are not releasegate checks."""
    names = {m.name for m in item.iter_markers()}
    areas = [a for a in AREAS if a in names]
    if not areas:
        return None
    runbook = closest_marker(item, "runbook")
    severity = closest_marker(item, "severity")
    if runbook is None or len(runbook.args) != 3 or severity is None or not severity.args:
        raise pytest.UsageError(
            f"{item.nodeid}: a check needs @pytest.mark.runbook(file, section, item) and "
            f"@pytest.mark.severity('blocker'|'warning')")
    original = getattr(item, "originalname", item.name)
    level = next((v for k, v in overrides.items() if waivers.matches(k, item.nodeid, original)),
                 severity.args[0])
    if level not in ("blocker", "warning"):
        raise pytest.UsageError(f"{item.nodeid}: severity must be blocker or warning, not {level!r}")
    file, section, text = runbook.args
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        text = f"{text} [{callspec.id}]"  # one checklist line per parameter
    remedy = closest_marker(item, "remedy")
    return CheckMeta(area=areas[0], runbook=f"{file} {section}", item=text, severity=level,
                     gate=severity.kwargs.get("gate"), smoke="smoke" in names,
                     remedy=str(remedy.args[0]) if remedy and remedy.args else None, name=original)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = state(config)
    overrides = dict(run.target.severity_overrides) if run else {}
    collected: set[str] = set()
    for item in items:
        meta = check_meta(item, overrides)
        if meta is None:
            continue
        if run is None:
            raise pytest.UsageError(NO_TARGET)
        item.stash[META] = meta
        collected.add(meta.name)
        waiver = next((w for w in run.waivers
                       if waivers.matches(w.check, item.nodeid, meta.name)), None)
        if waiver is not None:
            item.stash[WAIVER] = waiver
    if run is None:
        return
    for what, names in (("severity override", overrides), ("waiver", [w.check for w in run.waivers])):
        unknown = waivers.unknown(names, frozenset(collected))
        if unknown:  # not among the checks collected: perhaps among those another selection has
            known = waivers.check_names(SUITES) | collected
            unknown = waivers.unknown(unknown, known)
        if unknown:
            hints = [f"{n!r}: did you mean {close[0]!r}?" for n in unknown
                     if (close := difflib.get_close_matches(waivers.base_name(n), known, n=1))]
            raise pytest.UsageError(
                f"target profile {run.target.path}: {what} names no check: {', '.join(unknown)}"
                + (f" ({'; '.join(hints)})" if hints else "") + " — fix the name or remove it")
    today = date.today()
    for w in run.waivers:
        if not w.active(today):
            run.notes.append(f"waiver for {w.check} expired on {w.expires.isoformat()}: ignored "
                             "— renew it with a new justification or fix the check")


class KeepBuildIdentity:
    """With --expect-build the build identity check runs whatever -m selects: a smoke run that
    silently skipped the very check the option asks for would be a GO that verified nothing."""

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> Any:
        before = list(items)
        result = yield
        selected = set(map(id, items))
        items += [i for i in before if id(i) not in selected and i.get_closest_marker("build_identity")]
        return result


# --- fixtures the suites share -------------------------------------------------------------------


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The validated target profile of this run."""
    run = state(pytestconfig)
    if run is None:
        pytest.skip(NO_TARGET)
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
        raise NotApplicable(f"{dotted}: not configured in target {target.name}")
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


# --- running a check -----------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Any:
    """A fixture that notices the target misbehaving fails the check, it is not a setup error.

    Shared fixtures (the /health/ready body, an MCP session) raise CheckFailed when the target
    answers wrong; pytest would count that an error in setup. It is kept and raised again as the
    check's own result (pytest_runtest_call), so summary, JUnit, terminal and report agree.
    """
    try:
        return (yield)
    except NotApplicable as exc:
        pytest.skip(str(exc))
    except (CheckFailed, Inconclusive) as exc:
        if META not in item.stash:
            raise
        item.stash[DEFERRED] = exc
        return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    __tracebackhide__ = True
    seen = item.stash.get(DEFERRED, None)
    if seen is not None:
        raise seen
    try:
        return (yield)
    except NotApplicable as exc:
        pytest.skip(str(exc))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    run = state(item.config)
    meta = item.stash.get(META, None)
    if run is None or meta is None:
        return report
    redactor = run.redactor
    if report.skipped and isinstance(report.longrepr, tuple) and call.excinfo is not None \
            and not call.excinfo.errisinstance(Inconclusive):
        # N/A raised by a view (NotApplicable) is skipped from the gate's hook: show the check's
        # own place, as a skip marker would, not the hook's.
        path, line = item.reportinfo()[:2]
        report.longrepr = (str(path), (line or 0) + 1, report.longrepr[2])
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
    if report.when == "call" and report.failed and call.excinfo is not None \
            and not call.excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
        # Not a verdict on the target (those are CheckFailed/assert): a bug in the check, or the
        # runner lacking a throwaway server. pytest, JUnit and pytest-html tell an error from a
        # failure by the phase, so it is reported as the error it is everywhere.
        report.when = "setup"
        data["no_server" if call.excinfo.errisinstance(ServerUnavailable) else "bug"] = True
    if call.excinfo is not None and call.excinfo.errisinstance(Inconclusive) \
            and call.excinfo.value.remedy:
        data["remedy"] = redactor.text(call.excinfo.value.remedy)
    if call.excinfo is not None and call.excinfo.errisinstance(CheckFailed):
        failure = call.excinfo.value
        if failure.remedy:
            data["remedy"] = redactor.text(failure.remedy)
        if failure.cause:
            data["cause"] = redactor.text(failure.cause)
    waiver = item.stash.get(WAIVER, None)
    if waiver is not None and report.when == "call":
        active = waiver.active(date.today())
        if report.failed and active and call.excinfo is not None \
                and call.excinfo.errisinstance(AssertionError):
            report.outcome = "skipped"  # an accepted failure: shown, not deciding the verdict
            report.wasxfail = (f"WAIVED until {waiver.expires.isoformat()}: "
                               f"{redactor.text(waiver.justification)} — {message}")
            data["waiver"] = waiver.as_dict("active")
        elif report.passed and active:
            data["waiver"] = waiver.as_dict("stale")
        elif report.failed and not active:
            data["waiver"] = waiver.as_dict("expired")
    ev = item.stash.get(EVIDENCE, None)
    if ev is not None and (report.when == "call" or report.failed):
        data["evidence"] = ev.as_dict()
    if run.facts:
        data["facts"] = redactor.value(dict(run.facts))
    report.releasegate = data
    if report.when == "setup":  # junitxml reads them from the teardown report, made from the item
        item.user_properties += [("area", meta.area), ("runbook", meta.runbook),
                                 ("item", meta.item), ("severity", meta.severity)]
    return report


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


# --- the end of a run ----------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Any:
    """Decide before the reports are written; publish them together and print the verdict after
    everything else pytest prints, so a CI log ends with the decision."""
    run = state(session.config)
    if run is None or not run.controller:
        return (yield)
    if run.no_verdict is None:
        if exitstatus == pytest.ExitCode.INTERRUPTED and run.collect_errors:
            run.no_verdict = (f"a check file could not be collected: {run.collect_errors[0]}",
                              EXIT_UNUSABLE)
        elif exitstatus == pytest.ExitCode.INTERRUPTED:
            run.no_verdict = ("interrupted before a verdict was reached", EXIT_INTERRUPTED)
        elif exitstatus == pytest.ExitCode.INTERNAL_ERROR:
            run.no_verdict = ("releasegate crashed (INTERNALERROR, a bug in releasegate, not a "
                              "verdict on the target): see the traceback above", EXIT_SOFTWARE)
        elif exitstatus == pytest.ExitCode.USAGE_ERROR:
            run.no_verdict = ("pytest reported a usage error: see the message above", EXIT_UNUSABLE)
    if run.no_verdict is None and run.no_server:
        run.no_verdict = (f"no verdict: a throwaway server could not be provided for a check "
                          f"({run.no_server}); the target was not fully judged", EXIT_NO_SERVER)
    if run.no_verdict is None:
        decide_run(run)
    try:
        return (yield)
    finally:
        finish(session, run)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> Any:
    """pytest-html and JUnit would print their staging paths; the final block prints the real
    ones, once."""
    if state(config) is None:
        return (yield)
    original = terminalreporter.write_sep

    def write_sep(sep: str, title: str | None = None, **kw: Any) -> None:
        if title and title.startswith(("Generated html report:", "generated xml file:")):
            return
        original(sep, title, **kw)

    terminalreporter.write_sep = write_sep
    try:
        return (yield)
    finally:
        terminalreporter.write_sep = original




__all__ = ["EXIT_INTERRUPTED", "EXIT_NO_SERVER", "EXIT_SOFTWARE", "EXIT_UNUSABLE", "RunState",
           "require_section", "state", "target_of"]

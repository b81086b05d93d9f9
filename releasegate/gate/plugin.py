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
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from releasegate import __version__
from releasegate.core.errors import ProfileError
from releasegate.core.paths import SUITES
from releasegate.core.profile import load_target
from releasegate.core.redact import Redactor
from releasegate.gate import waivers
from releasegate.gate.anywhere import add_installed_suites, marker_error, the_target, unknown_markers
from releasegate.gate.checkmeta import check_meta
from releasegate.gate.exitcodes import EXIT_INTERRUPTED, EXIT_NO_SERVER, EXIT_SOFTWARE, EXIT_UNUSABLE
from releasegate.gate.finish import ResultCollector, decide_run, finish
from releasegate.gate.htmlhooks import HtmlHooks
from releasegate.gate.outputs import write_no_verdict
from releasegate.gate.run import RunState
from releasegate.gate.selection import reaches_suites
from releasegate.gate.stash import META, NO_TARGET, STATE, WAIVER, state, target_of
from releasegate.gate.usage import exit_64_on_usage_errors, usage_reason

# the plugin's other parts: the shared fixtures, and how a check's outcome is told
pytest_plugins = ("releasegate.gate.fixtures", "releasegate.gate.outcome")

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
    "remedy(text, **by_kind)": "what to do when the check fails: the runbook's troubleshooting or "
    "incident step, shown beside the failure; a keyword per failure kind (no_answer=, wrong_status=, "
    "wrong_body=, missing=, stale=, other_build=) gives the remedy for that kind",
    "build_identity": "the check --expect-build needs: selected whatever -m says when it is given",
}


# --- options and the command line's usage errors -------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("releasegate", "releasegate post-deploy checks")
    group.addoption("--target", metavar="PROFILE", action="append", default=None,
                    help="target profile YAML (default: $RELEASEGATE_TARGET); once: a second "
                    "--target is refused (exit 64)")
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


def _report_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("report_dir") or "reports").resolve()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    if not config.pluginmanager.hasplugin("xdist"):  # `releasegate run` without -n leaves it out
        config.addinivalue_line("markers", "xdist_group(name): checks kept on one xdist worker")
    controller = not hasattr(config, "workerinput")
    try:
        profile = the_target(config)
    except pytest.UsageError as exc:
        if controller:
            write_no_verdict(_report_dir(config), target=None, reason=str(exc),
                             exit_code=EXIT_UNUSABLE)
        pytest.exit(f"releasegate: {exc}", returncode=EXIT_UNUSABLE)
    if not profile:
        if reaches_suites(config.args) and controller:
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
    add_installed_suites(config)
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
            if session.config.getoption("verdict_exit_codes"):  # the README's 64, also here
                reason = usage_reason(str(exc))
                write_no_verdict(_report_dir(session.config), target=None, reason=reason,
                                 exit_code=EXIT_UNUSABLE)
                pytest.exit(f"releasegate: {reason}", returncode=EXIT_UNUSABLE)
            raise
        known = [line.split(":")[0].split("(")[0] for line in session.config.getini("markers")]
        run.no_verdict = (usage_reason(str(exc), known), EXIT_UNUSABLE)
        session.items = []
        session.testscollected = 0
        return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = state(config)
    if run is not None or config.getoption("verdict_exit_codes"):
        unknown = unknown_markers(config)
        if unknown:  # an empty selection would read as INVESTIGATE, "nothing was verified"
            raise marker_error(unknown)
    overrides = dict(run.target.severity_overrides) if run else {}
    collected: set[str] = set()
    for item in items:
        meta = check_meta(item, overrides)
        if meta is None:
            continue
        if run is None:
            if config.option.collectonly:  # listing checks needs no target
                continue
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




__all__ = ["EXIT_INTERRUPTED", "EXIT_NO_SERVER", "EXIT_SOFTWARE", "EXIT_UNUSABLE", "RunState", "state",
           "target_of"]

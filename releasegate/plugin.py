"""The pytest plugin (pytest11 entry point): options, markers, target, evidence, verdict, outputs.

It stays inert in a plain pytest run: markers are registered, nothing else happens until a
target is given (``--target`` or RELEASEGATE_TARGET) or releasegate's own suites are collected.

The gate's contract (issue 7): exit codes 0-4 only for a verdict; 64 when the run could not start
(bad profile, unknown option or marker, missing path, a check without its markers, a waiver or
override naming no check), 70 when releasegate itself crashed, 130 when interrupted. A target's
misbehaviour is a failure everywhere, also when a fixture noticed it. The three reports are
replaced together (releasegate/outputs.py).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from releasegate import __version__, causes, waivers
from releasegate.errors import CheckFailed, Inconclusive, ProfileError
from releasegate.evidence import Evidence
from releasegate.http import HttpTarget
from releasegate.outputs import RunOutputs, step_summary, write_no_verdict
from releasegate.paths import SUITES
from releasegate.profile import Target, load_target
from releasegate.redact import Redactor
from releasegate.report import checklist_markdown, inject, release_view_html, write_summary
from releasegate.results import AREAS, CheckMeta, CheckResult
from releasegate.terminal import report_line, result_lines, verdict_title
from releasegate.verdict import Decision, decide

EXIT_UNUSABLE = 64  # the run could not start: bad profile, usage error, a check without markers
EXIT_NO_SERVER = 69  # a throwaway server could not be provided
EXIT_SOFTWARE = 70  # releasegate itself crashed (INTERNALERROR): a bug, not a verdict
EXIT_INTERRUPTED = 130  # SIGINT / SIGTERM
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


def _say(message: str) -> None:
    print(f"releasegate: {message}", file=sys.stderr, flush=True)


class RunState:
    """Everything one releasegate run knows; lives on the config stash."""

    def __init__(self, target: Target, report_dir: Path, verdict_exit_codes: bool,
                 expect_build: str | None, allow_mutations: bool, controller: bool) -> None:
        self.target = target
        self.report_dir = report_dir
        self.outputs = RunOutputs(report_dir)
        self.controller = controller
        self.verdict_exit_codes = verdict_exit_codes
        self.expect_build = expect_build
        self.allow_mutations = allow_mutations
        self.redactor = target.redactor()
        self.waivers = waivers.parse(target.data.get("waivers", []))
        self.results: dict[str, CheckResult] = {}
        self.facts: dict[str, Any] = {}
        self.notes: list[str] = []
        self.started = time.time()
        self.decision: Decision | None = None
        self.no_verdict: tuple[str, int] | None = None  # (why, exit code) when none was reached
        self.collect_errors: list[str] = []  # first lines of check files that failed to import

    def header(self) -> dict[str, Any]:
        env = os.environ
        run_url = (f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{env['GITHUB_REPOSITORY']}"
                   f"/actions/runs/{env['GITHUB_RUN_ID']}"
                   if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY") else None)
        return self.redactor.value({
            "target": self.target.name,
            "started_at": datetime.fromtimestamp(self.started, timezone.utc).isoformat(
                timespec="seconds"),
            "duration_s": round(time.time() - self.started, 2),
            "suite_version": __version__,
            "facts": dict(self.facts),
            "hosts": self.target.hosts(),
            "provider": self.target.meta.get("provider"),
            "mutations": "ALLOWED (--allow-mutations): checks may change the target"
            if self.allow_mutations else "not allowed (read-only run)",
            "run_url": run_url,
            "notes": list(self.notes),
        })


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
    _usage_errors_exit_64(parser)


def _usage_errors_exit_64(parser: pytest.Parser) -> None:
    """With --verdict-exit-codes, pytest's own usage errors (unknown option, missing value) exit
    64 with one line instead of pytest's 4, which would read as the verdict INVESTIGATE.

    pytest parses the command line before any hook can see the error, so the parser's two
    parse methods are wrapped on this Parser instance; without --verdict-exit-codes nothing
    changes.
    """
    for name in ("parse", "parse_known_args"):
        original = getattr(parser, name, None)
        if original is None or getattr(original, "_releasegate", False):
            continue

        def wrapped(args: Any, *a: Any, _original: Any = original, **kw: Any) -> Any:
            try:
                return _original(args, *a, **kw)
            except pytest.UsageError as exc:
                strargs = [os.fspath(x) for x in args]
                if "--verdict-exit-codes" not in strargs:
                    raise
                reason = usage_reason(str(exc))
                _say(reason)
                write_no_verdict(Path(_arg_value(strargs, "--report-dir") or "reports"),
                                 target=None, reason=reason, exit_code=EXIT_UNUSABLE)
                raise SystemExit(EXIT_UNUSABLE) from None

        wrapped._releasegate = True  # type: ignore[attr-defined]
        setattr(parser, name, wrapped)


def _arg_value(args: list[str], option: str) -> str | None:
    for i, arg in enumerate(args):
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
        if arg == option and i + 1 < len(args) and not args[i + 1].startswith("-"):
            return args[i + 1]
    return None


def usage_reason(message: str, known_markers: list[str] | None = None) -> str:
    """One line naming the mistake and the fix, from pytest's or argparse's message."""
    text = " ".join(message.split())
    if " error: " in text:  # argparse: "usage: … prog: error: what" and then ini/rootdir lines
        text = text.split(" error: ", 1)[1]
    text = re.split(r" (?:inifile|rootdir|configfile): ", text)[0]
    unknown_marker = re.match(r"Unknown marker\(s\) in '-m' expression: ([^.]+)\.", text)
    if unknown_marker:
        names = [n.strip() for n in unknown_marker.group(1).split(",")]
        known = known_markers or list(m.split("(")[0] for m in MARKERS)
        hints = [f"did you mean {close[0]!r}?" for n in names
                 if (close := difflib.get_close_matches(n, known, n=1))]
        return (f"-m names unknown marker{'s' if len(names) > 1 else ''} "
                f"{', '.join(map(repr, names))}" + (f" ({' '.join(hints)})" if hints else "")
                + f"; markers: {', '.join(m for m in known if m in AREAS or m == 'smoke')}")
    if text.startswith("unrecognized arguments:"):
        return f"unknown option {text.split(':', 1)[1].strip()} (see releasegate run --help)"
    if text.startswith("file or directory not found:"):
        path = text.split(":", 1)[1].strip()
        return f"path not found: {path} (give a suites/ file or folder that exists, or none for all)"
    if "expected one argument" in text:
        return f"{text} (give the option its value, e.g. --report-dir reports)"
    return text


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
    return [f"releasegate {__version__}: target {run.target.name} ({run.target.path}), "
            f"reports in {run.report_dir}"]


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
    original = getattr(item, "originalname", item.name)
    level = next((v for k, v in overrides.items() if waivers.matches(k, item.nodeid, original)),
                 severity.args[0])
    if level not in ("blocker", "warning"):
        raise pytest.UsageError(f"{item.nodeid}: severity must be blocker or warning, not {level!r}")
    file, section, text = runbook.args
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        text = f"{text} [{callspec.id}]"  # one checklist line per parameter
    remedy = item.get_closest_marker("remedy")
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
    known = waivers.check_names(SUITES) | collected
    for what, names in (("severity override", overrides), ("waiver", [w.check for w in run.waivers])):
        unknown = waivers.unknown(names, known)
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
        elif result.waiver and result.waiver["state"] == "active" and report.when == "call":
            result.outcome, result.message = "waived", data["message"]
        elif report.skipped and report.when in ("setup", "call"):
            result.outcome, result.message = "skipped", data["message"]
        elif report.failed:
            if report.when == "call":
                result.outcome, result.message = "failed", data["message"]
                result.remedy, result.cause = data.get("remedy"), data.get("cause")
            elif result.outcome != "failed":
                result.outcome = "error"
                result.message = result.message or f"error in {report.when}: {data['message']}"


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
    if run.no_verdict is None:
        _decide(run)
    try:
        return (yield)
    finally:
        _finish(session, run)


def _decide(run: RunState) -> None:
    results = list(run.results.values())
    causes.link(results)
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


def _finish(session: pytest.Session, run: RunState) -> None:
    """Publish the three reports (or the no-verdict set), print the end of the log, set the
    exit code."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if run.no_verdict is not None:
        why, code = run.no_verdict
        run.outputs.discard()
        write_no_verdict(run.report_dir, target=run.target.name, reason=why, exit_code=code,
                         started=run.started)
        _say(why if code != EXIT_INTERRUPTED else "interrupted; no verdict (exit 130)")
        if run.verdict_exit_codes or code == EXIT_UNUSABLE:  # a releasegate run that never started
            session.exitstatus = code
        return
    decision = run.decision
    assert decision is not None
    _finalize_html(run)
    _finalize_junit(run)
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


def _finalize_html(run: RunState) -> None:
    path = run.outputs.path("report.html")
    if not path.is_file() or run.decision is None:
        return
    view = release_view_html(run.header(), run.decision, list(run.results.values()))
    path.write_text(inject(path.read_text(encoding="utf-8"), view), encoding="utf-8")


def _finalize_junit(run: RunState) -> None:
    """JUnit says what summary.json says: a follower's failure message names its root cause."""
    path = run.outputs.path("junit.xml")
    followers = {r.id: r.message for r in run.results.values() if r.follows}
    if not path.is_file() or not followers:
        return
    from xml.etree import ElementTree

    from _pytest.junitxml import mangle_test_address

    wanted = {}
    for nodeid, message in followers.items():
        names = mangle_test_address(nodeid)
        wanted[(".".join(names[:-1]), names[-1])] = message
    tree = ElementTree.parse(path)
    for case in tree.iter("testcase"):
        message = wanted.get((case.get("classname", ""), case.get("name", "")))
        failure = case.find("failure")
        if message is not None and failure is not None:
            failure.set("message", message)
    tree.write(path, encoding="utf-8", xml_declaration=True)


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

    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        """The log cell: a skip's reason in words (not pytest's raw tuple), then the evidence."""
        from html import escape

        info = getattr(report, "releasegate", None) or {}
        if report.skipped and isinstance(report.longrepr, tuple):
            data[:] = [escape(info.get("message") or str(report.longrepr[2])) + "\n"]
        evidence = info.get("evidence")
        if evidence:
            data.insert(0, escape("evidence: " + json.dumps(evidence, indent=2, ensure_ascii=False))
                        + "\n\n")

"""How a check's result is told: N/A, Inconclusive, failed or a bug — the same in every output.

A fixture that notices the target misbehaving fails the check rather than erroring its setup; a
view's NotApplicable is a skip shown at the check's own place; each report carries the check's
record (meta, message, remedy, cause, waiver, evidence), redacted before any writer sees it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive, NotApplicable, ServerUnavailable
from releasegate.core.redact import Redactor
from releasegate.gate.stash import DEFERRED, EVIDENCE, META, WAIVER, state


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
        if failure.kind:
            data["kind"] = failure.kind
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
    if run.notes:  # notes checks left for the run (a GO that still says something)
        data["notes"] = [redactor.text(n) for n in run.notes]
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

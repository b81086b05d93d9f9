"""One run, one set of files: report.html, junit.xml and summary.json are replaced together.

Every writer (pytest-html, JUnit, summary.json) writes into a staging directory inside the
report dir; when the run ends, the three files are moved into place together, or none is when
one is missing. A run that reaches no verdict — it could not start, or was interrupted — still
leaves a complete set saying so (verdict null, the one-line reason, its exit code), so the files
in one report dir always describe the same run.
"""

from __future__ import annotations

import html
import os
import shutil
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from releasegate import __version__
from releasegate.gate.report import (
    _write_json,
    not_started_html,
    not_started_markdown,
    not_started_summary,
)

REPORTS = ("report.html", "junit.xml", "summary.json")
STAGING_PREFIX = ".releasegate-run-"


class RunOutputs:
    """The report dir of one run and the staging directory its writers use."""

    def __init__(self, report_dir: Path) -> None:
        self.report_dir = report_dir
        self.staging = report_dir / f"{STAGING_PREFIX}{os.getpid()}-{time.monotonic_ns()}"

    def prepare(self) -> None:
        self.report_dir.mkdir(parents=True, exist_ok=True)
        _sweep(self.report_dir)
        self.staging.mkdir()

    def path(self, name: str) -> Path:
        return self.staging / name

    def publish(self) -> bool:
        """Move the three files into the report dir together; False (and nothing moved) when
        one is missing."""
        try:
            if not all((self.staging / name).is_file() for name in REPORTS):
                return False
            for name in REPORTS:
                os.replace(self.staging / name, self.report_dir / name)
            return True
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _sweep(report_dir: Path) -> None:
    """Remove staging directories that runs which died (SIGKILL, power loss) left behind."""
    for old in report_dir.glob(f"{STAGING_PREFIX}*"):
        pid = old.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)


def write_no_verdict(report_dir: Path, *, target: str | None, reason: str, exit_code: int,
                     started: float | None = None, header: Mapping[str, Any] | None = None,
                     checks: list[dict[str, Any]] | None = None) -> None:
    """Replace all three reports with ones saying the run reached no verdict, and why (with the
    checks that did run, when some did)."""
    started = time.time() if started is None else started
    started_at = datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds")
    duration = round(time.time() - started, 2)
    outputs = RunOutputs(report_dir)
    try:
        outputs.prepare()
    except OSError:
        return  # the report dir itself is unusable: the one-line message on stderr must do
    summary = not_started_summary(target, reason, exit_code, started_at, duration, __version__)
    summary["checks"] = checks or []
    _write_json(outputs.path("summary.json"), summary)
    outputs.path("junit.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="releasegate" '
        f'errors="1" failures="0" skipped="0" tests="1" time="{duration}" timestamp="{started_at}">'
        '<testcase classname="releasegate" name="run" time="0">'
        f"<error message=\"{html.escape(reason, quote=True)}\" /></testcase></testsuite></testsuites>\n")
    page_header = {"target": target or "(unknown)", "started_at": started_at,
                   "duration_s": duration, "suite_version": __version__, **(header or {})}
    outputs.path("report.html").write_text(not_started_html(
        f"releasegate — no verdict ({target or 'no target'})", page_header,
        f"{reason} (exit {exit_code})"))
    outputs.publish()
    step_summary(not_started_markdown(reason, exit_code))


def step_summary(markdown: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY when a GitHub Actions job runs us."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(markdown)
        except OSError:
            pass

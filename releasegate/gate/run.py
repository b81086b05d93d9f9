"""What one releasegate run knows: its target, where its reports go, its results and decision."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from releasegate import __version__
from releasegate.core.profile import Target
from releasegate.gate import waivers
from releasegate.gate.outputs import RunOutputs
from releasegate.gate.results import CheckResult
from releasegate.gate.verdict import Decision


def say(message: str) -> None:
    """One line for the user on stderr."""
    print(f"releasegate: {message}", file=sys.stderr, flush=True)


class RunState:
    """Everything one releasegate run knows; lives on the pytest config's stash."""

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
        self.no_server: str | None = None  # a check could not get a throwaway server (exit 69)
        self.showlocals_refused = False  # --showlocals was asked for and turned off (secrets)

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

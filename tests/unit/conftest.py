"""Helpers for the unit tests.

The plugin is exercised in a subprocess rather than with pytester: ``pytest_plugins`` in a
non-top-level conftest is an error for ``pytest tests`` (``make test``), so pytester cannot be
enabled here without breaking the full run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from releasegate.gate.results import CheckMeta, CheckResult

# Environment a nested pytest or releasegate process must not inherit from this run.
_LEAKY_ENV = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT",
              "PYTEST_XDIST_TESTRUNUID", "PYTEST_CURRENT_TEST", "RELEASEGATE_TARGET",
              "RELEASEGATE_PROVIDER", "GITHUB_STEP_SUMMARY")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    env.update(extra)
    return env


def result(item: str = "a check", *, area: str = "health", runbook: str = "001 §6.1",
           severity: str = "blocker", gate: str | None = None, outcome: str = "passed",
           message: str = "", evidence: dict[str, Any] | None = None,
           nodeid: str | None = None) -> CheckResult:
    """A CheckResult as the plugin would build it."""
    return CheckResult(nodeid or f"suites/{area}/test_x.py::{item}",
                       CheckMeta(area=area, runbook=runbook, item=item, severity=severity, gate=gate),
                       outcome=outcome, message=message, evidence=evidence or {})


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def summary(self) -> dict[str, Any]:
        import json

        return json.loads((self.report_dir / "summary.json").read_text())


class CheckProject:
    """A throwaway directory with a strict-markers pytest.ini, check files and a profile."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
        self.profile_path = self.profile({"name": "unit", "health": {"base_url": "http://127.0.0.1:9"}})

    def profile(self, data: dict[str, Any], name: str = "profile.yaml") -> Path:
        path = self.root / name
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        return path

    def checks(self, source: str, name: str = "test_checks.py") -> Path:
        path = self.root / name
        path.write_text("import pytest\n\n" + textwrap.dedent(source))
        return path

    def pytest(self, *args: str, target: bool = True, env: dict[str, str] | None = None,
               timeout: float = 60) -> Run:
        report_dir = self.root / "out"
        cmd = [sys.executable, "-m", "pytest", "-c", str(self.root / "pytest.ini"),
               "--rootdir", str(self.root), "-p", "no:cacheprovider", "-p", "no:xdist"]
        if target:
            cmd += ["--target", str(self.profile_path), "--report-dir", str(report_dir)]
        if not any(not a.startswith("-") and (self.root / a.split("::")[0]).exists() for a in args):
            cmd.append(str(self.root))  # only this project's checks, not the installed suites too
        proc = subprocess.run([*cmd, *args], cwd=self.root, capture_output=True, text=True,
                              timeout=timeout, env=clean_env(**(env or {})))
        return Run(proc.returncode, proc.stdout, proc.stderr, report_dir)


@pytest.fixture
def project(tmp_path: Path) -> CheckProject:
    return CheckProject(tmp_path)

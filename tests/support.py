"""Helpers the project's own tests share: run the suites as a user would and read what they wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SUITES = REPO / "suites"


@dataclass
class SuiteRun:
    """One `pytest suites --target …` run in a subprocess, with everything it left behind."""

    returncode: int
    stdout: str
    stderr: str
    report_dir: Path

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "summary.json").read_text())

    def outcomes(self) -> dict[str, str]:
        """check name (nodeid without the file) -> outcome."""
        return {c["id"].split("::", 1)[1]: c["outcome"] for c in self.summary["checks"]}

    def failed(self) -> dict[str, str]:
        """check name -> message, for the checks that failed or errored."""
        return {c["id"].split("::", 1)[1]: c["message"] for c in self.summary["checks"]
                if c["outcome"] in ("failed", "error")}

    def outputs(self) -> str:
        """Every byte the run wrote anywhere a user could read it."""
        parts = [self.stdout, self.stderr]
        parts += [(self.report_dir / n).read_text(errors="replace")
                  for n in ("report.html", "junit.xml", "summary.json")
                  if (self.report_dir / n).exists()]
        return "\n".join(parts)


def run_suites(profile: Path | str, report_dir: Path, *args: str, env: dict[str, str] | None = None,
               timeout: float = 120) -> SuiteRun:
    """Run the suites against ``profile`` exactly as `pytest suites --target` would."""
    # --opt=VALUE keeps pytest from taking the profile's directory into its config search
    cmd = [sys.executable, "-m", "pytest", str(SUITES), f"--target={profile}",
           f"--report-dir={report_dir}", "--verdict-exit-codes", "-p", "no:cacheprovider",
           *args]
    inherited = {k: v for k, v in os.environ.items()  # a suite run is not part of this xdist run
                 if not k.startswith(("PYTEST_", "RELEASEGATE_TARGET", "GITHUB_STEP_SUMMARY"))}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=timeout,
                          env={**inherited, **(env or {})})
    return SuiteRun(proc.returncode, proc.stdout, proc.stderr, report_dir)


def write_profile(path: Path, data: dict[str, Any]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path

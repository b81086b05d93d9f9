"""Helpers the project's own tests share: run the suites as a user would and read what they wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
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
    peak_rss_mb: float = 0.0  # this run's own peak, not any other child's of the test process

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "summary.json").read_text())

    def outcomes(self) -> dict[str, str]:
        """check name (nodeid without the file) -> outcome."""
        return {c["id"].split("::", 1)[1]: c["outcome"] for c in self.summary["checks"]}

    def messages(self) -> dict[str, str]:
        """check name -> its one-line message, whatever the outcome."""
        return {c["id"].split("::", 1)[1]: c["message"] for c in self.summary["checks"]}

    def failed(self) -> dict[str, str]:
        """check name -> message, for the checks that failed or errored."""
        return {c["id"].split("::", 1)[1]: c["message"] for c in self.summary["checks"]
                if c["outcome"] in ("failed", "error")}

    def checks_s(self) -> float:
        """Seconds the checks themselves took (setup, call, teardown: junit.xml's testcase times,
        pytest's own measure), without interpreter start-up, imports and collection — the part
        releasegate's timeouts bound, so a busy machine does not move it."""
        from xml.etree import ElementTree

        tree = ElementTree.parse(self.report_dir / "junit.xml")
        return sum(float(case.get("time") or 0) for case in tree.iter("testcase"))

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
    code, out, err, peak_mb = run_measured(cmd, cwd=REPO, env={**inherited, **(env or {})},
                                           timeout=timeout)
    return SuiteRun(code, out, err, report_dir, peak_mb)


def run_measured(cmd: list[str], *, cwd: Path, env: dict[str, str],
                 timeout: float) -> tuple[int, str, str, float]:
    """Run ``cmd``; its exit code, output and its own peak RSS in MB (os.wait4's rusage: the
    children maximum of the whole test process would count a browser another test started)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
    streams: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, f=f: streams.__setitem__(n, f.read()), daemon=True)
               for n, f in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    for reader in readers:
        reader.join(max(0.0, deadline - time.monotonic()))
    timed_out = any(reader.is_alive() for reader in readers)
    if timed_out:
        proc.kill()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    if timed_out:
        raise subprocess.TimeoutExpired(cmd, timeout, streams.get("out"), streams.get("err"))
    peak = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return (proc.returncode, streams.get("out", b"").decode(errors="replace"),
            streams.get("err", b"").decode(errors="replace"), peak)


def write_profile(path: Path, data: dict[str, Any]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path

"""What the GitHub Action (action.yml) makes of a finished run: outputs and annotations.

`releasegate run` has already written summary.json and, with $GITHUB_STEP_SUMMARY set, the job
summary. This step reads summary.json and gives later steps the verdict and exit code as step
outputs (``name=value`` lines appended to $GITHUB_OUTPUT) and prints one workflow command per
failed check (``::error title=…::message``), which GitHub shows as annotations on the run.
Source: github/docs, content/actions/reference/workflows-and-actions/workflow-commands.md,
"Setting an output parameter" and "Setting an error message". GitHub shows at most 10 error and
10 warning annotations per step (actions/toolkit#734), so the rest is counted in one notice.

Run as ``python -m releasegate.ci.github --report-dir DIR --exit-code N``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

PER_KIND = 10  # annotations GitHub displays per kind and step
VERDICTS = {0: "GO", 1: "ROLLBACK", 2: "ROLLBACK", 3: "INVESTIGATE", 4: "INVESTIGATE"}
NO_VERDICT = "NONE"


def _data(text: str) -> str:
    """A workflow command's message: %, CR and LF escaped (toolkit's escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value: also : and , escaped (toolkit's escapeProperty)."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def read_summary(report_dir: Path) -> Mapping[str, Any] | None:
    try:
        data = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, Mapping) else None


def annotations(summary: Mapping[str, Any] | None, exit_code: int) -> Iterator[str]:
    """One ::error per failed blocker, one ::warning per failed warning or inconclusive check (at
    most PER_KIND each), a notice counting the rest; one ::error when no verdict was reached."""
    if summary is None or summary.get("verdict") is None:
        reason = (summary or {}).get("reason") or f"releasegate exited {exit_code} without a summary"
        yield f"::error title={_property(f'releasegate: no verdict (exit {exit_code})')}::{_data(reason)}"
        return
    counts = {"error": 0, "warning": 0}
    hidden = 0
    checks = summary.get("checks")
    if checks is None:  # a fleet's summary: every target's checks, each named with its target
        checks = [{**c, "item": f"{t.get('target')}: {c.get('item') or c.get('id')}"}
                  for t in summary.get("targets", []) for c in t.get("checks", [])]
    for check in checks:
        outcome = check.get("outcome")
        if outcome not in ("failed", "error", "inconclusive") or check.get("follows_from"):
            continue
        kind = "error" if check.get("severity") == "blocker" and outcome != "inconclusive" else "warning"
        if counts[kind] >= PER_KIND:
            hidden += 1
            continue
        counts[kind] += 1
        title = f"{outcome.upper()} {check.get('severity', '')}: {check.get('item') or check.get('id')}"
        message = check.get("message") or outcome
        if check.get("remedy"):
            message += f"\nwhat to do: {check['remedy']}"
        yield f"::{kind} title={_property(title)}::{_data(message)}"
    followers = sum(1 for c in checks if c.get("follows_from"))
    if hidden or followers:
        yield (f"::notice title=releasegate::{hidden + followers} more failed checks "
               f"({followers} following from the ones above): see the job summary and the reports")


def outputs(summary: Mapping[str, Any] | None, exit_code: int, report_dir: Path) -> dict[str, str]:
    verdict = summary.get("verdict") if summary else None
    reason = " ".join(str((summary or {}).get("reason") or "").split())
    return {"verdict": verdict or NO_VERDICT, "exit-code": str(exit_code),
            "reason": reason, "report-dir": str(report_dir)}


def write_outputs(values: Mapping[str, str], path: str | None) -> None:
    """Append name=value lines to $GITHUB_OUTPUT (values are one line each)."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for name, value in values.items():
            out.write(f"{name}={value}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m releasegate.ci.github")
    parser.add_argument("--report-dir", required=True, type=Path)
    parser.add_argument("--exit-code", required=True, type=int)
    ns = parser.parse_args(argv)
    summary = read_summary(ns.report_dir)
    for line in annotations(summary, ns.exit_code):
        print(line, flush=True)
    write_outputs(outputs(summary, ns.exit_code, ns.report_dir), os.environ.get("GITHUB_OUTPUT"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a run prints last: one line per failed check with what to do, the report paths, and the
verdict block as the very last lines, so a CI log ends with the decision."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from releasegate.gate.report import counts_text, failure_groups
from releasegate.gate.results import OUTCOME_LABEL, CheckResult
from releasegate.gate.verdict import Decision


def _line(r: CheckResult) -> str:
    return (f"  {OUTCOME_LABEL[r.outcome]:<7} {r.meta.severity:<7} {r.meta.item} [{r.meta.runbook}]: "
            f"{r.message}")


def result_lines(results: Sequence[CheckResult], decision: Decision, notes: Sequence[str]) -> list[str]:
    """One line per failed check (root causes first, with what to do), then waived and
    inconclusive checks and the run's notes."""
    lines = [f"releasegate: {counts_text(decision.counts)}"]
    for root, followers in failure_groups(results, decision):
        lines.append(_line(root))
        if root.what_to_do:
            lines.append(f"          what to do: {root.what_to_do}")
        lines += [_line(f) for f in followers]
    for r in results:
        if r.outcome in ("waived", "inconclusive"):
            lines.append(_line(r))
    lines += [f"  note: {note}" for note in notes]
    return lines


def report_line(report_dir: Path) -> str:
    return f"reports: {report_dir / 'report.html'}  {report_dir / 'junit.xml'}  {report_dir / 'summary.json'}"


def verdict_title(decision: Decision | None, exit_code: int) -> str:
    if decision is None:
        return f"releasegate: no verdict (exit {exit_code})"
    return f"releasegate verdict: {decision.verdict} (exit {int(decision.exit_code)})"

"""Publishing a fleet's outputs: report.html, junit.xml and summary.json together (as one run's
are, releasegate/gate/outputs.py), the job summary, and the terminal's last lines — the
comparison with the last run first, the verdict last so a CI log ends with the decision."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from releasegate.core.evidence import excerpt
from releasegate.fleet.compare import compare, lines
from releasegate.gate.fleet_report import fleet_html, fleet_junit, fleet_markdown
from releasegate.gate.outputs import RunOutputs, step_summary

COLOUR = {"GO": "\033[32m", "ROLLBACK": "\033[31m", "INVESTIGATE": "\033[33m"}


def _print(line: str = "") -> None:
    print(line, flush=True)


def terminal(summary: Mapping[str, Any], comparison: Mapping[str, Any] | None,
             report_dir: Path) -> None:
    if comparison:  # what is new since the last run comes first
        for line in lines(comparison):
            _print(line)
        _print()
    width = max((len(str(t["target"])) for t in summary["targets"]), default=6)
    for t in summary["targets"]:
        wave = f"[{t['wave']}] " if t.get("wave") else ""
        reason = "" if t["fleet_verdict"] == "GO" else f" — {excerpt(str(t.get('reason') or ''), 160)}"
        _print(f"{t['target']!s:<{width}}  {wave}{t['fleet_verdict']}{reason}")
    for w in summary.get("waves", []):
        _print(f"wave {w['name']}: {w['verdict']} ({len(w['targets'])} target"
               f"{'s' if len(w['targets']) != 1 else ''})")
    _print(f"releasegate: fleet report {report_dir / 'report.html'} · "
           f"{report_dir / 'summary.json'} · {report_dir / 'junit.xml'}")
    title = f" releasegate fleet {summary['fleet']}: {summary['verdict']} (exit {summary['exit_code']}) "
    colour = sys.stdout.isatty() and COLOUR.get(summary["verdict"])
    _print(f"{colour}{title:=^88}\033[0m" if colour else f"{title:=^88}")
    _print(summary["reason"])


def publish_fleet(summary: dict[str, Any], report_dir: Path,
                  baseline: Sequence[Mapping[str, Any]] | None = None, baseline_path: str = "",
                  quiet: bool = False) -> int:
    """Write the fleet's three reports together and the job summary; print the end of the log;
    the fleet's exit code."""
    comparison = compare(summary, baseline, path=baseline_path) if baseline else None
    if comparison:
        summary["baseline"] = comparison
    outputs = RunOutputs(report_dir)
    outputs.prepare()
    outputs.path("summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    outputs.path("junit.xml").write_bytes(fleet_junit(summary))
    outputs.path("report.html").write_text(fleet_html(summary, comparison), encoding="utf-8")
    outputs.publish()
    step_summary(fleet_markdown(summary, comparison))
    if not quiet:
        terminal(summary, comparison, report_dir)
    return int(summary["exit_code"])

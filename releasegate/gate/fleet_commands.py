"""The command line's fleet parts: ``run --fleet`` / several ``--target``, ``--baseline``,
``merge``, ``diff`` and ``history`` (docs/fleet.md). cli.py registers them; the work is here so
cli.py stays the one-target command it was."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from releasegate.fleet.compare import compare, lines, past_runs
from releasegate.fleet.merge import merge, read_summary, summary_files
from releasegate.fleet.spec import fleet_of_profiles, load_fleet
from releasegate.gate.exitcodes import EXIT_INTERRUPTED
from releasegate.gate.fleet import RunOne, run_fleet
from releasegate.gate.fleet_outputs import publish_fleet
from releasegate.gate.fleet_report import FLEET_STYLE, comparison_html, fleet_markdown
from releasegate.gate.outputs import step_summary, write_no_verdict

Say = Callable[[str], None]


def load_baseline(ns: argparse.Namespace) -> list[dict[str, Any]] | None:
    """Read before the run: the run may replace the very file the baseline names."""
    return past_runs(ns.baseline) if getattr(ns, "baseline", None) else None


def run(ns: argparse.Namespace, extra: list[str], run_one: RunOne, say: Say,
        baseline: Sequence[Mapping[str, Any]] | None) -> int:
    """``releasegate run --fleet FILE`` or ``--target A --target B``."""
    fleet = load_fleet(ns.fleet) if ns.fleet else fleet_of_profiles(ns.target)
    if ns.fleet and ns.target:
        from releasegate.core.errors import ProfileError

        raise ProfileError("--fleet and --target: give the targets in the fleet file, or only "
                           "--target profiles")
    report_dir = Path(ns.report_dir or "reports")
    try:
        return run_fleet(fleet, report_dir, extra, run_one, say, baseline=baseline,
                         baseline_path=ns.baseline or "")
    except KeyboardInterrupt:  # every target's run was stopped; the fleet's reports say so
        write_no_verdict(report_dir, target=fleet.name, reason="interrupted before the fleet's "
                         "verdict was reached", exit_code=EXIT_INTERRUPTED)
        raise


def one(target: str, report_dir: str | None, extra: list[str], run_one: RunOne,
        baseline: Sequence[Mapping[str, Any]] | None, baseline_path: str | None) -> int:
    """A one-target run; with --baseline its comparison, and the baseline for the checks that
    judge a change (000 §5.3) when its profile names none."""
    if not baseline:
        return run_one(Path(target), report_dir, extra)
    from releasegate.core.profile import load_target
    from releasegate.fleet.compare import baseline_files
    from releasegate.fleet.spec import private_dir
    from releasegate.gate.fleet import BASELINE_ENV

    private = private_dir()
    try:
        mine = baseline_files(baseline, private).get(load_target(target).name)
        if mine is not None:
            os.environ[BASELINE_ENV] = str(mine)
        code = run_one(Path(target), report_dir, extra)
    finally:
        os.environ.pop(BASELINE_ENV, None)
        shutil.rmtree(private, ignore_errors=True)
    after_one(Path(report_dir or "reports").resolve(), baseline, baseline_path or "")
    return code


def after_one(report_dir: Path, baseline: Sequence[Mapping[str, Any]], path: str) -> None:
    """A one-target run with --baseline: the comparison goes into its summary.json, first in
    its report, into the job summary, and above the verdict line it repeats last."""
    summary_path = report_dir / "summary.json"
    summary = read_summary(summary_path)
    if summary.get("verdict") is None:
        return
    comparison = compare(summary, baseline, path=path)
    summary["baseline"] = comparison
    summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    html_path = report_dir / "report.html"
    if html_path.is_file():
        page = html_path.read_text(encoding="utf-8")
        block = f"<style>{FLEET_STYLE}</style>{comparison_html(comparison)}"
        end = page.find("</dl></div>", max(page.find('id="rg-verdict"'), 0))  # after the banner
        at = end + len("</dl></div>") if end >= 0 else 0
        page = page[:at] + block + page[at:]
        html_path.write_text(page, encoding="utf-8")
    step_summary(fleet_markdown({"fleet": summary["target"], "verdict": summary["verdict"],
                                 "exit_code": summary["exit_code"], "reason": summary["reason"],
                                 "areas": [], "targets": [], "matrix": {}}, comparison))
    for line in lines(comparison):
        print(line, flush=True)
    print(f"releasegate: {summary['verdict']} (exit {summary['exit_code']}): {summary['reason']}",
          flush=True)


def cmd_merge(ns: argparse.Namespace, extra: list[str]) -> int:
    baseline = load_baseline(ns)
    summaries = [read_summary(p) for p in summary_files(ns.paths)]
    fleet = load_fleet(ns.fleet) if ns.fleet else None
    summary = merge(summaries, name=ns.name or (fleet.name if fleet else "fleet"),
                    waves=fleet.wave_of() if fleet else None, wave_order=fleet.waves if fleet else ())
    return publish_fleet(summary, Path(ns.report_dir or "reports"), baseline=baseline,
                         baseline_path=ns.baseline or "")


def cmd_diff(ns: argparse.Namespace, extra: list[str]) -> int:
    """``releasegate diff A B``: what B has that A had not; exit 0 (it reports, it decides nothing)."""
    before, after = read_summary(Path(ns.a)), read_summary(Path(ns.b))
    comparison = compare(after, [before], path=ns.a)
    if ns.json:
        print(json.dumps(comparison, indent=2, ensure_ascii=False))
    else:
        for line in lines(comparison, limit=10_000):
            print(line)
    return 0


def cmd_history(ns: argparse.Namespace, extra: list[str]) -> int:
    from releasegate.fleet.history import history_html

    runs = past_runs(ns.dir)[-ns.last:]
    out = Path(ns.output or Path(ns.dir) / "history.html")
    out.write_text(history_html(runs), encoding="utf-8")
    print(f"releasegate: {len(runs)} runs drawn in {out}")
    return 0

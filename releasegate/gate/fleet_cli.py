"""The command line's fleet options and commands, registered without importing the fleet's
machinery: a one-target run pays nothing for them (releasegate/gate/fleet_commands.py does
the work, imported when a fleet, a baseline or merge, diff or history is asked for)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Command = Callable[[argparse.Namespace, list[str]], int]


def is_fleet(ns: argparse.Namespace) -> bool:
    return bool(getattr(ns, "fleet", None)) or len(ns.target or []) > 1


def _lazy(name: str) -> Command:
    def command(ns: argparse.Namespace, extra: list[str]) -> int:
        from releasegate.gate import fleet_commands

        return int(getattr(fleet_commands, name)(ns, extra))

    command.__name__ = name
    return command


cmd_merge, cmd_diff, cmd_history = _lazy("cmd_merge"), _lazy("cmd_diff"), _lazy("cmd_history")


def add_commands(sub: Any, report_dir: Callable[[argparse.ArgumentParser], None]) -> None:
    """``merge``, ``diff``, ``history`` on the command line's sub-parsers."""
    m = sub.add_parser("merge", help="combine summary.json files of runs made elsewhere into one "
                       "fleet report and verdict", description="Combine the summaries of runs made "
                       "elsewhere (one CI job per target or wave) into one fleet report, JUnit, "
                       "summary.json and verdict; exits with the fleet's verdict code.")
    m.add_argument("paths", nargs="+", metavar="DIR|summary.json",
                   help="a summary.json, or a directory with one (or one per sub-directory)")
    m.add_argument("--fleet", metavar="FILE", help="the fleet file: the waves and their order")
    m.add_argument("--name", help="the fleet's name in the report (default: the fleet file's)")
    m.add_argument("--baseline", metavar="PATH", help="compare with a previous summary.json, or "
                   "the latest in a directory of past runs")
    report_dir(m)
    m.set_defaults(func=cmd_merge)
    d = sub.add_parser("diff", help="what changed between two summary.json files")
    d.add_argument("a", metavar="A", help="the earlier summary.json")
    d.add_argument("b", metavar="B", help="the later summary.json")
    d.add_argument("--json", action="store_true", help="the comparison as JSON")
    d.set_defaults(func=cmd_diff)
    h = sub.add_parser("history", help="each target's verdicts and key values over past runs, "
                       "as inline SVG in one HTML file")
    h.add_argument("dir", metavar="DIR", help="a directory of past runs' summary.json files")
    h.add_argument("--last", type=int, default=20, metavar="N", help="the last N runs (default 20)")
    h.add_argument("--output", metavar="FILE", help="default: DIR/history.html")
    h.set_defaults(func=cmd_history)

"""The ``releasegate`` command: demo, stack up, stack faults, run.

Exit codes: 0 GO, 1 ROLLBACK (readiness), 2 ROLLBACK (other blocker), 3 INVESTIGATE (feedback
loop), 4 INVESTIGATE (warnings only), 64 the run could not start (bad profile or arguments),
69 a throwaway server could not be provided, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from releasegate import __version__
from releasegate.errors import ProfileError, ServerUnavailable
from releasegate.paths import SUITES
from releasegate.plugin import EXIT_UNUSABLE
from releasegate.profile import load_target

EXIT_NO_SERVER = 69
EXIT_INTERRUPTED = 130
EPILOG = """\
exit codes: 0 GO | 1 ROLLBACK, readiness failed | 2 ROLLBACK, another blocker failed |
            3 INVESTIGATE, feedback loop failed | 4 INVESTIGATE, only warnings failed |
            64 bad profile or arguments | 69 no throwaway server | 130 interrupted

examples:
  releasegate demo                              smoke suite against the reference stack
  releasegate demo -m health --faults db_down   see a ROLLBACK and why
  releasegate stack faults                      the faults the reference stack can switch on
  releasegate run --target fixtures/targets/staging.yaml -m smoke
"""


def _say(message: str) -> None:
    print(f"releasegate: {message}", file=sys.stderr, flush=True)


def run_pytest(target: Path | str, report_dir: str | None, extra: Sequence[str]) -> int:
    """Run the suites in-process with releasegate's report defaults and verdict exit codes."""
    import pytest

    # httpx imported anyio before pytest could rewrite its plugin: harmless, so not shown
    # --opt=VALUE: pytest looks for its config file from every path-like argument before
    # plugins add their options, so a bare "--target /tmp/x.yaml" would hide the repo's config.
    # anyio's pytest plugin comes along only because httpx needs anyio; no check uses it, and it
    # costs ~0.2 s of start-up on every gate run (benches/README.md).
    args = [f"--target={target}", "--verdict-exit-codes", "-p", "no:cacheprovider", "-p", "no:anyio",
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            f"--rootdir={SUITES.parent}"]
    if report_dir:
        args.append(f"--report-dir={report_dir}")
    if not any(not a.startswith("-") and Path(a.split("::")[0]).exists() for a in extra):
        args.append(str(SUITES))
    return int(pytest.main([*args, *extra]))


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_run(ns: argparse.Namespace, extra: list[str]) -> int:
    target = ns.target or os.environ.get("RELEASEGATE_TARGET")
    if not target:
        _say("no target profile: pass --target PROFILE or set RELEASEGATE_TARGET")
        return EXIT_UNUSABLE
    try:
        load_target(target)  # fail fast with one line before pytest starts
    except ProfileError as exc:
        _say(str(exc))
        return EXIT_UNUSABLE
    return run_pytest(target, ns.report_dir, extra)


def cmd_demo(ns: argparse.Namespace, extra: list[str]) -> int:
    from reference.stack import running_stack

    report_dir = ns.report_dir or "reports"
    started = time.perf_counter()
    with running_stack(ns.faults or (), log=_say) as stack:
        _say(f"reference stack up in {stack.timings['boot_s']:.1f}s; profile {stack.profile_path}")
        code = run_pytest(stack.profile_path, report_dir, ["-m", ns.m, *extra])
    _say(f"report: {Path(report_dir).resolve() / 'report.html'} "
         f"(done in {time.perf_counter() - started:.1f}s, stack torn down)")
    return code


def cmd_stack_up(ns: argparse.Namespace, extra: list[str]) -> int:
    from reference.stack import running_stack

    workdir = Path(ns.report_dir or "reports").resolve() / "stack"
    with running_stack(ns.faults or (), workdir=workdir, log=_say) as stack:
        _say(f"reference stack up in {stack.timings['boot_s']:.1f}s at {stack.base_url}")
        print(stack.profile_path, flush=True)
        _say("Ctrl-C stops it; in another shell: releasegate run --target " + str(stack.profile_path))
        while True:
            time.sleep(3600)


def cmd_stack_faults(ns: argparse.Namespace, extra: list[str]) -> int:
    from reference.faults import FAULTS

    width = max(map(len, FAULTS))
    for fault in FAULTS.values():
        print(f"{fault.name:<{width}}  {fault.breaks}  [{fault.runbook}]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="releasegate", description="Post-deploy acceptance checks from production runbooks.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"releasegate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def report_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("--report-dir", metavar="DIR",
                       help="where report.html, junit.xml, summary.json go (default: reports/)")

    demo = sub.add_parser("demo", help="run suites against the reference stack (smoke by default)",
                          description="Boot the reference stack on throwaway Postgres and Redis, "
                          "run the suites against it, write the reports, tear it all down and "
                          "exit with the verdict. Extra arguments go to pytest.")
    demo.add_argument("-m", default="smoke", metavar="EXPR", help="marker expression (default: smoke)")
    demo.add_argument("--faults", metavar="A,B", help="switch faults on (see: releasegate stack faults)")
    report_dir(demo)
    demo.set_defaults(func=cmd_demo)

    stack = sub.add_parser("stack", help="the reference stack: up, faults")
    stack_sub = stack.add_subparsers(dest="stack_command", metavar="ACTION", required=True)
    up = stack_sub.add_parser("up", help="keep the reference stack running; print its profile path")
    up.add_argument("--faults", metavar="A,B", help="switch faults on")
    report_dir(up)
    up.set_defaults(func=cmd_stack_up)
    faults = stack_sub.add_parser("faults", help="list the fault names and what each breaks")
    report_dir(faults)
    faults.set_defaults(func=cmd_stack_faults)

    run = sub.add_parser("run", help="run suites against a target profile (extra args go to pytest)",
                         description="Run the suites against PROFILE with the report defaults; "
                         "exits with the verdict code. Any other argument is passed to pytest, "
                         "e.g. -m 'health or mcp', -n auto, a suites/ path.")
    run.add_argument("--target", metavar="PROFILE", help="target profile (default: $RELEASEGATE_TARGET)")
    report_dir(run)
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns, extra = parser.parse_known_args(argv)
    if extra and ns.func not in (cmd_run, cmd_demo):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    signal.signal(signal.SIGTERM, _raise_interrupt)  # tear servers down on SIGTERM as on Ctrl-C
    try:
        if getattr(ns, "faults", None):
            from reference.faults import parse_faults

            parse_faults(ns.faults)
        return ns.func(ns, extra)
    except ValueError as exc:  # unknown fault names
        _say(str(exc))
        return EXIT_UNUSABLE
    except ServerUnavailable as exc:
        _say(str(exc))
        return EXIT_NO_SERVER
    except KeyboardInterrupt:
        _say("interrupted; everything started was stopped")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

"""The ``releasegate`` command: demo, stack up, stack faults, run.

Exit codes 0-4 are verdicts and nothing else: 0 GO, 1 ROLLBACK (readiness), 2 ROLLBACK (other
blocker), 3 INVESTIGATE (feedback loop), 4 INVESTIGATE (warnings only or inconclusive). A run
that could not start exits 64, a missing throwaway-server binary 69, a crash of releasegate
itself 70, an interrupted run 130 — each with one line on stderr saying what and how to fix it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from releasegate import __version__
from releasegate.core.errors import ProfileError, ServerUnavailable, UsageProblem
from releasegate.core.paths import IN_CHECKOUT, SUITES
from releasegate.core.profile import load_target
from releasegate.gate.exitcodes import EXIT_INTERRUPTED, EXIT_NO_SERVER, EXIT_SOFTWARE, EXIT_UNUSABLE
from releasegate.gate.fleet_cli import is_fleet
from releasegate.gate.outputs import write_no_verdict
from releasegate.gate.selection import suites_for

EPILOG = """\
exit codes: 0 GO | 1 ROLLBACK, readiness failed | 2 ROLLBACK, another blocker failed |
            3 INVESTIGATE, feedback loop failed | 4 INVESTIGATE, only warnings failed or inconclusive |
            64 could not start (bad profile or arguments) | 68 the runner reached no host
            (DNS, route, proxy: no verdict) | 69 no throwaway server |
            70 releasegate crashed (a bug) | 130 interrupted

examples:
  releasegate demo                              smoke suite against the reference stack
  releasegate demo -m health --faults db_down   see a ROLLBACK and why
  releasegate stack faults                      the faults the reference stack can switch on
  releasegate run --target fixtures/targets/staging.yaml -m smoke
  releasegate init https://api.example.com -o profile.yaml   a starting profile, read-only probes
"""
PASS_THROUGH = """\
any other argument goes to pytest, e.g.:
  -n auto                 run checks in parallel (pytest-xdist)
  -k EXPR                 only checks whose name matches EXPR
  -v                      show tracebacks of failed checks (default: one line per check)
  --lf, --ff, --sw        rerun what failed last time (pytest's cache, ./.pytest_cache)
  suites/health, checks/  a suites/ folder or file, or your own checks, instead of every suite
"""
# Options that only exist in pytest's releasegate plugin; listed here so `--help` shows them.
PLUGIN_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--expect-build",), {"metavar": "BUILD_ID", "help": "the build_id the target must report, "
                           "e.g. git:abc1234; the build identity check runs whatever -m selects"}),
    (("--allow-mutations",), {"action": "store_true", "help": "let checks that change the target "
                              "run (kill switch, rate-limit probe); the report says so"}),
)


VERDICTS = {0: "GO", 1: "ROLLBACK", 2: "ROLLBACK", 3: "INVESTIGATE", 4: "INVESTIGATE"}


def _say(message: str) -> None:
    print(f"releasegate: {message}", file=sys.stderr, flush=True)


class Parser(argparse.ArgumentParser):
    """argparse that ends a usage error with one line and exit 64 (argparse's own 2 would read
    as the verdict ROLLBACK), writing the no-verdict reports when the command writes reports."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("releasegate").strip()
        hint = f"releasegate {command} --help".replace("  ", " ")
        reason = f"{message} (see {hint})"
        if command in ("run", "demo"):
            write_no_verdict(Path(_report_dir_from(sys.argv) or "reports"), target=None,
                             reason=reason, exit_code=EXIT_UNUSABLE)
        _say(reason)
        raise SystemExit(EXIT_UNUSABLE)


def _report_dir_from(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg.startswith("--report-dir="):
            return arg.split("=", 1)[1]
        if arg == "--report-dir" and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            return argv[i + 1]
    return None


XDIST_OPTIONS = ("-n", "--numprocesses", "--maxprocesses", "--dist", "-d", "--tx", "--looponfail", "-f")


def _wants_xdist(extra: Sequence[str]) -> bool:
    """Does the run ask for pytest-xdist (on the command line or in PYTEST_ADDOPTS)?"""
    given = [*extra, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    return any(a == o or a.startswith(o + "=") or (o in ("-n", "-d", "-f") and a.startswith(o))
               for a in given for o in XDIST_OPTIONS)


def run_pytest(target: Path | str, report_dir: str | None, extra: Sequence[str]) -> int:
    """Run the suites in-process with releasegate's report defaults; return the exit code."""
    import pytest

    from releasegate.gate.stash import state  # pytest: loaded only by the commands that run it

    class Outcome:
        """Whether the run reached a verdict, read before pytest forgets its config."""

        code: int | None = None

        @pytest.hookimpl(tryfirst=True)
        def pytest_unconfigure(self, config: pytest.Config) -> None:
            run = state(config)
            if run is not None and run.decision is not None:
                Outcome.code = int(run.decision.exit_code)
            elif run is not None and run.no_verdict is not None:
                Outcome.code = run.no_verdict[1]

    # --opt=VALUE: pytest looks for its config file from every path-like argument before
    # plugins add their options, so a bare "--target /tmp/x.yaml" would hide the repo's config.
    # anyio's pytest plugin comes along only because httpx needs anyio; no check uses it, and it
    # costs ~0.2 s of start-up on every gate run (benches/README.md).
    # unraisableexception only reports exceptions in __del__ and costs two full gc runs at exit.
    # pytest's cache stays on (in ./.pytest_cache, as plain pytest keeps it), so --lf, --ff and
    # --sw rerun the checks that failed last time: a checkout's addopts (which turn it off for
    # the self-tests) are replaced by the settings a gate run needs.
    args = [f"--target={target}", "--verdict-exit-codes", "-o", "addopts=", "--strict-markers",
            "-o", f"cache_dir={Path.cwd() / '.pytest_cache'}", "-p", "no:anyio",
            "-p", "no:unraisableexception",
            "-W", "ignore::pytest.PytestAssertRewriteWarning", f"--rootdir={SUITES.parent}"]
    if not IN_CHECKOUT:  # an installed wheel has no pyproject.toml: give its pytest settings
        args += ["-c", os.devnull, "-o", "xfail_strict=true",
                 "-W", "error::pytest.PytestUnknownMarkWarning"]
    if not _wants_xdist(extra):  # ~40 ms of start-up (execnet) for a run on one process
        args += ["-p", "no:xdist", "-p", "no:xdist.looponfail"]
    if report_dir:
        args.append(f"--report-dir={report_dir}")
    if not any(not a.startswith("-") and Path(a.split("::")[0]).exists() for a in extra):
        args += [str(path) for path in suites_for(extra)]
    try:
        code = int(pytest.main([*args, *extra], plugins=[Outcome()]))
    except SystemExit as exc:  # a usage error the plugin turned into one line and exit 64
        return int(exc.code) if isinstance(exc.code, int) else EXIT_UNUSABLE
    if Outcome.code is not None:
        return Outcome.code
    # pytest's own codes, where no verdict was reached: 2 interrupted, 3 crashed, 4 usage error
    return {2: EXIT_INTERRUPTED, 3: EXIT_SOFTWARE, 4: EXIT_UNUSABLE}.get(code, code)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _plugin_args(ns: argparse.Namespace) -> list[str]:
    args = []
    if getattr(ns, "expect_build", None):
        args.append(f"--expect-build={ns.expect_build}")
    if getattr(ns, "allow_mutations", False):
        args.append("--allow-mutations")
    if getattr(ns, "m", None):
        args += ["-m", ns.m]
    return args


def cmd_run(ns: argparse.Namespace, extra: list[str]) -> int:
    target = (ns.target or [None])[0] or os.environ.get("RELEASEGATE_TARGET")
    args = [*_plugin_args(ns), *extra]
    try:  # a bad profile, fleet file or baseline stops the run with one line before pytest starts
        if is_fleet(ns) or ns.baseline:
            from releasegate.gate import fleet_commands

            baseline = fleet_commands.load_baseline(ns)  # read before the run may replace it
            if is_fleet(ns):
                return fleet_commands.run(ns, args, run_pytest, _say, baseline)
        if not target:
            raise ProfileError("no target profile: pass --target PROFILE (or --fleet FILE) or set "
                               "RELEASEGATE_TARGET")
        load_target(target)
    except ProfileError as exc:
        _say(str(exc))
        write_no_verdict(Path(ns.report_dir or "reports"), target=None, reason=str(exc),
                         exit_code=EXIT_UNUSABLE)
        return EXIT_UNUSABLE
    if ns.baseline:
        return fleet_commands.one(target, ns.report_dir, args, run_pytest, baseline, ns.baseline)
    return run_pytest(target, ns.report_dir, args)


def _need_demo() -> None:
    """The reference stack's libraries are the demo extra, not the core install."""
    from releasegate.core.extras import installed

    if not installed("starlette", "uvicorn", "pydantic", "mcp", "sentry_sdk"):
        raise UsageProblem("the reference stack needs the demo extra: pip install 'releasegate[demo]'")


def cmd_demo(ns: argparse.Namespace, extra: list[str]) -> int:
    _need_demo()
    from releasegate.reference.stack import running_stack

    report_dir = ns.report_dir or "reports"
    started = time.perf_counter()
    code: int | None = None
    try:
        with running_stack(ns.faults or (), log=_say) as stack:
            _say(f"reference stack up in {stack.timings['boot_s']:.1f}s; profile {stack.profile_path}")
            code = run_pytest(stack.profile_path, report_dir, [*_plugin_args(ns), *extra])
    finally:
        if code is not None:  # the last line carries the verdict
            verdict = VERDICTS.get(code)
            _say(f"demo done in {time.perf_counter() - started:.1f}s, stack torn down — "
                 + (f"verdict {verdict} (exit {code})" if verdict else f"no verdict (exit {code})"))
    return code


def cmd_stack_up(ns: argparse.Namespace, extra: list[str]) -> int:
    _need_demo()
    from releasegate.reference.stack import running_stack

    workdir = Path(ns.report_dir or "reports").resolve() / "stack"
    with running_stack(ns.faults or (), workdir=workdir, log=_say) as stack:
        _say(f"reference stack up in {stack.timings['boot_s']:.1f}s at {stack.base_url}")
        print(stack.profile_path, flush=True)
        _say(f"Ctrl-C stops it; in another shell: set -a; . {stack.env_file}; set +a; "
             f"releasegate run --target {stack.profile_path}")
        while True:
            time.sleep(3600)


def cmd_stack_faults(ns: argparse.Namespace, extra: list[str]) -> int:
    from releasegate.reference.faults import FAULTS

    width = max(map(len, FAULTS))
    for fault in FAULTS.values():
        print(f"{fault.name:<{width}}  {fault.breaks}  [{fault.runbook}]")
    return 0


def cmd_stack_fault(ns: argparse.Namespace, extra: list[str]) -> int:
    from releasegate.reference.faults import switch

    profile = ns.target or str(Path(ns.report_dir or "reports") / "stack" / "reference-target.yaml")
    on = switch(profile, ns.name, ns.state == "on")
    _say(f"{ns.name} {ns.state}; faults on: {', '.join(on) or 'none'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="releasegate", description="Post-deploy acceptance checks from production "
                    "runbooks.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"releasegate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=Parser)

    def report_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("--report-dir", metavar="DIR",
                       help="where report.html, junit.xml, summary.json go (default: reports/)")

    def plugin_options(p: argparse.ArgumentParser) -> None:
        for flags, kwargs in PLUGIN_OPTIONS:
            p.add_argument(*flags, **kwargs)

    demo = sub.add_parser("demo", help="run suites against the reference stack (smoke by default)",
                          description="Boot the reference stack on throwaway Postgres and Redis, "
                          "run the suites against it, write the reports, tear it all down and "
                          "exit with the verdict.", epilog=PASS_THROUGH,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("-m", default="smoke", metavar="EXPR", help="marker expression (default: smoke)")
    demo.add_argument("--faults", metavar="A,B", help="switch faults on (see: releasegate stack faults)")
    report_dir(demo)
    plugin_options(demo)
    demo.set_defaults(func=cmd_demo)

    stack = sub.add_parser("stack", help="the reference stack: up, faults, fault")
    stack_sub = stack.add_subparsers(dest="stack_command", metavar="ACTION", required=True,
                                     parser_class=Parser)
    up = stack_sub.add_parser("up", help="keep the reference stack running; print its profile path")
    up.add_argument("--faults", metavar="A,B", help="switch faults on")
    report_dir(up)
    up.set_defaults(func=cmd_stack_up)
    faults = stack_sub.add_parser("faults", help="list the fault names and what each breaks")
    faults.set_defaults(func=cmd_stack_faults)
    fault = stack_sub.add_parser("fault", help="switch a fault of a running stack on or off",
                                 description="Switch a live fault (one the app reads per request) "
                                 "of the stack `releasegate stack up` runs, e.g. to watch a window "
                                 "degrade: releasegate stack fault error_5xx_burst on")
    fault.add_argument("name", metavar="NAME")
    fault.add_argument("state", choices=("on", "off"))
    fault.add_argument("--target", metavar="PROFILE", help="the running stack's profile (default: "
                       "REPORT_DIR/stack/reference-target.yaml, as stack up writes it)")
    report_dir(fault)
    fault.set_defaults(func=cmd_stack_fault)

    from releasegate.init.command import add_parser as add_init

    add_init(sub)

    run = sub.add_parser("run", help="run suites against a target profile (extra args go to pytest)",
                         description="Run the suites against PROFILE with the report defaults; "
                         "exits with the verdict code.", epilog=PASS_THROUGH,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--target", metavar="PROFILE", action="append", help="target profile "
                     "(default: $RELEASEGATE_TARGET); several make a fleet")
    run.add_argument("--fleet", metavar="FILE", help="a fleet file: many targets, one report and "
                     "verdict; -n N checks N targets at once (docs/fleet.md)")
    run.add_argument("--baseline", metavar="PATH", help="compare with a previous summary.json, or "
                     "the latest in a directory of past runs: new failures first")
    run.add_argument("-m", metavar="EXPR", help="marker expression, e.g. smoke, 'health or mcp' "
                     "(default: every suite)")
    report_dir(run)
    plugin_options(run)
    run.set_defaults(func=cmd_run)

    from releasegate.gate.fleet_cli import add_commands
    from releasegate.watch.command import add_parser as add_watch

    add_commands(sub, report_dir)
    add_watch(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # SIGINT as KeyboardInterrupt even when a script started us with SIGINT ignored (a shell's
    # background job inherits that), and SIGTERM the same way: everything started is torn down.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    parser = build_parser()
    try:
        ns, extra = parser.parse_known_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_UNUSABLE
    if extra and ns.func not in (cmd_run, cmd_demo):  # merge, diff, history take no pytest args
        try:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        except SystemExit as exc:
            return int(exc.code)  # type: ignore[arg-type]
    try:
        if getattr(ns, "faults", None):
            from releasegate.reference.faults import parse_faults

            parse_faults(ns.faults)
        return ns.func(ns, extra)
    except (ValueError, UsageProblem, ProfileError) as exc:  # fault names, provider; merge's paths
        _say(str(exc))
        if ns.func in (cmd_run, cmd_demo):
            write_no_verdict(Path(ns.report_dir or "reports"), target=None, reason=str(exc),
                             exit_code=EXIT_UNUSABLE)
        return EXIT_UNUSABLE
    except ServerUnavailable as exc:
        _say(str(exc))
        return EXIT_NO_SERVER
    except KeyboardInterrupt:
        _say("interrupted; everything started was stopped")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`releasegate stack faults | head`). Point stdout at
        # /dev/null so the interpreter's last flush does not raise again (Python docs, "Note on
        # SIGPIPE"). A listing did its job; a run or demo that lost its output reached no verdict.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if ns.func in (cmd_run, cmd_demo):
            _say("stdout closed before the verdict was written; everything started was stopped")
            return EXIT_INTERRUPTED
        return 0


if __name__ == "__main__":
    sys.exit(main())

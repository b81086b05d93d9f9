"""A fleet run: every target checked in its own process, at most ``-n`` at a time, one decision.

The parent imports pytest, the gate and the engines once, then forks one child per target: a
child starts warm (no interpreter start-up, no imports, no bytecode compiling) and runs the
suites against its one target exactly as ``releasegate run --target`` does, into
``REPORT_DIR/targets/<name>/``. A slow or dead target holds only its own child; the next target
starts as soon as any child ends (pytest-xdist's ``loadgroup`` with one group per target gives
the same isolation, but every worker pays the whole start-up, and pytest 9.2 silently ignores the
groups: pytest-dev/pytest-xdist#1386). The children's summaries are merged
(releasegate/fleet/merge.py) into the fleet's report.html, junit.xml and summary.json.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pkgutil
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import releasegate
from releasegate.core.errors import ProfileError
from releasegate.fleet.compare import baseline_files
from releasegate.fleet.merge import merge, read_summary
from releasegate.fleet.spec import (
    Fleet,
    FleetTarget,
    private_dir,
    remove_profiles,
    write_profiles,
)
from releasegate.gate.exitcodes import EXIT_INTERRUPTED, EXIT_SOFTWARE
from releasegate.gate.fleet_outputs import publish_fleet

RunOne = Callable[[Path, str, list[str]], int]
# not imported ahead: the reference stack, the command line, modules run as scripts
NOT_WARMED = ("releasegate.reference", "releasegate.cli", "releasegate.gate.fleet")
XDIST_VALUE = ("-n", "--numprocesses", "--maxprocesses", "--dist", "-d", "--tx")


def split_workers(extra: Sequence[str]) -> tuple[int, list[str]]:
    """-n N / -n auto is how many targets run at once; xdist's options stay out of the children
    (each target runs on one process, as one xdist group would)."""
    workers, rest, skip = 1, [], False
    for i, arg in enumerate(extra):
        if skip:
            skip = False
            continue
        name, eq, value = arg.partition("=")
        if name in XDIST_VALUE or (arg[:2] in ("-n", "-d") and len(arg) > 2):
            if not eq and name == arg and arg in XDIST_VALUE:
                value, skip = (extra[i + 1] if i + 1 < len(extra) else ""), True
            elif not eq and arg[:2] in ("-n", "-d"):
                name, value = arg[:2], arg[2:]
            if name in ("-n", "--numprocesses", "--maxprocesses"):
                workers = _count(value)
            continue
        rest.append(arg)
    return workers, rest


def _count(value: str) -> int:
    if value in ("auto", "logical"):
        return max(1, len(os.sched_getaffinity(0)))
    try:
        return max(1, int(value))
    except ValueError:
        raise ProfileError(f"-n {value}: expected a number or auto") from None


def warm_up(run_one: RunOne, profile: Path, extra: list[str]) -> None:
    """Import what every child needs, once: the engines, and the suites as pytest imports them
    (assertion rewriting included) through one collect-only run against the first target. The
    children find them in sys.modules and skip the imports, the compiling and the rewriting,
    which is most of a one-target run's start-up (benches/README.md, "Fleets")."""
    for module in pkgutil.walk_packages(releasegate.__path__, "releasegate."):
        if not module.name.startswith(NOT_WARMED) and not module.name.endswith("__main__"):
            with contextlib.suppress(ImportError):
                importlib.import_module(module.name)
    scratch = Path(tempfile.mkdtemp(prefix="releasegate-warm-"))
    saved = [os.dup(1), os.dup(2)]
    summary_env = os.environ.pop("GITHUB_STEP_SUMMARY", None)
    sys.stdout.flush()
    sys.stderr.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        run_one(profile, str(scratch), [*extra, "--collect-only", "-q"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
        if summary_env is not None:
            os.environ["GITHUB_STEP_SUMMARY"] = summary_env
        shutil.rmtree(scratch, ignore_errors=True)
    gc.freeze()  # what the children share stays shared: the collector does not touch its pages


BASELINE_ENV = "RELEASEGATE_BASELINE_SUMMARY"  # read by suites/data's previous_summary


def _child(run_one: RunOne, target: FleetTarget, profile: Path, out: Path,
           extra: list[str], baseline: Path | None) -> int:
    """In the forked child: its output to a file, its own reports, no job summary of its own."""
    os.environ.pop("GITHUB_STEP_SUMMARY", None)
    if baseline is not None:
        os.environ[BASELINE_ENV] = str(baseline)
    out.mkdir(parents=True, exist_ok=True)
    log = os.open(out / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    # a pytest cache per target (--lf reruns what failed on that target): targets running at
    # once would overwrite each other's record in one
    cache = Path.cwd() / ".pytest_cache" / "releasegate-fleet" / target.slug
    args = [*extra, "-o", f"cache_dir={cache}",
            *([f"--expect-build={target.expect_build}"] if target.expect_build else [])]
    return run_one(profile, str(out), args)


def _fork(run_one: RunOne, target: FleetTarget, profile: Path, out: Path, extra: list[str],
          baseline: Path | None) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = EXIT_SOFTWARE
    try:
        code = _child(run_one, target, profile, out, extra, baseline)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BaseException:  # a child must never return into the parent's code
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def run_targets(fleet: Fleet, profiles: dict[str, Path], report_dir: Path, extra: list[str],
                workers: int, run_one: RunOne, log: Callable[[str], None],
                warm: Callable[[], None] = lambda: None,
                baselines: Mapping[str, Path] | None = None) -> dict[str, int]:
    """Each target in a forked child, at most ``workers`` at once; the exit code of each. With
    more than one worker the first child starts at once and the parent warms up beside it
    (``warm``), so both cores work from the start; every later child forks warm."""
    queue = list(fleet.targets)
    running: dict[int, FleetTarget] = {}
    codes: dict[str, int] = {}

    def start(t: FleetTarget) -> None:
        running[_fork(run_one, t, profiles[t.name], report_dir / "targets" / t.slug, extra,
                      (baselines or {}).get(t.name))] = t

    try:
        if workers > 1 and len(queue) > 1:
            start(queue.pop(0))
        warm()
        while queue or running:
            while queue and len(running) < workers:
                start(queue.pop(0))
            pid, status = os.waitpid(-1, 0)
            done = running.pop(pid, None)
            if done is not None:
                codes[done.name] = os.waitstatus_to_exitcode(status)
                log(f"{done.name}: exit {codes[done.name]} "
                    f"({len(codes)}/{len(fleet.targets)} done)")
    except BaseException:
        for pid in running:  # interrupted: stop the children still running, then wait for them
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in running:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        raise
    return codes


def _no_summary(target: FleetTarget, code: int) -> dict[str, Any]:
    """A child that died before writing its summary (killed): a target without a verdict."""
    return {"target": target.name, "verdict": None, "exit_code": code, "checks": [], "counts": {},
            "reason": f"the target's run ended without a summary (exit {code}); see its output.txt",
            "started_at": None, "duration_s": 0, "notes": [], "target_facts": {}}


def run_fleet(fleet: Fleet, report_dir: Path, extra: list[str], run_one: RunOne,
              log: Callable[[str], None], baseline: Sequence[Mapping[str, Any]] | None = None,
              baseline_path: str = "") -> int:
    """Run every target, merge, publish the fleet's outputs; the fleet's exit code."""
    workers, extra = split_workers(extra)
    private = private_dir()
    profiles: dict[str, Path] = {}
    try:
        profiles = write_profiles(fleet, private)
        started = time.time()
        report_dir.mkdir(parents=True, exist_ok=True)
        baselines = baseline_files(baseline or [], private / "baselines")
        for t in fleet.targets:  # a target's last summary.json: its baseline when none is given
            # (000 §5.3's drop), and out of the way, so a child that dies cannot leave it as if new
            last = report_dir / "targets" / t.slug / "summary.json"
            if last.is_file():
                kept = private / "previous" / f"{t.slug}.json"
                kept.parent.mkdir(exist_ok=True)
                os.replace(last, kept)
                baselines.setdefault(t.name, kept)
        log(f"fleet {fleet.name}: {len(fleet.targets)} targets, {workers} at a time")
        first = profiles[fleet.targets[0].name]
        codes = run_targets(fleet, profiles, report_dir, extra, min(workers, len(fleet.targets)),
                            run_one, log, warm=lambda: warm_up(run_one, first, extra),
                            baselines=baselines)
    finally:
        remove_profiles(profiles)
        shutil.rmtree(private, ignore_errors=True)
    summaries = []
    for t in fleet.targets:
        path = report_dir / "targets" / t.slug / "summary.json"
        summaries.append(read_summary(path) if path.is_file() else _no_summary(t, codes[t.name]))
    summary = merge(summaries, name=fleet.name, waves=fleet.wave_of(), wave_order=fleet.waves,
                    started_at=datetime.fromtimestamp(started, timezone.utc).isoformat(
                        timespec="seconds"),
                    duration_s=round(time.time() - started, 2))
    return publish_fleet(summary, report_dir, baseline=baseline, baseline_path=baseline_path)

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
import importlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from releasegate.core.errors import ProfileError
from releasegate.fleet.merge import merge, read_summary
from releasegate.fleet.spec import Fleet, FleetTarget, private_dir, write_profiles
from releasegate.gate.exitcodes import EXIT_INTERRUPTED, EXIT_SOFTWARE
from releasegate.gate.fleet_outputs import publish_fleet

RunOne = Callable[[Path, str, list[str]], int]
# what a child needs, imported once in the parent so every child starts warm
WARM = ("pytest", "_pytest.junitxml", "pytest_html.plugin", "pytest_metadata.plugin", "jinja2",
        "releasegate.gate.plugin", "releasegate.gate.area_fixtures", "httpx", "yaml", "jsonschema",
        "releasegate.health.probes", "releasegate.health.release", "releasegate.readapi.api",
        "releasegate.versioning.api", "releasegate.mcp.engine", "releasegate.postgres.view",
        "releasegate.redis.view", "releasegate.prometheus.view", "releasegate.logs.view",
        "releasegate.backup.view", "releasegate.net.exposure")
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


def warm_up() -> None:
    for name in WARM:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _child(run_one: RunOne, target: FleetTarget, profile: Path, out: Path,
           extra: list[str]) -> int:
    """In the forked child: its output to a file, its own reports, no job summary of its own."""
    os.environ.pop("GITHUB_STEP_SUMMARY", None)
    out.mkdir(parents=True, exist_ok=True)
    log = os.open(out / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    args = [*extra, *([f"--expect-build={target.expect_build}"] if target.expect_build else [])]
    return run_one(profile, str(out), args)


def _fork(run_one: RunOne, target: FleetTarget, profile: Path, out: Path, extra: list[str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = EXIT_SOFTWARE
    try:
        code = _child(run_one, target, profile, out, extra)
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
                workers: int, run_one: RunOne, log: Callable[[str], None]) -> dict[str, int]:
    """Each target in a forked child, at most ``workers`` at once; the exit code of each."""
    queue = list(fleet.targets)
    running: dict[int, FleetTarget] = {}
    codes: dict[str, int] = {}
    try:
        while queue or running:
            while queue and len(running) < workers:
                t = queue.pop(0)
                running[_fork(run_one, t, profiles[t.name], report_dir / "targets" / t.slug,
                              extra)] = t
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
    try:
        profiles = write_profiles(fleet, private)
        warm_up()
        started = time.time()
        report_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(report_dir / "targets", ignore_errors=True)
        log(f"fleet {fleet.name}: {len(fleet.targets)} targets, {workers} at a time")
        codes = run_targets(fleet, profiles, report_dir, extra, min(workers, len(fleet.targets)),
                            run_one, log)
    finally:
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

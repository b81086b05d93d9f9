"""Start-up benchmark (issue 21): a one-area run, whole process, beside a bare httpx script.

Usage: .venv/bin/python benches/bench_startup.py [--repeat N] [--output PATH] [--before CHECKOUT]

Boots the reference stack with its health part, then times, as whole subprocesses, N paired
rounds (interleaved, so that drift on the machine hits every command alike; one warm-up round
is discarded):

- floor:       `python benches/floor_health.py PROFILE` (the same 5 GETs with one httpx.Client);
- run:         `releasegate run --target PROFILE -m health -k "not stable_over_window"`;
and the split of the run, each row one step further:
- interpreter: `python -c pass`;
- pytest:      pytest and its plugins as `releasegate run` loads them, `--collect-only` of an
               empty directory with releasegate's plugin blocked;
- plugin:      the same with releasegate's plugin, still no target;
- collection:  `releasegate run … --collect-only` (profile loaded and validated, the health suite
               collected, nothing run);
- checks:      run − collection (the checks and the reports).

Both in one invocation, twice: with bytecode as the environment has it (PYTHONDONTWRITEBYTECODE=1
on these machines: every module of an editable checkout is compiled on every run) and with a
bytecode cache (a throwaway PYTHONPYCACHEPREFIX, as an installed wheel or a usual developer
machine has). Records wall-clock medians and the children's CPU time (user+sys, less sensitive
to a busy machine) with the load average, in benches/results/startup.json, and prints the table.
Target (reported, not asserted): run ≤ 2 × floor, whole process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
REPO = BENCHES.parent
sys.path.insert(0, str(REPO))

from releasegate.reference.stack import running_stack  # noqa: E402

TARGET_FACTOR = 2.0
BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user+sys of the child) and exit code of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 4, 5):  # 4: --collect-only runs no check (INVESTIGATE)
        sys.stderr.write(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                         f"{proc.stdout[-1500:]}{proc.stderr[-1500:]}\n")
    return wall, cpu, proc.returncode


def commands(profile: Path, scratch: Path, before: Path | None = None) -> dict[str, list[str]]:
    releasegate = [str(BIN / "releasegate"), "run", f"--target={profile}", "-m", "health",
                   "-k", "not stable_over_window", f"--report-dir={scratch / 'reports'}"]
    empty = scratch / "empty"
    empty.mkdir(exist_ok=True)
    pytest = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
              "-p", "no:anyio", "-p", "no:unraisableexception", "-p", "no:xdist",
              "-p", "no:xdist.looponfail", str(empty)]
    found = {
        "floor": [sys.executable, str(BENCHES / "floor_health.py"), str(profile)],
        "run": releasegate,
        "interpreter": [sys.executable, "-c", "pass"],
        "pytest": [*pytest, "-p", "no:releasegate"],
        "plugin": pytest,
        "collection": [*releasegate, "--collect-only", "-q"],
    }
    if before is not None:  # the same run from another checkout (its own .venv): the "before"
        old = [str(before / ".venv" / "bin" / "releasegate"), *releasegate[1:]]
        found["before_run"] = old
        found["before_collection"] = [*old, "--collect-only", "-q"]
    return found


def measure(cmds: dict[str, list[str]], scratch: Path, env: dict[str, str],
            repeat: int) -> dict[str, object]:
    """Medians of ``repeat`` interleaved rounds of every command (one warm-up round discarded)."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    load_before = os.getloadavg()
    for round_no in range(repeat + 1):
        for name, cmd in cmds.items():
            wall, cpu, _ = timed(cmd, scratch, env)
            if round_no:
                samples[name].append((wall, cpu))
    load_after = os.getloadavg()
    med = {name: {"wall_s": round(statistics.median(w for w, _ in s), 4),
                  "cpu_s": round(statistics.median(c for _, c in s), 4)} for name, s in samples.items()}
    for prefix in ("", "before_"):
        if f"{prefix}run" in med:
            med[f"{prefix}checks"] = {k: round(med[f"{prefix}run"][k] - med[f"{prefix}collection"][k], 4)
                                      for k in ("wall_s", "cpu_s")}
    ratio = med["run"]["wall_s"] / med["floor"]["wall_s"]
    return {"load_before": load_before, "load_after": load_after, "medians": med,
            "run_over_floor": round(ratio, 3),
            "cpu_run_over_floor": round(med["run"]["cpu_s"] / med["floor"]["cpu_s"], 3),
            "met": ratio <= TARGET_FACTOR}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--output", type=Path, default=BENCHES / "results" / "startup.json")
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="a checkout of the commit before the change, with its own .venv")
    args = parser.parse_args(argv)
    modes: dict[str, dict[str, object]] = {}
    with running_stack(only=("health",)) as stack, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        cmds = commands(Path(stack.profile_path), scratch, args.before)
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
        for mode, env in (("environment", dict(os.environ)), ("bytecode_cache", cached)):
            modes[mode] = measure(cmds, scratch, env, args.repeat)
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE")},
        "before": str(args.before) if args.before else None, "repeat": args.repeat,
        "target": f"run <= {TARGET_FACTOR}x floor", "modes": modes,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    for mode, found in modes.items():
        med = found["medians"]
        print(f"{mode}: load {found['load_before'][0]:.2f} → {found['load_after'][0]:.2f}; "
              f"medians of {args.repeat} paired runs")
        print(f"  {'':12} {'wall s':>8} {'cpu s':>8}")
        for name in ("floor", "interpreter", "pytest", "plugin", "collection", "checks", "run",
                     "before_collection", "before_checks", "before_run"):
            if name not in med:
                continue
            print(f"  {name:12} {med[name]['wall_s']:8.3f} {med[name]['cpu_s']:8.3f}")
        print(f"  run / floor = {found['run_over_floor']:.2f}x wall, {found['cpu_run_over_floor']:.2f}x cpu "
              f"(target ≤ {TARGET_FACTOR}x): {'met' if found['met'] else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

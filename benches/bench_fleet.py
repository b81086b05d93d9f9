"""A fleet of 20 targets beside one target and beside the same 20 run one after another (issue 19).

Usage: .venv/bin/python benches/bench_fleet.py [--profile PROFILE] [--targets 20] [--repeat 3]
                                                [--check] [--output PATH]

Against one running reference stack (`releasegate stack up` prints PROFILE; without --profile
the bench boots its own), every target a copy of PROFILE under its own name, `-m smoke`:
- one:        `releasegate run --target PROFILE -m smoke -n auto`, and without -n;
- fleet:      `releasegate run --fleet FLEET -m smoke -n auto` (20 targets);
- sequential: the same 20 targets as 20 `releasegate run --target Pi -m smoke`, one after another;
interleaved one round at a time, after one warm-up round that is not counted. Peak RSS per
process comes from wait4 (the fleet's: the largest of its parent and forked children).
Then `releasegate merge` of 100 target summaries (copies of the fleet's) and the size of the
100-target report.

Floors (issue 19), reported; --check exits 1 when one is missed:
  fleet wall ≤ 3 × one target's (-n auto)
  fleet wall ≤ 1.15 × (sequential wall ÷ workers)
  peak RSS per process ≤ 2 × one target's
  merge of 100 summaries < 2 s; the 100-target report < 5 MB
Exit 0 ran, 1 --check and a floor missed, 2 the bench itself broke.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from bench_smoke import REPO, BenchError, loadavg, machine_info, releasegate_cmd, say, summarize

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "fleet.json"


def measured(cmd: Sequence[str], expect: Sequence[int] = (0,), cpu: list[float] | None = None
             ) -> tuple[float, float]:
    """(wall seconds, peak RSS MB of the process and its waited-for children); its CPU seconds
    (user + system, children included) appended to ``cpu`` — on a loaded machine the wall
    time is mostly waiting for a core."""
    started = time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if code not in expect:
        raise BenchError(f"{' '.join(cmd)} exited {code}:\n{err[-1500:]}")
    if cpu is not None:
        cpu.append(usage.ru_utime + usage.ru_stime)
    return wall, usage.ru_maxrss / 1024


@contextlib.contextmanager
def a_profile(given: str | None) -> Iterator[Path]:
    if given:
        yield Path(given)
        return
    from releasegate.reference.stack import running_stack

    with running_stack() as stack:
        yield Path(stack.profile_path)


def write_fleet(profile: Path, n: int, scratch: Path) -> tuple[Path, list[Path]]:
    data = yaml.safe_load(profile.read_text())
    profiles = []
    for i in range(n):
        path = scratch / f"t{i:02d}.yaml"
        path.write_text(yaml.safe_dump({**data, "name": f"t{i:02d}"}, sort_keys=False))
        profiles.append(path)
    fleet = scratch / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({"name": "bench", "targets": [str(p) for p in profiles]}))
    return fleet, profiles


def bench(profile: Path, n: int, repeat: int, scratch: Path) -> dict[str, Any]:
    rg = releasegate_cmd()
    fleet, profiles = write_fleet(profile, n, scratch)
    workers = len(os.sched_getaffinity(0))
    one_n = [*rg, "run", f"--target={profile}", "-m", "smoke", "-n", "auto",
             f"--report-dir={scratch / 'one-n'}"]
    one = [*rg, "run", f"--target={profile}", "-m", "smoke", f"--report-dir={scratch / 'one'}"]
    fleet_cmd = [*rg, "run", f"--fleet={fleet}", "-m", "smoke", "-n", "auto",
                 f"--report-dir={scratch / 'fleet'}"]
    samples: dict[str, list[float]] = {k: [] for k in ("one_n_auto", "one", "fleet", "sequential")}
    cpu: dict[str, list[float]] = {k: [] for k in ("one_n_auto", "one", "fleet", "sequential")}
    round_cpu: dict[str, list[float]] = {}
    rss: dict[str, list[float]] = {k: [] for k in ("one_n_auto", "one", "fleet")}
    for rnd in range(repeat + 1):
        say(f"round {rnd}/{repeat} (load {loadavg()})")
        round_cpu = {k: [] for k in cpu}
        row = {"one_n_auto": measured(one_n, cpu=round_cpu["one_n_auto"]),
               "one": measured(one, cpu=round_cpu["one"]),
               "fleet": measured(fleet_cmd, cpu=round_cpu["fleet"])}
        seq = 0.0
        for p in profiles:
            seq += measured([*rg, "run", f"--target={p}", "-m", "smoke",
                             f"--report-dir={scratch / 'seq' / p.stem}"], cpu=round_cpu["sequential"])[0]
        if rnd == 0:
            continue  # warm-up
        for key, (wall, peak) in row.items():
            samples[key].append(wall)
            rss[key].append(peak)
        samples["sequential"].append(seq)
        for key, values in round_cpu.items():
            cpu[key].append(sum(values))
    fleet_summary = json.loads((scratch / "fleet" / "summary.json").read_text())
    if fleet_summary["verdict"] != "GO":
        raise BenchError(f"the fleet did not give GO: {fleet_summary['reason']}")
    return {"targets": n, "workers": workers, "selection": "-m smoke",
            "wall_s": {k: summarize(v) for k, v in samples.items()},
            "cpu_s": {k: summarize(v) for k, v in cpu.items()},
            "peak_rss_mb": {k: summarize(v) for k, v in rss.items()},
            "fleet_summary": scratch / "fleet"}


def bench_merge(fleet_dir: Path, scratch: Path, count: int = 100) -> dict[str, Any]:
    sources = sorted((fleet_dir / "targets").glob("*/summary.json"))
    runs = scratch / "runs"
    for i in range(count):
        data = json.loads(sources[i % len(sources)].read_text())
        data["target"] = f"target-{i:03d}"
        (runs / f"job-{i:03d}").mkdir(parents=True)
        (runs / f"job-{i:03d}" / "summary.json").write_text(json.dumps(data))
    walls: list[float] = []
    cpu: list[float] = []
    for _ in range(3):
        wall, _ = measured([*releasegate_cmd(), "merge", str(runs), f"--report-dir={scratch / 'merged'}"],
                           cpu=cpu)
        walls.append(wall)
    from releasegate.fleet.merge import merge, read_summary, summary_files

    files = summary_files([runs])
    started = time.perf_counter()
    merge([read_summary(f) for f in files])
    in_process = time.perf_counter() - started
    return {"summaries": count, "cli_wall_s": summarize(walls), "cli_cpu_s": summarize(cpu),
            "merge_in_process_s": round(in_process, 4),
            "report_mb": round((scratch / "merged" / "report.html").stat().st_size / 1e6, 3),
            "summary_mb": round((scratch / "merged" / "summary.json").stat().st_size / 1e6, 3)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", help="a running stack's profile (default: boot one)")
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    machine = machine_info()
    scratch = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    try:
        with a_profile(args.profile) as profile:
            result = bench(profile, args.targets, args.repeat, scratch)
            merged = bench_merge(result.pop("fleet_summary"), scratch)
    except BenchError as exc:
        say(str(exc))
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    machine["loadavg_at_end"] = loadavg()
    med = {k: v["median"] for k, v in result["wall_s"].items()}
    per_worker = med["sequential"] / result["workers"]
    ratios = {"fleet_over_one_n_auto": round(med["fleet"] / med["one_n_auto"], 3),
              "fleet_over_one": round(med["fleet"] / med["one"], 3),
              "fleet_over_sequential_per_worker": round(med["fleet"] / per_worker, 3),
              "rss_fleet_over_one": round(result["peak_rss_mb"]["fleet"]["median"]
                                          / result["peak_rss_mb"]["one"]["median"], 3)}
    floors = {"fleet ≤ 3 × one target (-n auto)": ratios["fleet_over_one_n_auto"] <= 3,
              "fleet ≤ 1.15 × sequential ÷ workers": ratios["fleet_over_sequential_per_worker"] <= 1.15,
              "peak RSS per process ≤ 2 × one target's": ratios["rss_fleet_over_one"] <= 2,
              "merge of 100 summaries < 2 s (CLI wall)": merged["cli_wall_s"]["median"] < 2,
              "100-target report < 5 MB": merged["report_mb"] < 5}
    out = {"bench": "fleet", "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "repeat": args.repeat, "bench_wall_s": round(time.perf_counter() - started, 1),
           "machine": machine, **result, "merge": merged, "ratios": ratios,
           "floors": {k: "PASS" if v else "MISSED" for k, v in floors.items()},
           "rss_note": "ru_maxrss of wait4: the fleet's is the largest of its parent and its forked "
                       "children, i.e. per process"}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({"wall_s_median": med, "ratios": ratios, "merge": merged, "floors": out["floors"],
                      "load": [machine["loadavg_at_start"], machine["loadavg_at_end"]]}, indent=2))
    return 1 if args.check and not all(floors.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Data and redis suites beside their floor: bare psycopg / redis-py making the same queries.

Usage: .venv/bin/python benches/bench_data.py [--repeat N] [--check] [--output PATH]

With one reference stack up (data and redis parts), times N rounds, interleaved after one
discarded warm-up of each:
- floor:   `python benches/floor_data.py DSN REDIS_URL` as a subprocess (the same 34 queries on one
           autocommit connection, the same Redis commands on one client, the two port probes);
- suite:   `releasegate run --target PROFILE -m "data or redis" --report-dir TMP` (must give GO);
- pytest:  pytest start-up with the plugins `releasegate run` loads, nothing collected;
and records the floor's own work time (printed by the script) and the suite's in-session time
(summary.json duration_s).

Target (issue 11), reported, not asserted (--check exits 1 when missed):
  suite − pytest start-up ≤ 1.3 × floor subprocess
i.e. the gate's work — read-only transactions with SET LOCAL limits and ROLLBACK, evidence,
reports for ~40 checks — costs at most 30 % more than the bare script, start-up of pytest aside.
Exit 0 ran, 1 --check and the target missed, 2 the bench itself broke.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from bench_smoke import (
    REPO,
    BenchError,
    loadavg,
    machine_info,
    releasegate_cmd,
    say,
    summarize,
    timed_run,
)

BENCHES = Path(__file__).resolve().parent
FLOOR_SCRIPT = BENCHES / "floor_data.py"
DEFAULT_OUTPUT = BENCHES / "results" / "data.json"
TARGET_RATIO = 1.3


def floor_work(cmd: list[str]) -> tuple[float, float]:
    """(wall time of the floor subprocess, the work time it reports)."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"floor failed: {proc.stderr.strip()[-500:]}")
    return wall, float(json.loads(proc.stdout)["work_s"])


def bench(repeat: int, scratch: Path) -> dict[str, Any]:
    from releasegate.reference.stack import running_stack

    py = sys.executable
    empty = scratch / "empty"
    empty.mkdir()
    with running_stack(only=("data", "redis")) as stack:
        profile = yaml.safe_load(stack.profile_path.read_text())
        floor_cmd = [py, str(FLOOR_SCRIPT), profile["database"]["dsn"], profile["redis"]["url"]]
        run_no = iter(range(10**6))

        def suite() -> float:
            return timed_run([*releasegate_cmd(), "run", "--target", str(stack.profile_path), "-m",
                              "data or redis", "--report-dir", str(scratch / f"reports-{next(run_no)}")],
                             cwd=REPO, env=None, expect=(0,))

        def pytest_startup() -> float:
            return timed_run([py, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                              "-p", "no:anyio", str(empty)], cwd=empty, env=None, expect=(5,))

        floor_work(floor_cmd), suite(), pytest_startup()  # warm-up, not counted
        samples: dict[str, list[float]] = {"floor_subprocess": [], "floor_work": [], "suite": [],
                                           "pytest_startup": []}
        for i in range(repeat):
            wall, work = floor_work(floor_cmd)
            samples["floor_subprocess"].append(wall)
            samples["floor_work"].append(work)
            samples["suite"].append(suite())
            samples["pytest_startup"].append(pytest_startup())
            say(f"round {i + 1}/{repeat}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in samples.items()))
    in_session, checks = [], 0
    for report in sorted(scratch.glob("reports-*/summary.json"))[1:]:
        summary = json.loads(report.read_text())
        if summary["verdict"] != "GO":
            raise BenchError(f"{report}: verdict {summary['verdict']}, expected GO")
        in_session.append(float(summary["duration_s"]))
        checks = len(summary["checks"])
    result = {name: summarize(values) for name, values in samples.items()}
    result["suite_in_session"] = summarize(in_session)
    result["checks"] = checks
    return result


def analyse(result: dict[str, Any]) -> dict[str, Any]:
    med = {k: result[k]["median"] for k in ("floor_subprocess", "floor_work", "suite", "pytest_startup",
                                            "suite_in_session")}
    gate = med["suite"] - med["pytest_startup"]
    ratio = gate / med["floor_subprocess"]
    return {
        "suite_minus_pytest_startup_s": round(gate, 4),
        "ratio_to_floor_subprocess": round(ratio, 3),
        "ratio_help": "(suite - pytest start-up) / floor subprocess, medians; target <= 1.3",
        "ratio_of_minimums": round((result["suite"]["min"] - result["pytest_startup"]["min"])
                                   / result["floor_subprocess"]["min"], 3),
        "ratio_of_minimums_help": "the same from the fastest run of each: less sensitive to other "
                                  "load on a shared machine; informational",
        "in_session_over_floor_work": round(med["suite_in_session"] / med["floor_work"], 2),
        "in_session_help": "summary.json duration_s (collection, ~40 checks, reports) over the floor's "
                           "own query time; informational: pytest's per-test cost dominates it",
        "target_met": ratio <= TARGET_RATIO,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    info = machine_info()
    try:
        with tempfile.TemporaryDirectory(prefix="rg-bench-data-") as scratch:
            result = bench(args.repeat, Path(scratch))
    except BenchError as exc:
        say(str(exc))
        return 2
    info["loadavg_at_end"] = loadavg()
    derived = analyse(result)
    out = {"bench": "data", "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": info, "results": result, "derived": derived}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"{'measure (s)':<28}{'median':>9}{'min':>9}{'max':>9}")
    for name in ("floor_subprocess", "floor_work", "suite", "pytest_startup", "suite_in_session"):
        r = result[name]
        print(f"{name:<28}{r['median']:>9.3f}{r['min']:>9.3f}{r['max']:>9.3f}")
    print(f"checks per run: {result['checks']}; load average {info['loadavg_at_start']} -> "
          f"{info['loadavg_at_end']}")
    print(f"(suite - pytest start-up) / floor = {derived['ratio_to_floor_subprocess']:.2f} "
          f"(target <= {TARGET_RATIO}): {'PASS' if derived['target_met'] else 'MISS'}; "
          f"from the minimums {derived['ratio_of_minimums']:.2f}")
    print(f"wrote {args.output}")
    return 1 if args.check and not derived["target_met"] else 0


if __name__ == "__main__":
    sys.exit(main())

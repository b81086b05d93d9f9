"""Read API + versioning bench: `releasegate run -m "readapi or versioning"` beside its bare floor.

Usage: .venv/bin/python benches/bench_readapi.py [--repeat N] [--check] [--output PATH]

Boots the reference stack once (parts readapi and versioning), then times N rounds, interleaved
after one discarded warm-up of each, so drift on the machine hits every command alike:
- floor:  `python benches/floor_readapi.py PROFILE` — the same calls with httpx and httpx-sse;
- suite:  `releasegate run --target PROFILE -m "readapi or versioning"` (must give GO);
- pytest: `python -m pytest --collect-only` on an empty directory with the plugins `releasegate run`
          loads (informational: what any pytest-based suite pays before its first request).
Writes benches/results/readapi.json and prints a table. Target (issue 6): suite median <= 1.3 x
floor median. Exit 0 when it ran, 1 with --check and the target missed, 2 when the bench broke.

Both sides spend most of their time in the SSE observation windows the profile asks for (observe_s
2 s in the reference profile): that wait is the floor's as much as the suite's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCHES = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHES))

from bench_smoke import (  # noqa: E402  (the smoke bench's helpers: one way to time and describe)
    REPO,
    BenchError,
    loadavg,
    machine_info,
    releasegate_cmd,
    say,
    subprocess_env,
    summarize,
    timed_run,
)

FLOOR_SCRIPT = BENCHES / "floor_readapi.py"
DEFAULT_OUTPUT = BENCHES / "results" / "readapi.json"
MARKERS = "readapi or versioning"
TARGET_RATIO = 1.3


def bench(repeat: int, stack: Any, scratch: Path, env: dict[str, str]) -> dict[str, Any]:
    py = sys.executable
    empty = scratch / "empty"
    empty.mkdir()
    run_no = iter(range(10**6))

    def suite_cmd() -> list[str]:
        return [*releasegate_cmd(), "run", "--target", str(stack.profile_path), "-m", MARKERS,
                "--report-dir", str(scratch / f"reports-{next(run_no)}")]

    commands: dict[str, tuple[Callable[[], list[str]], Path, tuple[int, ...]]] = {
        "floor_subprocess": (lambda: [py, str(FLOOR_SCRIPT), str(stack.profile_path)], REPO, (0,)),
        "suite": (suite_cmd, REPO, (0,)),
        "pytest_startup": (lambda: [py, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                    "-p", "no:anyio", str(empty)], empty, (5,)),
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for make, cwd, expect in commands.values():
        timed_run(make(), cwd=cwd, env=env, expect=expect)
    for i in range(repeat):
        for name, (make, cwd, expect) in commands.items():
            samples[name].append(timed_run(make(), cwd=cwd, env=env, expect=expect))
        say(f"round {i + 1}/{repeat}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in samples.items()))
    in_session, checks = [], 0
    for report in sorted(scratch.glob("reports-*/summary.json")):
        summary = json.loads(report.read_text())
        if summary.get("verdict") != "GO":
            raise BenchError(f"{report}: verdict {summary.get('verdict')}, expected GO")
        in_session.append(float(summary["duration_s"]))
        checks = len(summary["checks"])
    return {"checks_per_run": checks, **{k: summarize(v) for k, v in samples.items()},
            "suite_in_session": summarize(in_session)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="rounds (default 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default {DEFAULT_OUTPUT}")
    ns = parser.parse_args(argv)
    if ns.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        from releasegate.reference.stack import running_stack

        timestamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        machine = machine_info()
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="rg-bench-readapi-") as tmp, \
                running_stack(only=("readapi", "versioning")) as stack:
            measured = bench(ns.repeat, stack, Path(tmp), subprocess_env(False, Path(tmp)))
        machine["loadavg_at_end"] = loadavg()
    except Exception as exc:  # the bench broke: say so and exit 2, distinct from a missed target
        say(f"bench failed: {type(exc).__name__}: {exc}")
        return 2
    suite, floor = measured["suite"]["median"], measured["floor_subprocess"]["median"]
    startup = measured["pytest_startup"]["median"]
    derived = {
        "suite_over_floor": round(suite / floor, 3),
        "suite_minus_pytest_startup_over_floor": round((suite - startup) / floor, 3),
        "suite_minus_pytest_startup_over_floor_help": "informational: the suite without what any "
                                                      "pytest run pays before its first request",
    }
    target = {"target": f"suite median <= {TARGET_RATIO} x floor median", "value": suite,
              "limit": round(TARGET_RATIO * floor, 4), "pass": suite <= TARGET_RATIO * floor}
    result = {"bench": "readapi", "timestamp": timestamp, "repeat": ns.repeat, "markers": MARKERS,
              "bench_wall_s": round(time.perf_counter() - started, 2), "machine": machine,
              "measured": measured, "derived": derived, "target": target}
    ns.output.parent.mkdir(parents=True, exist_ok=True)
    ns.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nreleasegate Read API + versioning bench — {timestamp} — {machine['nproc']} cores, "
          f"repeat {ns.repeat}, load {machine['loadavg_at_start']} -> {machine['loadavg_at_end']}, "
          f"{measured['checks_per_run']} checks a run")
    rows = (("floor (benches/floor_readapi.py)", "floor_subprocess"),
            (f"suite (releasegate run -m '{MARKERS}')", "suite"),
            ("pytest start-up (informational)", "pytest_startup"),
            ("suite in-session (summary.json)", "suite_in_session"))
    width = max(len(label) for label, _ in rows)
    print(f"\n{'measure (seconds)':<{width}}  {'median':>8}  {'min':>8}  {'max':>8}")
    for label, key in rows:
        s = measured[key]
        print(f"{label:<{width}}  {s['median']:>8.3f}  {s['min']:>8.3f}  {s['max']:>8.3f}")
    print(f"\nsuite / floor = {derived['suite_over_floor']:.2f}x; without pytest start-up "
          f"{derived['suite_minus_pytest_startup_over_floor']:.2f}x")
    verdict = "PASS" if target["pass"] else "FAIL"
    print(f"{verdict}  {target['target']}: {suite:.3f} s vs {target['limit']:.3f} s")
    print(f"\nresults: {ns.output}")
    return 1 if ns.check and not target["pass"] else 0


if __name__ == "__main__":
    sys.exit(main())

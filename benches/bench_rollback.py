"""Rollback-suite bench: its Prometheus queries, by releasegate and by bare httpx, in one run.

Usage: .venv/bin/python benches/bench_rollback.py [--repeat N] [--check] [--output PATH]

1. Boots the reference stack's health, observability and rollback parts (a real Prometheus with
   16 minutes of backfilled history) and records the boot and the observability part's share.
2. Against that Prometheus, times N rounds, interleaved so that load from other work on the
   machine falls on both sides alike:
   - releasegate: every Prometheus check of `-m "rollback or observability"` as the suites make
     them — the ten rollback triggers and two post-deploy thresholds through TriggerView (series
     lookups, sample gates, values, evidence with redaction and curl commands), the rules and
     alerts lookups — on a fresh HttpTarget and PrometheusAPI per round, as a run has;
   - floor: the same HTTP requests (the exact URLs releasegate sent, recorded once) by a bare
     httpx.Client, each answer parsed as JSON and its "status" read.
3. Also times `releasegate run -m "rollback or observability"` once per round (informational).
4. Writes benches/results/rollback.json and prints a table. Target (from the issue): releasegate
   median <= 1.3 x the floor median. Exit 0 when it ran; 1 with --check and the target missed;
   2 when the bench itself broke.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCHES = Path(__file__).resolve().parent
REPO = BENCHES.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from releasegate.core.evidence import Evidence  # noqa: E402
from releasegate.core.profile import load_target  # noqa: E402
from releasegate.http.client import HttpTarget  # noqa: E402
from releasegate.prometheus.api import PrometheusAPI  # noqa: E402
from releasegate.prometheus.triggers import BUILTIN  # noqa: E402
from releasegate.prometheus.view import POST_DEPLOY, TriggerView  # noqa: E402

DEFAULT_OUTPUT = BENCHES / "results" / "rollback.json"
TARGET_RATIO = 1.3
ROLLBACK_TRIGGERS = [n for n in BUILTIN if n not in POST_DEPLOY.values()]


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def summarize(samples: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(samples), 5), "min": round(min(samples), 5),
            "max": round(max(samples), 5), "n": len(samples), "samples": [round(s, 5) for s in samples]}


def releasegate_round(target: Any, paths: list[str] | None = None) -> float:
    """Every Prometheus call of the two suites, as the checks make them; returns seconds."""
    section = target.section("metrics.prometheus")
    redactor = target.redactor()
    started = time.perf_counter()
    http = HttpTarget(section["base_url"], timeouts=target.timeouts, body_limit=target.body_limit)
    if paths is not None:  # record the exact requests, for the floor
        fetch = http.fetch

        def recording(path: str, **kwargs: Any) -> Any:
            paths.append(path)
            return fetch(path, **kwargs)

        http.fetch = recording  # type: ignore[method-assign]
    api = PrometheusAPI(http, command=redactor.shell)
    for name in ROLLBACK_TRIGGERS:
        TriggerView(api, target, Evidence(redactor)).judge(name)
    for key, name in POST_DEPLOY.items():
        TriggerView(api, target, Evidence(redactor)).judge(name, section="metrics.post_deploy", key=key)
    api.rules()
    api.alerts()
    http.close()
    return time.perf_counter() - started


def floor_round(base_url: str, paths: list[str]) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=10, trust_env=False) as client:
        for path in paths:
            body = client.get(path).json()
            assert body["status"] == "success", body
    return time.perf_counter() - started


def suite_run(profile: Path, scratch: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "releasegate.cli", "run", f"--target={profile}",
                           f"--report-dir={scratch}", "-m", "rollback or observability"],
                          cwd=REPO, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"releasegate run exited {proc.returncode}: {proc.stdout[-500:]}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, metavar="N", help="rounds (default 30)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    ns = parser.parse_args(argv)
    try:
        from releasegate.reference.stack import running_stack

        load_start = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp, \
                running_stack(only=("health", "observability", "rollback")) as stack:
            say(f"stack up in {stack.timings['boot_s']:.2f}s")
            target = load_target(stack.profile_path)
            paths: list[str] = []
            releasegate_round(target, paths)  # warm-up, and the floor's request list
            base_url = target.section("metrics.prometheus")["base_url"]
            floor_round(base_url, paths)
            rg, floor, suite = [], [], []
            for i in range(ns.repeat):
                rg.append(releasegate_round(target))
                floor.append(floor_round(base_url, paths))
                if i < max(3, ns.repeat // 10):
                    suite.append(suite_run(stack.profile_path, Path(tmp) / f"r{i}"))
            timings = dict(stack.timings)
        load_end = os.getloadavg()
    except Exception as exc:
        say(f"bench failed: {type(exc).__name__}: {exc}")
        return 2
    ratio = statistics.median(rg) / statistics.median(floor)
    result = {
        "bench": "rollback", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_at_start": [round(x, 2) for x in load_start],
                    "loadavg_at_end": [round(x, 2) for x in load_end]},
        "requests_per_round": len(paths),
        "stack_boot": {k: round(v, 3) for k, v in timings.items()},
        "releasegate_queries_s": summarize(rg), "floor_httpx_s": summarize(floor),
        "suite_run_s": summarize(suite),
        "ratio_median": round(ratio, 3),
        "target": {"limit": TARGET_RATIO, "pass": ratio <= TARGET_RATIO},
    }
    ns.output.parent.mkdir(parents=True, exist_ok=True)
    ns.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nrollback bench — {result['timestamp']}, {os.cpu_count()} cores, load "
          f"{result['machine']['loadavg_at_start'][0]} -> {result['machine']['loadavg_at_end'][0]}, "
          f"{ns.repeat} rounds of {len(paths)} Prometheus requests")
    print(f"{'measure (seconds)':<44} {'median':>8} {'min':>8} {'max':>8}")
    for label, key in (("releasegate (TriggerView + PrometheusAPI)", "releasegate_queries_s"),
                       ("floor (bare httpx, same URLs)", "floor_httpx_s"),
                       ("releasegate run -m 'rollback or observability'", "suite_run_s")):
        s = result[key]
        print(f"{label:<44} {s['median']:>8.4f} {s['min']:>8.4f} {s['max']:>8.4f}")
    print(f"stack boot {timings['boot_s']:.2f}s (servers {timings['servers_s']:.2f}, seed "
          f"{timings['seed_s']:.2f}, app {timings['app_s']:.2f}; the rest is history + Prometheus)")
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"{verdict}  releasegate / floor = {ratio:.2f} (target <= {TARGET_RATIO})")
    print(f"results: {ns.output}")
    return 1 if ns.check and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())

"""Smoke-run benchmark: reference stack boot, and `releasegate run -m smoke` beside its floor.

Usage: .venv/bin/python benches/bench_smoke.py [--repeat N] [--check] [--output PATH] [--bytecode-cache]

1. Boots the reference stack N times (releasegate.reference.stack.running_stack) and records boot_s and its
   parts (servers_s, seed_s, app_s).
2. With one stack up, times N times each (after one discarded warm-up run of each, interleaved so
   that drift on the machine hits every command alike):
   - floor:   `python benches/floor_smoke.py BASE_URL` as a subprocess (the same 4 smoke requests
              with one httpx.Client, nothing else);
   - suite:   `releasegate run --target PROFILE -m smoke --report-dir TMP` as a subprocess;
   - pytest:  `python -m pytest --collect-only -q -p no:cacheprovider -p no:anyio EMPTY_DIR` (interpreter,
              pytest and every installed plugin loaded, nothing collected);
   - breakdown rows (informational): `python -c pass`, `python -c "import httpx"`,
     `releasegate --version`, and pytest start-up again with `-p no:releasegate` (the releasegate
     plugin's own imports are otherwise counted as pytest start-up);
   and times the floor's requests in-process (perf_counter around the 4 requests on a fresh client).
3. Writes benches/results/smoke.json and prints a table with PASS/FAIL per target.

Targets (reported, not asserted; --check exits 1 when one is missed):
- stack boot median < 5 s;
- smoke suite median < 3 s;
- suite median <= 1.5 x floor-subprocess median + pytest start-up median
  (the suite's own overhead at most 0.5x the floor on top of it, plus pytest start-up).
Exit codes: 0 ran (targets are reported), 1 --check and a target missed, 2 the bench itself broke.

Subprocesses inherit the environment. With PYTHONDONTWRITEBYTECODE=1 (set in some containers and
CI images) nothing is cached between runs: every module of the repo is compiled and every module
pytest rewrites (the pytest11 plugin distributions, anyio's included) is rewritten on each run.
--bytecode-cache runs the subprocesses with bytecode caching on, in a throwaway
PYTHONPYCACHEPREFIX (nothing is written into the repo), as on a usual developer machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCHES = Path(__file__).resolve().parent
REPO = BENCHES.parent
FLOOR_SCRIPT = BENCHES / "floor_smoke.py"
DEFAULT_OUTPUT = BENCHES / "results" / "smoke.json"
BOOT_TARGET_S = 5.0
SUITE_TARGET_S = 3.0
OVERHEAD_FACTOR = 0.5  # the suite may cost the floor plus half the floor again, plus pytest start-up
SUBPROCESS_TIMEOUT_S = 120
ENV_KEYS = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONPATH", "PYTEST_ADDOPTS",
            "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "RELEASEGATE_PROVIDER")


class BenchError(RuntimeError):
    """The bench itself could not measure (a command failed, the stack did not boot)."""


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(samples), 4), "min": round(min(samples), 4),
            "max": round(max(samples), 4), "n": len(samples),
            "samples": [round(s, 4) for s in samples]}


def timed_run(cmd: Sequence[str], *, cwd: Path, env: dict[str, str], expect: Sequence[int] = (0,)) -> float:
    """Wall time of one subprocess, start to exit; BenchError when it exits unexpectedly."""
    started = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=str(cwd), env=env, capture_output=True,
                          timeout=SUBPROCESS_TIMEOUT_S, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode not in expect:
        tail = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()[-15:]
        raise BenchError(f"{' '.join(cmd)} exited {proc.returncode} (expected {list(expect)}):\n  "
                         + "\n  ".join(tail))
    return elapsed


def load_floor() -> Any:
    """benches/floor_smoke.py as a module, for the in-process request floor."""
    spec = importlib.util.spec_from_file_location("floor_smoke", FLOOR_SCRIPT)
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load {FLOOR_SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def releasegate_cmd() -> list[str]:
    script = Path(sys.executable).parent / "releasegate"
    return [str(script)] if script.exists() else [sys.executable, "-m", "releasegate.cli"]


def loadavg() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine shows in every number."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "loadavg_at_start": loadavg(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_total_kb"] = int(line.split()[1])
                break
    except OSError:
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                            capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                 capture_output=True, text=True, check=True).stdout.splitlines()
        info["git_uncommitted_changes"] = [line[3:] for line in changed]
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = None
    info["env"] = {k: os.environ.get(k) for k in ENV_KEYS}
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("pytest", "httpx", "pytest-html", "pytest-xdist", "releasegate"):
        try:
            info[f"{dist}_version"] = version(dist)
        except PackageNotFoundError:
            info[f"{dist}_version"] = None
    return info


# --- 1. stack boot ------------------------------------------------------------------------------


def bench_boot(repeat: int, running_stack: Callable[..., Any]) -> dict[str, Any]:
    parts: dict[str, list[float]] = {"boot_s": [], "servers_s": [], "seed_s": [], "app_s": [],
                                     "teardown_s": []}
    provider = None
    for i in range(repeat):
        with running_stack() as stack:
            provider = stack.provider.describe()
            for key in ("boot_s", "servers_s", "seed_s", "app_s"):
                parts[key].append(stack.timings[key])
            closing = time.perf_counter()
        parts["teardown_s"].append(time.perf_counter() - closing)
        say(f"boot {i + 1}/{repeat}: {stack.timings['boot_s']:.2f}s "
            f"(servers {stack.timings['servers_s']:.2f}, seed {stack.timings['seed_s']:.2f}, "
            f"app {stack.timings['app_s']:.2f}), teardown {parts['teardown_s'][-1]:.2f}s")
    return {"provider": provider, **{k: summarize(v) for k, v in parts.items()}}


# --- 2. smoke suite beside its floor ------------------------------------------------------------


def bench_smoke(repeat: int, stack: Any, scratch: Path, env: dict[str, str]) -> dict[str, Any]:
    py = sys.executable
    empty = scratch / "empty"
    empty.mkdir()
    run_no = iter(range(10**6))
    # the same plugin set `releasegate run` starts pytest with (releasegate/cli.py run_pytest)
    pytest_startup = [py, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:anyio"]

    def suite_cmd() -> list[str]:
        return [*releasegate_cmd(), "run", "--target", str(stack.profile_path), "-m", "smoke",
                "--report-dir", str(scratch / f"reports-{next(run_no)}")]

    # name: (command maker, cwd, accepted exit codes); run interleaved, one round at a time
    commands: dict[str, tuple[Callable[[], list[str]], Path, tuple[int, ...]]] = {
        "python_bare": (lambda: [py, "-c", "pass"], REPO, (0,)),
        "python_import_httpx": (lambda: [py, "-c", "import httpx"], REPO, (0,)),
        "floor_subprocess": (lambda: [py, str(FLOOR_SCRIPT), str(stack.profile_path)], REPO, (0,)),
        # exit 5: no tests collected, which is the point
        "pytest_startup": (lambda: [*pytest_startup, str(empty)], empty, (5,)),
        "pytest_startup_no_releasegate": (lambda: [*pytest_startup, "-p", "no:releasegate", str(empty)],
                                          empty, (5,)),
        "releasegate_version": (lambda: [*releasegate_cmd(), "--version"], REPO, (0,)),
        "suite": (suite_cmd, REPO, (0,)),  # 0 = verdict GO
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    warmup: dict[str, float] = {}
    for name, (make, cwd, expect) in commands.items():
        warmup[name] = timed_run(make(), cwd=cwd, env=env, expect=expect)
    say("warm-up done: " + ", ".join(f"{k} {v:.2f}s" for k, v in warmup.items()))
    for i in range(repeat):
        for name, (make, cwd, expect) in commands.items():
            samples[name].append(timed_run(make(), cwd=cwd, env=env, expect=expect))
        say(f"round {i + 1}/{repeat}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in samples.items()))

    # In-session time the suite reports itself (pytest_configure to sessionfinish), from summary.json.
    in_session = []
    for report in sorted(scratch.glob("reports-*/summary.json")):
        summary = json.loads(report.read_text())
        if summary.get("verdict") != "GO":
            raise BenchError(f"{report}: verdict {summary.get('verdict')}, expected GO")
        in_session.append(float(summary["duration_s"]))

    # The pure request floor: the same requests in this process, on fresh clients each time.
    floor = load_floor()
    profile = floor.load(str(stack.profile_path))
    requests_only: list[float] = []
    with_client: list[float] = []
    for i in range(max(repeat * 4, 20) + 1):
        t0 = time.perf_counter()
        client = floor.Floor(profile)
        t1 = time.perf_counter()
        try:
            failures = client.smoke()
        finally:
            t2 = time.perf_counter()
            client.close()
        if failures:
            raise BenchError(f"in-process floor: {failures}")
        if i:  # the first one warms up
            requests_only.append(t2 - t1)
            with_client.append(t2 - t0)
    result = {name: summarize(v) for name, v in samples.items()}
    result["warmup_s"] = {k: round(v, 4) for k, v in warmup.items()}
    result["suite_in_session"] = summarize(in_session)
    result["floor_requests_in_process"] = summarize(requests_only)
    result["floor_client_and_requests_in_process"] = summarize(with_client)
    return result


def analyse(boot: dict[str, Any], smoke: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    med = {k: v["median"] for k, v in smoke.items() if isinstance(v, dict) and "median" in v}
    suite, floor_sub, pytest_start = med["suite"], med["floor_subprocess"], med["pytest_startup"]
    floor_req = med["floor_requests_in_process"]
    suite_overhead = suite - pytest_start - floor_req
    budget = floor_sub * (1 + OVERHEAD_FACTOR) + pytest_start
    strict_start = med["pytest_startup_no_releasegate"]
    strict_budget = floor_sub * (1 + OVERHEAD_FACTOR) + strict_start
    derived = {
        "suite_overhead_s": round(suite_overhead, 4),
        "suite_overhead_s_help": "suite - pytest_startup - floor_requests_in_process (medians)",
        "suite_overhead_over_floor_subprocess": round(suite_overhead / floor_sub, 3),
        "suite_over_floor_subprocess": round(suite / floor_sub, 3),
        "excess_over_floor_and_pytest_s": round(suite - pytest_start - floor_sub, 4),
        "excess_over_floor_and_pytest_ratio": round((suite - pytest_start - floor_sub) / floor_sub, 3),
        "excess_over_floor_and_pytest_help": "(suite - pytest_startup - floor_subprocess) / floor_subprocess;"
                                             f" the target allows {OVERHEAD_FACTOR}",
        "suite_budget_s": round(budget, 4),
        "suite_budget_help": f"floor_subprocess x {1 + OVERHEAD_FACTOR} + pytest_startup (medians)",
        "releasegate_plugin_share_of_pytest_startup_s": round(pytest_start - strict_start, 4),
        "strict_excess_over_floor_ratio": round((suite - strict_start - floor_sub) / floor_sub, 3),
        "strict_help": "as excess_over_floor_and_pytest_ratio, but pytest start-up measured with "
                       "-p no:releasegate, so the releasegate plugin's imports count as suite overhead",
        "strict_budget_s": round(strict_budget, 4),
        "strict_budget_pass": suite <= strict_budget,
        "floor_subprocess_minus_python_bare_s": round(floor_sub - med["python_bare"], 4),
        "pytest_startup_minus_python_bare_s": round(pytest_start - med["python_bare"], 4),
        "suite_minus_releasegate_version_s": round(suite - med["releasegate_version"], 4),
    }
    boot_median = boot["boot_s"]["median"]
    targets = {
        "boot_under_5s": {"target": f"stack boot_s median < {BOOT_TARGET_S:g} s", "value": boot_median,
                          "limit": BOOT_TARGET_S, "pass": boot_median < BOOT_TARGET_S},
        "suite_under_3s": {"target": f"suite median < {SUITE_TARGET_S:g} s", "value": suite,
                           "limit": SUITE_TARGET_S, "pass": suite < SUITE_TARGET_S},
        "suite_overhead_within_budget": {
            "target": f"suite median <= floor_subprocess x {1 + OVERHEAD_FACTOR} + pytest_startup",
            "value": suite, "limit": round(budget, 4), "pass": suite <= budget},
    }
    return derived, targets


def print_table(result: dict[str, Any]) -> None:
    boot, smoke, derived, targets = result["boot"], result["smoke"], result["derived"], result["targets"]
    m = result["machine"]
    print(f"\nreleasegate smoke bench — {result['timestamp']} — {m['nproc']} cores, Python {m['python']}, "
          f"repeat {result['repeat']}, bytecode cache {'on' if result['bytecode_cache'] else 'off'}, "
          f"load {m['loadavg_at_start']} -> {m['loadavg_at_end']}")
    print(f"provider: {boot['provider']}; commit {m['git_commit']}"
          + (f" + uncommitted changes in {len(m['git_uncommitted_changes'])} files"
             if m.get("git_uncommitted_changes") else ""))
    rows = [("stack boot_s", boot["boot_s"]), ("  servers_s", boot["servers_s"]),
            ("  seed_s", boot["seed_s"]), ("  app_s", boot["app_s"]),
            ("stack teardown_s", boot["teardown_s"]),
            ("floor (subprocess)", smoke["floor_subprocess"]),
            ("suite (releasegate run -m smoke)", smoke["suite"]),
            ("pytest start-up (collect-only, empty dir)", smoke["pytest_startup"]),
            ("floor requests in-process", smoke["floor_requests_in_process"]),
            ("  with client creation", smoke["floor_client_and_requests_in_process"]),
            ("informational:", None),
            ("suite in-session (summary.json)", smoke["suite_in_session"]),
            ("pytest start-up -p no:releasegate", smoke["pytest_startup_no_releasegate"]),
            ("releasegate --version", smoke["releasegate_version"]),
            ("python -c 'import httpx'", smoke["python_import_httpx"]),
            ("python -c pass", smoke["python_bare"])]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure (seconds)':<{width}}  {'median':>8}  {'min':>8}  {'max':>8}")
    for label, s in rows:
        if s is None:
            print(label)
        else:
            print(f"{label:<{width}}  {s['median']:>8.3f}  {s['min']:>8.3f}  {s['max']:>8.3f}")
    print()
    print("suite overhead = suite - pytest start-up - in-process requests = "
          f"{derived['suite_overhead_s']:.3f} s = "
          f"{derived['suite_overhead_over_floor_subprocess']:.2f}x the floor subprocess")
    print(f"suite / floor subprocess = {derived['suite_over_floor_subprocess']:.2f}x; "
          f"(suite - pytest start-up - floor subprocess) / floor = "
          f"{derived['excess_over_floor_and_pytest_ratio']:.2f} (target <= {OVERHEAD_FACTOR})")
    print(f"the same with pytest start-up measured without the releasegate plugin: "
          f"{derived['strict_excess_over_floor_ratio']:.2f} (budget {derived['strict_budget_s']:.3f} s, "
          f"{'within' if derived['strict_budget_pass'] else 'over'}; informational)")
    print()
    for t in targets.values():
        print(f"{'PASS' if t['pass'] else 'FAIL'}  {t['target']}: {t['value']:.3f} s vs {t['limit']:.3f} s")


def subprocess_env(bytecode_cache: bool, scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="runs per measure (default 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default {DEFAULT_OUTPUT}")
    parser.add_argument("--bytecode-cache", action="store_true",
                        help="run the subprocesses with bytecode caching on, in a throwaway "
                             "PYTHONPYCACHEPREFIX, even when PYTHONDONTWRITEBYTECODE is set")
    ns = parser.parse_args(argv)
    if ns.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        from releasegate.reference.stack import running_stack

        timestamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        machine = machine_info()
        started = time.perf_counter()
        say(f"1/2 booting the reference stack {ns.repeat} times")
        boot = bench_boot(ns.repeat, running_stack)
        say("2/2 smoke suite, floor and pytest start-up against one running stack")
        with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp, running_stack() as stack:
            env = subprocess_env(ns.bytecode_cache, Path(tmp))
            smoke = bench_smoke(ns.repeat, stack, Path(tmp), env)
        derived, targets = analyse(boot, smoke)
        machine["loadavg_at_end"] = loadavg()
    except Exception as exc:  # the bench broke: say so and exit 2, distinct from a missed target
        say(f"bench failed: {type(exc).__name__}: {exc}")
        return 2
    result = {"bench": "smoke", "timestamp": timestamp, "repeat": ns.repeat,
              "bytecode_cache": ns.bytecode_cache or not os.environ.get("PYTHONDONTWRITEBYTECODE"),
              "bench_wall_s": round(time.perf_counter() - started, 2), "machine": machine,
              "boot": boot, "smoke": smoke, "derived": derived, "targets": targets,
              "all_targets_pass": all(t["pass"] for t in targets.values())}
    ns.output.parent.mkdir(parents=True, exist_ok=True)
    ns.output.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nresults: {ns.output}")
    return 1 if ns.check and not result["all_targets_pass"] else 0


if __name__ == "__main__":
    sys.exit(main())

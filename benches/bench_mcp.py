"""MCP benchmark: the MCP suite against the reference stack, and releasegate's per-call overhead
beside bare httpx making the same JSON-RPC exchanges, in one run.

Usage: .venv/bin/python benches/bench_mcp.py [--repeat N] [--rounds N] [--check] [--output PATH]

1. Boots the reference stack with its health and MCP parts (releasegate.reference.stack.running_stack).
2. Suite: `releasegate run --target PROFILE -m mcp` N times after one warm-up (it must give GO);
   records wall time and the in-session time from summary.json.
3. Per call, in this process, interleaved round by round so machine load hits both alike: the
   same conversation — initialize, notifications/initialized, tools/list through every page,
   tools/call A, B and D of runbook 000 §1.2 — made
   - by releasegate's wire-level client (releasegate.mcp: deadline, caps, SSE parser, JSON-RPC
     validation), and again with each exchange turned into report evidence (the Exchange with its
     curl command, redacted) as the checks do;
   - by bare httpx: one httpx.Client, post, take the `data:` line of the SSE answer, json.loads.
   Each round uses a fresh client (connection set-up included) on both sides.
4. Writes benches/results/mcp.json and prints a table with PASS/FAIL per target.

Targets (reported, not asserted; --check exits 1 when one is missed):
- the MCP suite median < 2 s;
- releasegate's conversation median <= 1.3 x the bare-httpx conversation median.
Exit codes: 0 ran, 1 --check and a target missed, 2 the bench itself broke.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCHES = Path(__file__).resolve().parent
REPO = BENCHES.parent
sys.path[:0] = [str(REPO), str(BENCHES)]

from bench_smoke import (  # noqa: E402  (benches/ is not a package)
    BenchError,
    loadavg,
    machine_info,
    releasegate_cmd,
    say,
    subprocess_env,
    summarize,
    timed_run,
)

DEFAULT_OUTPUT = BENCHES / "results" / "mcp.json"
SUITE_TARGET_S = 2.0
OVERHEAD_TARGET = 1.3
CALLS = ("get_rate_limit_status", "get_database_stats", "get_job_status")  # 000 §1.2 A, B, D
ACCEPT = "application/json, text/event-stream"


def bench_suite(repeat: int, profile: Path, scratch: Path, env: dict[str, str]) -> dict[str, Any]:
    runs = iter(range(10**6))

    def once() -> tuple[float, float, float]:
        reports = scratch / f"reports-{next(runs)}"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = timed_run([*releasegate_cmd(), "run", "--target", str(profile), "-m", "mcp",
                          "--report-dir", str(reports)], cwd=REPO, env=env, expect=(0,))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, json.loads((reports / "summary.json").read_text())["duration_s"], cpu

    once()  # warm-up
    walls, inside, cpus = [], [], []
    for i in range(repeat):
        wall, session, cpu = once()
        walls.append(wall)
        inside.append(session)
        cpus.append(cpu)
        say(f"mcp suite {i + 1}/{repeat}: {wall:.2f}s (in session {session:.2f}s, CPU {cpu:.2f}s)")
    return {"suite_s": summarize(walls), "in_session_s": summarize(inside), "suite_cpu_s": summarize(cpus),
            "suite_cpu_s_help": "user+sys CPU of the run and its SDK child process (not the server's): "
                                "what the run costs whatever else the machine is doing"}


def releasegate_conversation(url: str, headers: dict[str, str], evidence: bool) -> dict[str, float]:
    """The conversation through releasegate.mcp; seconds per exchange kind, and "cpu" (this
    process's CPU over the exchanges; the client is built before)."""
    from releasegate.core.profile import Timeouts
    from releasegate.core.redact import Redactor
    from releasegate.mcp.client import McpClient
    from releasegate.mcp.transport import McpTransport

    redactor = Redactor()
    timings: dict[str, float] = {}
    transport = McpTransport(url, timeouts=Timeouts(1, 3, 5), body_limit=1 << 20, headers=headers)
    client = McpClient(transport)

    def timed(name: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        value = action()
        for reply in value.pages if hasattr(value, "pages") else [value]:
            if reply.problem or reply.status not in (200, 202):
                raise BenchError(f"{reply.label}: {reply.describe()}")
            if evidence:
                reply.exchange(redactor, ())
        timings[name] = time.perf_counter() - started
        return value

    cpu = time.process_time()
    try:
        timed("initialize", client.initialize)
        timed("notifications/initialized", client.initialized)
        listing = timed("tools/list (all pages)", client.list_tools)
        if listing.problem:
            raise BenchError(listing.problem)
        for tool in CALLS:
            timed(f"tools/call {tool}", lambda tool=tool: client.call_tool(tool, {}))
        timings["cpu"] = time.process_time() - cpu
    finally:
        transport.close()
    return timings


def bare_conversation(url: str, headers: dict[str, str]) -> dict[str, float]:
    """The same exchanges with nothing but httpx: post, read the SSE data line, json.loads."""
    import httpx

    timings: dict[str, float] = {}
    ids = iter(range(1, 10**6))

    def message(answer: httpx.Response) -> Any:
        text = answer.text
        if answer.headers.get("content-type", "").startswith("text/event-stream"):
            text = next(line[6:] for line in text.splitlines() if line.startswith("data: ") and len(line) > 6)
        return json.loads(text)

    with httpx.Client(headers={**headers, "Accept": ACCEPT}, timeout=5, trust_env=False) as client:
        cpu = time.process_time()

        def post(name: str, body: dict[str, Any], extra: dict[str, str]) -> httpx.Response:
            started = time.perf_counter()
            answer = client.post(url, json=body, headers=extra)
            value = message(answer) if "id" in body else None
            if answer.status_code not in (200, 202) or (value is not None and "result" not in value):
                raise BenchError(f"bare {name}: {answer.status_code}")
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
            answer.value = value  # type: ignore[attr-defined]
            return answer

        hello = {"protocolVersion": "2025-11-25", "capabilities": {},
                 "clientInfo": {"name": "bare", "version": "0"}}
        opened = post("initialize", {"jsonrpc": "2.0", "id": next(ids), "method": "initialize",
                                     "params": hello}, {})
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        post("notifications/initialized", {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
        cursor = None
        while True:
            page = post("tools/list (all pages)", {"jsonrpc": "2.0", "id": next(ids), "method": "tools/list",
                                                   "params": {"cursor": cursor} if cursor else {}}, session)
            cursor = page.value["result"].get("nextCursor")  # type: ignore[attr-defined]
            if not cursor:
                break
        for tool in CALLS:
            post(f"tools/call {tool}", {"jsonrpc": "2.0", "id": next(ids), "method": "tools/call",
                                        "params": {"name": tool, "arguments": {}}}, session)
        timings["cpu"] = time.process_time() - cpu
    return timings


def bench_calls(rounds: int, url: str, headers: dict[str, str]) -> dict[str, Any]:
    sides: dict[str, Callable[[], dict[str, float]]] = {
        "bare_httpx": lambda: bare_conversation(url, headers),
        "releasegate": lambda: releasegate_conversation(url, headers, evidence=False),
        "releasegate_with_evidence": lambda: releasegate_conversation(url, headers, evidence=True),
    }
    for side in sides.values():  # warm-up: imports, first connections
        side()
    # client CPU is for the exchanges only: each side builds its client (and TLS context) before
    per_exchange: dict[str, dict[str, list[float]]] = {name: {} for name in sides}
    totals: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            timings = side()
            cpu[name].append(timings.pop("cpu"))
            totals[name].append(sum(timings.values()))
            for kind, seconds in timings.items():
                per_exchange[name].setdefault(kind, []).append(seconds)
    say(f"{rounds} conversations each: " + ", ".join(
        f"{name} {statistics.median(v) * 1000:.1f} ms" for name, v in totals.items()))
    return {
        "conversation_s": {name: summarize(v) for name, v in totals.items()},
        "conversation_client_cpu_s": {name: summarize(v) for name, v in cpu.items()},
        "exchange_median_ms": {name: {k: round(statistics.median(v) * 1000, 2) for k, v in kinds.items()}
                               for name, kinds in per_exchange.items()},
        "exchanges_per_conversation": 2 + len(CALLS) + 3,  # init, initialized, 3 list pages, 3 calls
    }


def analyse(suite: dict[str, Any], calls: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    conv = calls["conversation_s"]
    bare = conv["bare_httpx"]["median"]
    derived = {
        "overhead_ratio": round(conv["releasegate"]["median"] / bare, 3),
        "overhead_ratio_help": "releasegate wire-level conversation median / bare httpx median",
        "overhead_ratio_with_evidence": round(conv["releasegate_with_evidence"]["median"] / bare, 3),
        "overhead_ratio_with_evidence_help": "the same with every exchange made into redacted report "
                                             "evidence (Exchange + curl), as the checks do",
        "per_exchange_overhead_ms": round((conv["releasegate"]["median"] - bare) * 1000
                                          / calls["exchanges_per_conversation"], 3),
        "client_cpu_ratio_with_evidence": round(
            calls["conversation_client_cpu_s"]["releasegate_with_evidence"]["median"]
            / calls["conversation_client_cpu_s"]["bare_httpx"]["median"], 3),
        "client_cpu_ratio_with_evidence_help": "this process's CPU over the exchanges of a "
                                               "conversation (the server is another process): "
                                               "releasegate's own work beside httpx's",
    }
    targets = {
        "mcp_suite_under_2s": {"value": suite["suite_s"]["median"], "limit": SUITE_TARGET_S,
                               "pass": suite["suite_s"]["median"] < SUITE_TARGET_S},
        "per_call_overhead_at_most_1.3x": {
            "value": derived["overhead_ratio_with_evidence"], "limit": OVERHEAD_TARGET,
            "pass": derived["overhead_ratio_with_evidence"] <= OVERHEAD_TARGET},
    }
    return derived, targets


def print_table(result: dict[str, Any]) -> None:
    suite, calls = result["suite"], result["calls"]
    print(f"\nMCP bench ({result['timestamp']}, load {result['machine']['loadavg_at_start']} -> "
          f"{result['machine']['loadavg_at_end']})")
    print(f"{'measure':<44}{'median':>10}{'min':>10}{'max':>10}")
    rows = [("mcp suite, releasegate run -m mcp (s)", suite["suite_s"]),
            ("  in session, summary.json duration_s (s)", suite["in_session_s"]),
            ("  CPU, the run + its SDK child (s)", suite["suite_cpu_s"])]
    rows += [(f"conversation, {name} (ms)", {k: v * 1000 if k in ("median", "min", "max") else v
                                             for k, v in stats.items()})
             for name, stats in calls["conversation_s"].items()]
    rows += [(f"  client CPU, {name} (ms)", {k: v * 1000 if k in ("median", "min", "max") else v
                                             for k, v in stats.items()})
             for name, stats in calls["conversation_client_cpu_s"].items()]
    for label, stats in rows:
        print(f"{label:<44}{stats['median']:>10.3f}{stats['min']:>10.3f}{stats['max']:>10.3f}")
    print("\nper exchange, median ms:")
    names = list(calls["exchange_median_ms"])
    print(f"{'exchange':<36}" + "".join(f"{n:>28}" for n in names))
    for kind in calls["exchange_median_ms"][names[0]]:
        print(f"{kind:<36}" + "".join(f"{calls['exchange_median_ms'][n][kind]:>28.2f}" for n in names))
    print()
    for name, value in result["derived"].items():
        if not name.endswith("_help"):
            print(f"{name:<44}{value}")
    for name, target in result["targets"].items():
        print(f"target {name:<37}{'PASS' if target['pass'] else 'FAIL'} {target['value']} (limit "
              f"{target['limit']})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="suite runs (default 5)")
    parser.add_argument("--rounds", type=int, default=30, help="conversations per side (default 30)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    from releasegate.reference.stack import running_stack

    started = datetime.now(timezone.utc)
    machine = machine_info()
    try:
        with tempfile.TemporaryDirectory(prefix="rg-bench-mcp-") as tmp:
            scratch = Path(tmp)
            env = subprocess_env(False, scratch)
            with running_stack(only=["health", "mcp"]) as stack:
                import yaml

                mcp = yaml.safe_load(stack.profile_path.read_text())["mcp"]
                say(f"stack up in {stack.timings['boot_s']:.2f}s; MCP at {mcp['url']}")
                calls = bench_calls(args.rounds, mcp["url"], dict(mcp["headers"]))
                suite = bench_suite(args.repeat, stack.profile_path, scratch, env)
    except BenchError as exc:
        say(f"broke: {exc}")
        return 2
    machine["loadavg_at_end"] = loadavg()
    derived, targets = analyse(suite, calls)
    result = {"timestamp": started.isoformat(timespec="seconds"), "machine": machine, "suite": suite,
              "calls": calls, "derived": derived, "targets": targets,
              "repeat": args.repeat, "rounds": args.rounds}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    say(f"wrote {args.output}")
    return 1 if args.check and not all(t["pass"] for t in targets.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

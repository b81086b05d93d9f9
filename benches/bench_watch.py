"""Watch bench: one cycle of `releasegate watch` beside a bare script making the same requests and
queries, and the RSS of a long compressed window.

Usage: .venv/bin/python benches/bench_watch.py [--repeat N] [--soak N] [--check] [--output PATH]

1. Boots the reference stack's health, observability, rollback, mcp, data and watch parts (a
   real Prometheus, MCP server, Postgres and the run_summary log).
2. Times N cycles, interleaved so that load from other work falls on both sides alike:
   - releasegate: ``Window.cycle`` with the stack's watch section and ``-m health`` — the ready,
     live and /health/ready probes, then the observations (PromQL, MCP tools/call, read-only SQL,
     the run_summary log, a probe's latency), each judged and tracked — plus writing the outputs
     (summary.json, cycles.jsonl, report.html, step-summary.md), as every cycle of a watch does;
   - floor: the same HTTP requests by a bare ``httpx.Client`` (the three probes, the PromQL
     query, the MCP tools/call on a session opened once), the same SQL on one open psycopg
     connection in a read-only transaction, and the same log tail read with its last run_summary
     line parsed — what a hand-written watch loop would do, without judging or writing anything.
3. Soak: ``releasegate watch --every 0.2s -m health`` in a subprocess against the same stack;
   the RSS (/proc/PID/status VmRSS) after 10 cycles and after N (default 500) cycles.
4. Writes benches/results/watch.json. Targets (issue 18): releasegate cycle median <= 1.2 x the
   floor median; RSS after N cycles within 10 MB of the RSS after 10. Exit 0 when it ran; 1 with
   --check and a target missed; 2 when the bench itself broke.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
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
import psycopg  # noqa: E402

from releasegate.core.profile import load_target  # noqa: E402
from releasegate.watch.checks import CheckSet  # noqa: E402
from releasegate.watch.command import Outputs  # noqa: E402
from releasegate.watch.spec import read_spec  # noqa: E402
from releasegate.watch.window import Window, new_state  # noqa: E402

DEFAULT_OUTPUT = BENCHES / "results" / "watch.json"
TARGET_RATIO = 1.2
TARGET_RSS_MB = 10.0
PARTS = ("health", "observability", "rollback", "mcp", "data", "watch")
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def summarize(samples: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(samples), 5), "min": round(min(samples), 5),
            "max": round(max(samples), 5), "n": len(samples), "samples": [round(s, 5) for s in samples]}


def rpc_result(response: httpx.Response) -> Any:
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)["result"]


class Floor:
    """The same requests and queries as one watch cycle, by hand, connections opened once."""

    def __init__(self, target: Any) -> None:
        health = target.section("health")
        self.http = httpx.Client(base_url=health["base_url"], timeout=10, trust_env=False)
        self.paths = [health["probes"]["ready"]["path"], health["probes"]["live"]["path"],
                      health["release"]["path"]]
        prom = target.section("metrics.prometheus")
        self.prom = httpx.Client(base_url=prom["base_url"], timeout=10, trust_env=False)
        watch = {o["name"]: o for o in target.section("watch")["observations"]}
        self.promql = watch["api_5xx"]["source"]["promql"]
        self.sql = watch["core_fixtures"]["source"]["sql"]
        self.db = psycopg.connect(target.section("database")["dsn"], autocommit=True)
        self.log = target.section("rollback.logs")["file"]
        mcp = target.section("mcp")
        self.mcp = httpx.Client(timeout=10, trust_env=False,
                                headers={**MCP_HEADERS, **mcp.get("headers", {})})
        self.mcp_url = mcp["url"]
        init = self.mcp.post(self.mcp_url, json={
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "floor", "version": "0"}}})
        session = init.headers["mcp-session-id"]
        version = rpc_result(init)["protocolVersion"]
        self.mcp.headers.update({"mcp-session-id": session, "mcp-protocol-version": version})
        self.mcp.post(self.mcp_url, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.id = 1

    def cycle(self) -> float:
        started = time.perf_counter()
        for path in self.paths:
            assert self.http.get(path).status_code == 200
        body = self.prom.get("/api/v1/query", params={"query": self.promql}).json()
        assert body["status"] == "success"
        self.id += 1
        result = rpc_result(self.mcp.post(self.mcp_url, json={
            "jsonrpc": "2.0", "id": self.id, "method": "tools/call",
            "params": {"name": "get_rate_limit_status", "arguments": {}}}))
        assert result.get("structuredContent") or result.get("content")
        with self.db.transaction():
            self.db.execute("SET TRANSACTION READ ONLY")
            self.db.execute(self.sql).fetchone()
        with open(self.log, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(size - 4 * 1024 * 1024, 0))  # the log source's max_bytes
            lines = fh.read().decode("utf-8", "replace").splitlines()
        last = next(json.loads(line) for line in reversed(lines) if '"run_summary"' in line)
        assert "rates" in last
        return time.perf_counter() - started

    def close(self) -> None:
        for client in (self.http, self.prom, self.mcp):
            client.close()
        self.db.close()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def soak(profile: Path, out: Path, cycles: int) -> dict[str, Any]:
    """RSS of a compressed window after 10 cycles run and after ``cycles``."""
    proc = subprocess.Popen([sys.executable, "-m", "releasegate.cli", "watch", "--target", str(profile),
                             "--for", "2h", "--every", "0.2s", "-m", "health", "--quiet",
                             "--report-dir", str(out)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    seen: dict[int, int] = {}
    started = time.monotonic()
    try:
        while len(seen) < 2:
            if proc.poll() is not None:
                raise RuntimeError(f"watch exited {proc.returncode}: {proc.stderr.read()[-500:]!r}")
            try:
                run = (out / "cycles.jsonl").read_bytes().count(b"\n")
            except OSError:
                run = 0
            for mark in (10, cycles):
                if run >= mark and mark not in seen:
                    seen[mark] = rss_kb(proc.pid)
                    say(f"soak: {run} cycles, RSS {seen[mark] / 1024:.1f} MB")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    summary = json.loads((out / "summary.json").read_text())
    return {"cycles": cycles, "rss_after_10_mb": round(seen[10] / 1024, 2),
            f"rss_after_{cycles}_mb": round(seen[cycles] / 1024, 2),
            "growth_mb": round((seen[cycles] - seen[10]) / 1024, 2), "elapsed_s": round(elapsed, 1),
            "slots_skipped": summary["missed"], "decision_when_stopped": summary["decision"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30, metavar="N", help="cycles timed (default 30)")
    parser.add_argument("--soak", type=int, default=500, metavar="N", help="soak cycles (default 500)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    ns = parser.parse_args(argv)
    try:
        from releasegate.reference.stack import running_stack

        load_start = os.getloadavg()
        with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp, running_stack(only=PARTS) as stack:
            say(f"stack up in {stack.timings['boot_s']:.2f}s")
            target = load_target(stack.profile_path)
            spec = read_spec(target.section("watch"), window="1d", every="1s")
            checks = CheckSet(target, "health")
            state = new_state(target, spec, checks, "health", time.time())
            window = Window(target, spec, checks, state, on_cycle=Outputs(Path(tmp) / "cycle", target, True))
            floor = Floor(target)
            rg, bare, engines, outputs, html, rg_cpu, bare_cpu = [], [], [], [], [], [], []
            for i in range(ns.repeat + 2):  # two warm-up rounds each
                started, cpu = time.perf_counter(), time.thread_time()
                row = window.cycle(i, time.time() - state.started_at)
                state.cycles_done = i + 1
                judged = time.perf_counter()
                window.on_cycle(state)
                spent, spent_cpu = time.perf_counter() - started, time.thread_time() - cpu
                # summary.json and report.html are written by background threads once the cycle
                # is done: wait for them outside the timed span, so their disk writes do not land
                # in the floor's time (the wait is recorded: background_writes_left_after_cycle)
                flushed = time.perf_counter()
                window.on_cycle.writer.flush()  # type: ignore[attr-defined]
                report_wait = time.perf_counter() - flushed
                bad = {n: p for n, p in row["phases"].items() if p != "Successful"}
                if bad:
                    raise RuntimeError(f"cycle {i} not healthy: {bad} {row['reasons']}")
                cpu = time.thread_time()
                f = floor.cycle()
                f_cpu = time.thread_time() - cpu
                if i >= 2:
                    rg.append(spent)
                    bare.append(f)
                    engines.append(judged - started)
                    outputs.append(spent - (judged - started))
                    html.append(report_wait)
                    rg_cpu.append(spent_cpu)
                    bare_cpu.append(f_cpu)
            window.sources.close()
            checks.close()
            floor.close()
            soaked = soak(stack.profile_path, Path(tmp) / "soak", ns.soak)
            timings = dict(stack.timings)
        load_end = os.getloadavg()
    except Exception as exc:
        say(f"bench failed: {type(exc).__name__}: {exc}")
        return 2
    ratio = statistics.median(rg) / statistics.median(bare)
    rss_ok = soaked["growth_mb"] <= TARGET_RSS_MB
    result = {
        "bench": "watch", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_at_start": [round(x, 2) for x in load_start],
                    "loadavg_at_end": [round(x, 2) for x in load_end]},
        "cycle": {"checks": ["ready", "live", "release_ready"],
                  "observations": [o.name for o in spec.observations]},
        "stack_boot": {k: round(v, 3) for k, v in timings.items()},
        "releasegate_cycle_s": summarize(rg), "floor_cycle_s": summarize(bare),
        "releasegate_parts_s": {"engines_and_judging": summarize(engines),
                                "writing_outputs": summarize(outputs),
                                "background_writes_left_after_cycle": summarize(html)},
        # CPU of the timing thread (time.thread_time): what each side computes, less sensitive to
        # the machine's load than wall time; the writer thread's CPU is not in it
        "cpu_s": {"releasegate_cycle": summarize(rg_cpu), "floor_cycle": summarize(bare_cpu)},
        "ratio_engines_only": round(statistics.median(engines) / statistics.median(bare), 3),
        "ratio_median": round(ratio, 3), "soak": soaked,
        "targets": {"cycle_ratio": {"limit": TARGET_RATIO, "pass": ratio <= TARGET_RATIO},
                    "rss_growth_mb": {"limit": TARGET_RSS_MB, "pass": rss_ok}},
    }
    ns.output.parent.mkdir(parents=True, exist_ok=True)
    ns.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwatch bench — {result['timestamp']}, {os.cpu_count()} cores, load "
          f"{result['machine']['loadavg_at_start'][0]} -> {result['machine']['loadavg_at_end'][0]}")
    print(f"{'one cycle (seconds)':<44} {'median':>8} {'min':>8} {'max':>8}")
    for label, key in (("releasegate Window.cycle + outputs", "releasegate_cycle_s"),
                       ("floor (httpx, psycopg, file read)", "floor_cycle_s")):
        s = result[key]
        print(f"{label:<44} {s['median']:>8.4f} {s['min']:>8.4f} {s['max']:>8.4f}")
    for label, side in (("CPU of a cycle (thread_time), releasegate", "releasegate_cycle"),
                        ("CPU of a cycle (thread_time), floor", "floor_cycle")):
        s = result["cpu_s"][side]
        print(f"{label:<44} {s['median']:>8.4f} {s['min']:>8.4f} {s['max']:>8.4f}")
    for label, part in (("  of which engines and judging", "engines_and_judging"),
                        ("  of which writing the outputs", "writing_outputs")):
        s = result["releasegate_parts_s"][part]
        print(f"{label:<44} {s['median']:>8.4f} {s['min']:>8.4f} {s['max']:>8.4f}")
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"{verdict}  cycle ratio {ratio:.2f} (target <= {TARGET_RATIO})")
    print(f"{'PASS' if rss_ok else 'FAIL'}  RSS {soaked['rss_after_10_mb']} MB after 10 cycles, "
          f"{soaked[f'rss_after_{ns.soak}_mb']} MB after {ns.soak}: +{soaked['growth_mb']} MB "
          f"(target <= {TARGET_RSS_MB})")
    print(f"results: {ns.output}")
    return 1 if ns.check and not (ratio <= TARGET_RATIO and rss_ok) else 0


if __name__ == "__main__":
    sys.exit(main())

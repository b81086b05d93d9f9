"""A real Prometheus server for the reference stack (Debian's `prometheus` package).

It scrapes the reference service's /metrics every second and evaluates the alert rules of
004 "Alerting Rules" and 003's Redis alarms. Its history is backfilled before it starts: the
service's real /metrics scrapes taken by reference/traffic.py, stamped one production scrape
interval apart so they end now, turned into TSDB blocks by `promtool tsdb create-blocks-from
openmetrics` in the server's data directory. Blocks present at start are queryable at once;
live scraping only begins ~6 s after start (the scrape manager's 5 s ticker), so nothing here
waits for it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from releasegate.core.errors import ServerUnavailable

JOB = "reference"
START_TIMEOUT_S = 15.0
RULES_TIMEOUT_S = 5.0

# 004's rules as a running service would write them (its HighErrorRate / HighLatency expressions
# are fixed to a ratio and to histogram buckets), and 003's Redis alarms on redis_exporter names.
# `for` is shortened from 5m/10m: the stack's history is minutes old, not hours.
RULES: list[dict[str, Any]] = [
    {"alert": "HighErrorRate", "severity": "warning", "summary": "High error rate detected",
     "expr": "sum(rate(http_requests_errors_total[5m])) / sum(rate(http_requests_total[5m])) > 0.05"},
    {"alert": "HighLatency", "severity": "warning", "summary": "High latency detected",
     "expr": "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 1"},
    {"alert": "DBConnectionPoolExhausted", "severity": "critical",
     "summary": "DB connection pool nearly exhausted",
     "expr": "db_connection_pool_size / db_connection_pool_max > 0.8"},
    {"alert": "HighCeleryTaskFailureRate", "severity": "warning",
     "summary": "High Celery task failure rate",
     "expr": "sum(rate(celery_tasks_failed_total[5m])) / sum(rate(celery_tasks_total[5m])) > 0.1"},
    {"alert": "RedisDown", "severity": "critical", "summary": "Redis is down", "expr": "redis_up == 0"},
    {"alert": "RedisHighMemoryUsage", "severity": "warning", "summary": "Redis memory over 90 %",
     "expr": "redis_memory_used_bytes / redis_memory_max_bytes > 0.9 and redis_memory_max_bytes > 0"},
    {"alert": "RedisLowCacheHitRatio", "severity": "warning", "summary": "Redis hit ratio under 80 %",
     "expr": "rate(redis_keyspace_hits_total[5m]) / (rate(redis_keyspace_hits_total[5m]) "
             "+ rate(redis_keyspace_misses_total[5m])) < 0.8 and rate(redis_keyspace_misses_total[5m]) > 1"},
]


def rules_file(omit: Iterable[str] = (), rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    skip = set(omit)
    return {"groups": [{"name": "reference_alerts", "interval": "250ms", "rules": [
        {"alert": r["alert"], "expr": r["expr"], "for": "0s", "labels": {"severity": r["severity"]},
         "annotations": {"summary": r["summary"], "description": "value {{ $value }}"}}
        for r in (RULES if rules is None else rules) if r["alert"] not in skip]}]}


def backfill_text(snapshots: list[str], end: float, step_s: float, labels: dict[str, str]) -> str:
    """The scrapes as one OpenMetrics file, the last at ``end``, ``step_s`` apart.

    Each family once with its samples in time order; ``_created`` samples dropped (their value
    is a timestamp, not something a rule reads). Done on the lines prometheus_client wrote
    rather than through its OpenMetrics parser, which costs ~8 ms a snapshot: the exposition
    is one family block after another, one sample per line, `series value` (no timestamps,
    no exemplars: the reference sets none), so appending labels and a timestamp is all it takes.
    """
    extra = ",".join(f'{k}="{v}"' for k, v in labels.items())
    headers: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    for i, text in enumerate(snapshots):
        ts = f"{end - (len(snapshots) - 1 - i) * step_s:.3f}"
        family = ""
        for line in text.splitlines():
            if not line or line == "# EOF":
                continue
            if line.startswith("# "):
                kind, family = line.split(" ", 3)[1:3]
                seen = headers.setdefault(family, [])
                samples.setdefault(family, [])
                if not any(h.split(" ", 2)[1] == kind for h in seen):
                    seen.append(line)
                continue
            series, value = line.rsplit(" ", 1)
            if series.split("{", 1)[0].endswith("_created"):
                continue
            series = f"{series[:-1]},{extra}}}" if series.endswith("}") else f"{series}{{{extra}}}"
            samples[family].append(f"{series} {value} {ts}")
    # Each snapshot stands for a scrape that succeeded, so the history holds the `up` series
    # Prometheus would have recorded beside it: a rule over `up` (ApiDown) is not blind before
    # the live scrape, which service discovery starts only up to 5 s after Prometheus is ready.
    if snapshots and "up" not in headers:
        headers["up"] = ["# TYPE up gauge"]
        samples["up"] = [f"up{{{extra}}} 1 {end - (len(snapshots) - 1 - i) * step_s:.3f}"
                         for i in range(len(snapshots))]
    lines = [line for family in headers for line in (*headers[family], *samples[family])]
    return "\n".join([*lines, "# EOF"]) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrometheusServer:
    """A running Prometheus; ``stop()`` ends it."""

    url: str
    proc: subprocess.Popen[bytes]
    data_dir: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        raise ServerUnavailable("prometheus/promtool not found: install Debian's prometheus package "
                                "(apt-get install prometheus) or run `make test`, which does")
    return prometheus, promtool


def start(root: Path, target: str, history: str, *, omit_rules: Iterable[str] = (),
          scrape_interval: str = "1s", rules: list[dict[str, Any]] | None = None,
          job: str = JOB) -> PrometheusServer:
    """Backfill ``history`` (OpenMetrics), then start Prometheus scraping ``target`` (host:port)
    as ``job``, evaluating ``rules`` (default: the reference service's)."""
    prometheus, promtool = binaries()
    home = root / "prometheus"
    data = home / "data"
    data.mkdir(parents=True, exist_ok=True)
    (home / "history.om").write_text(history)
    samples = any(line and not line.startswith("#") for line in history.splitlines())
    made = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics",
                           str(home / "history.om"), str(data)],
                          capture_output=True, text=True, timeout=60) if samples else None
    if made is not None and made.returncode != 0:
        raise ServerUnavailable(f"promtool could not backfill the history: {made.stderr.strip()[-300:]}")
    (home / "rules.yml").write_text(yaml.safe_dump(rules_file(omit_rules, rules), sort_keys=False))
    (home / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": "250ms"},
        "rule_files": [str(home / "rules.yml")],
        "scrape_configs": [{"job_name": job, "metrics_path": "/metrics",
                            "static_configs": [{"targets": [target]}]}],
    }, sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(home / "prometheus.log", "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([prometheus, f"--config.file={home / 'prometheus.yml'}",
                             f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
                             "--log.level=warn"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    server = PrometheusServer(url, proc, data)
    try:
        _wait_ready(server, home / "prometheus.log")
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: PrometheusServer, log: Path) -> None:
    """Until /-/ready answers and every rule group has been evaluated once."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=server.url, timeout=1, trust_env=False) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-2:]
                raise ServerUnavailable(f"prometheus exited ({server.proc.returncode}): {' | '.join(tail)}")
            try:
                if client.get("/-/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            raise ServerUnavailable(f"prometheus not ready within {START_TIMEOUT_S:g}s")
        rules_deadline = time.monotonic() + RULES_TIMEOUT_S
        while time.monotonic() < rules_deadline:
            groups = client.get("/api/v1/rules").json()["data"]["groups"]
            if all(not g["lastEvaluation"].startswith("0001") for g in groups):
                return
            time.sleep(0.05)

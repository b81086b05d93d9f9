"""Traffic for the reference service, so its metrics hold realistic series.

Each round is what half a minute of production looks like to the service: readiness probes of
both flavours, invoices from three customer tenants, now and then an API read and a pilot
invoice.

``record_history`` plays N rounds as fast as the service answers and takes a real scrape of
/metrics after each: the service's own counters and histograms, from real requests, which
reference/prometheus_server.py stamps one scrape interval apart into the past and backfills
into Prometheus. That gives the runbook's 5-, 10- and 15-minute windows data at once instead
of after a quarter of an hour. A request slower than a round (latency_spike) is not waited for:
it lands in a later scrape, as a slow request does in production.

``LiveTraffic`` keeps playing a round every interval while the stack runs (no pilot invoices:
those count against the pilot's hourly limit that checks probe).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
CUSTOMERS = ("acme", "globex", "initech")
INVOICE = ("invoice.pdf", b"%PDF-1.4\n% reference invoice\n%%EOF\n")
PILOT_EVERY = 8  # one pilot invoice every 8 rounds (4 in the 16 minutes of history)
QUIET_EVERY = 10  # quiet_service: one invoice every 10 rounds, probes only otherwise


@dataclass
class Plan:
    """Which requests a round makes."""

    api_key: str
    quiet: bool = False
    pilot: bool = True
    job_ids: list[str] = field(default_factory=list)

    def requests(self, n: int) -> list[tuple[str, str, dict[str, Any]]]:
        probes = [("GET", "/healthz/ready", {}), ("GET", "/health/ready", {})]
        headers = {"X-API-Key": self.api_key}
        if self.quiet:
            jobs = [("POST", "/full-process?tenant_id=acme",
                     {"headers": headers, "files": {"file": INVOICE}})]
            return probes + (jobs if n % QUIET_EVERY == QUIET_EVERY - 1 else [])
        tenants = list(CUSTOMERS)
        if self.pilot and n % PILOT_EVERY == PILOT_EVERY // 2:
            tenants.append("pilot")
        jobs = [("POST", f"/full-process?tenant_id={t}", {"headers": headers, "files": {"file": INVOICE}})
                for t in tenants]
        read = ("GET", f"/jobs/{self.job_ids[-1] if self.job_ids else 'job-none'}?tenant_id=acme", {})
        return probes + jobs + ([read] if n % 4 == 3 else [])

    def seen(self, response: httpx.Response) -> None:
        if response.request.method == "POST" and response.status_code == 200:
            job_id = response.json().get("job_id")
            if job_id and response.json().get("tenant_id") == "acme":
                self.job_ids = [*self.job_ids[-9:], job_id]


async def record_history(base_url: str, plan: Plan, rounds: int, *,
                         settle_s: float = 0.02, drain_s: float = 5.0) -> list[str]:
    """Play ``rounds`` rounds; return the /metrics text (OpenMetrics) after each."""
    snapshots: list[str] = []
    pending: set[asyncio.Task[httpx.Response]] = set()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, trust_env=False, limits=limits) as client:

        async def call(method: str, path: str, kwargs: dict[str, Any]) -> httpx.Response:
            response = await client.request(method, path, **kwargs)
            plan.seen(response)
            return response

        for n in range(rounds):
            pending |= {asyncio.create_task(call(*r)) for r in plan.requests(n)}
            _, pending = await asyncio.wait(pending, timeout=settle_s)
            if n == rounds - 1 and pending:  # the last scrape waits for what is still running
                _, pending = await asyncio.wait(pending, timeout=drain_s)
            snapshot = await client.get("/metrics", headers={"Accept": OPENMETRICS})
            snapshot.raise_for_status()
            snapshots.append(snapshot.text)
        for task in pending:
            task.cancel()
    return snapshots


class LiveTraffic:
    """A round every ``interval_s`` in a daemon thread until ``stop()``."""

    def __init__(self, base_url: str, plan: Plan, interval_s: float) -> None:
        self.base_url = base_url
        self.plan = plan
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reference-traffic", daemon=True)

    def start(self) -> LiveTraffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        n = 0
        with httpx.Client(base_url=self.base_url, timeout=5, trust_env=False) as client:
            while not self._stop.wait(self.interval_s):
                for method, path, kwargs in self.plan.requests(n):
                    if self._stop.is_set():
                        return
                    # the app may be stopping or faulted; the next round tries again
                    with contextlib.suppress(httpx.HTTPError):
                        self.plan.seen(client.request(method, path, **kwargs))
                n += 1

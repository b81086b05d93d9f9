"""The reference service's own Prometheus instrumentation (004 "Prometheus Integration").

Real prometheus_client metrics in a registry of the app: the request middleware of 004 (counts
and latency per method, endpoint and status), the DB and Redis pool gauges, the Celery-style task
counters of the queue worker, the pilot's incident counters, and Redis gauges named as
redis_exporter names them (003's RedisDown / RedisHighMemoryUsage / RedisLowCacheHitRatio).
Gauges that mirror another system (Postgres connections, Redis INFO) are read when /metrics is
scraped, as an exporter would.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from releasegate.reference.parts import AppContext

# 004's buckets would do too; these resolve both its 500 ms / 1 s thresholds and 002's 3 s / 6 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_POOL_MAX = 20  # the app's pool limit (004: pool_size=20)
SEVERITIES = ("S1", "S2")
TASKS = ("notify_operator",)
NOT_COUNTED = ("/__reference",)  # the orchestrator's own probe is not service traffic


class RedisInfo(Collector):
    """redis_exporter-style series from the last INFO the app read."""

    def __init__(self) -> None:
        self.info: dict[str, Any] | None = None

    def collect(self) -> Iterable[Any]:
        info = self.info or {}
        yield GaugeMetricFamily("redis_up", "Redis answered INFO", value=1 if self.info else 0)
        if self.info:
            yield GaugeMetricFamily("redis_memory_used_bytes", "used_memory",
                                    value=info.get("used_memory", 0))
            yield GaugeMetricFamily("redis_memory_max_bytes", "maxmemory (0: no limit)",
                                    value=info.get("maxmemory", 0))
            yield CounterMetricFamily("redis_keyspace_hits", "keyspace_hits",
                                      value=info.get("keyspace_hits", 0))
            yield CounterMetricFamily("redis_keyspace_misses", "keyspace_misses",
                                      value=info.get("keyspace_misses", 0))


class Instruments:
    """Every metric the reference service exports, in its own registry."""

    def __init__(self, faults: frozenset[str]) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.requests = Counter("http_requests_total", "Total HTTP requests",
                                ["method", "endpoint", "status"], registry=r)
        self.duration = Histogram("http_request_duration_seconds", "HTTP request duration",
                                  ["method", "endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("http_requests_errors_total", "HTTP requests answered 5xx",
                              ["method", "endpoint"], registry=r)
        # metric_family_missing: a release that dropped the pool gauge 004 alerts on
        self.db_pool: Gauge | None = None
        if "metric_family_missing" not in faults:
            self.db_pool = Gauge("db_connection_pool_size", "Active DB connections", registry=r)
        self.db_pool_max = Gauge("db_connection_pool_max", "DB connection pool limit", registry=r)
        self.db_pool_max.set(DB_POOL_MAX)
        self.redis_pool = Gauge("redis_connection_pool_size", "Active Redis connections", registry=r)
        self.tasks = Counter("celery_tasks_total", "Queue tasks run", ["task"], registry=r)
        self.tasks_failed = Counter("celery_tasks_failed_total", "Queue tasks failed", ["task"],
                                    registry=r)
        self.queue_depth = Gauge("queue_depth", "Jobs waiting in the work queue (002 checks.queue)",
                                 registry=r)
        self.incidents = Counter("incidents_total", "Incidents created by the invoice pipeline",
                                 ["severity"], registry=r)
        self.invoices = Counter("invoices_processed_total", "Invoices through the pipeline",
                                ["tenant_id"], registry=r)
        self.redis_info = RedisInfo()
        r.register(self.redis_info)
        # Series exist from the start (Prometheus: "avoid missing metrics"), so a trigger can
        # tell "no S1 incident yet" (0) from "not exported at all".
        for severity in SEVERITIES:
            self.incidents.labels(severity=severity)
        for task in TASKS:
            self.tasks.labels(task=task)
            self.tasks_failed.labels(task=task)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (text 0.0.4 or OpenMetrics)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def instruments(ctx: AppContext) -> Instruments:
    """The app's instruments, made once whichever part asks first."""
    if "instruments" not in ctx.shared:
        ctx.shared["instruments"] = Instruments(ctx.faults)
    return ctx.shared["instruments"]


class RequestMetrics:
    """004's metrics middleware as pure ASGI: count and time every request by route template."""

    def __init__(self, app: ASGIApp, instruments: Instruments) -> None:
        self.app = app
        self.m = instruments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NOT_COUNTED):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.m.requests.labels(method, endpoint, str(status)).inc()
            self.m.duration.labels(method, endpoint).observe(time.perf_counter() - started)
            errors = self.m.errors.labels(method, endpoint)  # at 0 until the first 5xx, not absent
            if status >= 500:
                errors.inc()


async def metrics_endpoint(request: Request, m: Instruments, refresh: Any) -> Response:
    await refresh()
    body, content_type = m.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)

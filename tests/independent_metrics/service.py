"""The independent service: a Starlette app with prometheus-fastapi-instrumentator's defaults.

Faults (each breaks what one check family reads):
- ``errors``: one /items answer in five is a 500 (post-deploy error rate; grouped "5xx"; its
  critical ApiErrorBudgetBurn rule fires).
- ``latency_unobserved``: the latency histogram is registered but the middleware that observes
  it is not wired — the request counter counts, the histogram never sees a request.
"""

from __future__ import annotations

import itertools
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_fastapi_instrumentator import Instrumentator, metrics
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FAULTS = ("errors", "latency_unobserved")
JOB = "independent"
# Written by the service's own team, in its own names (not 004's).
RULES: list[dict[str, Any]] = [
    {"alert": "ApiErrorBudgetBurn", "severity": "critical", "summary": "5xx over 5 %",
     "expr": 'sum(rate(http_requests_total{status="5xx"}[5m])) / sum(rate(http_requests_total[5m])) > 0.05'},
    {"alert": "ApiSlow", "severity": "warning", "summary": "p95 over 1 s",
     "expr": "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 1"},
    {"alert": "ApiDown", "severity": "critical", "summary": "the scrape fails",
     "expr": f'up{{job="{JOB}"}} == 0'},
]


def build(faults: frozenset[str]) -> Starlette:
    calls = itertools.count()

    async def items(request: Request) -> JSONResponse:
        if "errors" in faults and next(calls) % 5 == 0:
            return JSONResponse({"detail": "upstream failed"}, status_code=500)
        return JSONResponse({"items": [{"id": 1}, {"id": 2}]})

    async def item(request: Request) -> JSONResponse:
        return JSONResponse({"id": int(request.path_params["item_id"])})

    async def ready(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/items", items), Route("/items/{item_id:int}", item),
                            Route("/health/ready", ready)])
    registry = CollectorRegistry()
    instrumentator = Instrumentator(registry=registry)
    if "latency_unobserved" in faults:
        instrumentator.add(metrics.requests(registry=registry))
        Histogram("http_request_duration_seconds", "Duration of HTTP requests in seconds",
                  ["handler", "method"], registry=registry)  # declared, never observed
    instrumentator.instrument(app).expose(app)
    return app

"""API versioning part of the reference stack (runbook 001 §6.4, 004): /api/v1 and legacy endpoints.

The Hunter API's v1 endpoints read public.companies and public.domain_signals. Its legacy
decision is written per endpoint, as teams often make it: /leads is supported (option B: 200,
the v1 structure, Deprecation and Sunset headers) and /scan is removed (option A: 404).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from releasegate.reference._sql import DatabaseDown, Queries
from releasegate.reference.parts import AppContext, Fault, Part, StackContext

Handler = Callable[[Request], Awaitable[Response]]

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
DEPRECATED_AT = "@1767225600"  # 2026-01-01T00:00:00Z, RFC 9745
SUNSET_AFTER = timedelta(days=180)
V1_PATHS = ("/api/v1/leads", "/api/v1/scan", "/api/v1/leads/{domain}/sales-summary")

FAULTS = (
    Fault("v1_router_unmounted", "the /api/v1 router is not mounted: every v1 path answers 404",
          "001 §6.4, 004 post-deploy checklist"),
    Fault("legacy_served_when_removed", "legacy /scan answers 200 though documented as removed",
          "001 §6.4 option A"),
    Fault("legacy_supported_removed", "legacy /leads answers 404 though documented as supported",
          "001 §6.4 option B"),
    Fault("legacy_structure_differs", "legacy /leads answers an older structure than /api/v1/leads",
          "001 §6.4 API Versioning Verification"),
    Fault("legacy_deprecation_headers_missing", "legacy /leads has no Deprecation and Sunset headers",
          "001 §6.4 (RFC 9745, RFC 8594)"),
    Fault("openapi_missing_v1_path", "/openapi.json does not list /api/v1/leads/{domain}/sales-summary",
          "001 §6.4, 004"),
)


def routes(ctx: AppContext) -> Sequence[BaseRoute]:
    faults = ctx.faults
    q = Queries(ctx.settings.dsn)
    v1_on = "v1_router_unmounted" not in faults

    def answering(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except DatabaseDown as exc:
                return JSONResponse({"detail": f"database unavailable: {exc}"}, 503)
        return endpoint

    async def leads_body() -> dict[str, Any]:
        rows = await q.rows("SELECT domain, name, segment, score FROM public.companies"
                            " ORDER BY score DESC, id LIMIT 50")
        return {"items": rows, "count": len(rows)}

    async def scan_body(request: Request) -> Response:
        domain = request.query_params.get("domain", "").strip().lower()
        if not DOMAIN.match(domain):
            return JSONResponse({"detail": f"invalid domain {domain!r}"}, 400)
        company = await q.rows("SELECT id, name, segment, score FROM public.companies WHERE domain = %s",
                               (domain,))
        signals = await q.rows(
            "SELECT signal, value, observed_at FROM public.domain_signals WHERE company_id = %s"
            " ORDER BY observed_at, id", (company[0]["id"],)) if company else []
        return JSONResponse({
            "domain": domain,
            "company": {k: company[0][k] for k in ("name", "segment", "score")} if company else None,
            "signals": [{**s, "observed_at": s["observed_at"].isoformat()} for s in signals]})

    async def v1_leads(_: Request) -> Response:
        return JSONResponse(await leads_body())

    async def sales_summary(request: Request) -> Response:
        domain = request.path_params["domain"].lower()
        rows = await q.rows(
            "SELECT c.domain, c.name, c.segment, c.score, count(s.id) AS signals FROM public.companies c"
            " LEFT JOIN public.domain_signals s ON s.company_id = c.id WHERE c.domain = %s"
            " GROUP BY c.id", (domain,))
        if not rows:
            if "unknown_id_500" in faults:
                return Response("Internal Server Error", 500, media_type="text/plain")
            return JSONResponse({"detail": f"domain {domain} not found"}, 404)
        row = rows[0]
        return JSONResponse({**row, "summary": f"{row['name']}: {row['segment']}, score {row['score']}"})

    async def legacy_leads(_: Request) -> Response:
        if "legacy_supported_removed" in faults:
            return JSONResponse({"detail": "Not Found"}, 404)
        body = await leads_body()
        if "legacy_structure_differs" in faults:  # an older serializer: renamed field, score as text
            body["items"] = [{"domain": r["domain"], "company_name": r["name"], "segment": r["segment"],
                              "score": str(r["score"])} for r in body["items"]]
        headers = {} if "legacy_deprecation_headers_missing" in faults else {
            "Deprecation": DEPRECATED_AT,
            "Sunset": format_datetime(datetime.now(timezone.utc) + SUNSET_AFTER, usegmt=True),
            "Link": '</api/v1/leads>; rel="successor-version"'}
        return JSONResponse(body, headers=headers)

    async def openapi(_: Request) -> Response:
        paths = [p for p in V1_PATHS if v1_on]
        if "openapi_missing_v1_path" in faults:
            paths = [p for p in paths if not p.endswith("sales-summary")]
        document = {"openapi": "3.1.0", "info": {"title": "Hunter API", "version": "1.0.0"},
                    "paths": {p: {"get": {"responses": {"200": {"description": "OK"}}}} for p in paths}}
        document["paths"]["/leads"] = {"get": {"deprecated": True,
                                               "responses": {"200": {"description": "OK"}}}}
        return JSONResponse(document)

    found: list[BaseRoute] = [Route("/leads", answering(legacy_leads)),
                              Route("/openapi.json", openapi)]
    if v1_on:
        found += [Route("/api/v1/leads", answering(v1_leads)),
                  Route("/api/v1/scan", answering(scan_body)),
                  Route("/api/v1/leads/{domain}/sales-summary", answering(sales_summary))]
    if "legacy_served_when_removed" in faults:
        found.append(Route("/scan", answering(scan_body)))
    return found


def profile(ctx: StackContext) -> dict[str, Any]:
    return {"versioning": {
        "base_url": ctx.base_url,
        "endpoints": {
            "leads": {"path": "/api/v1/leads", "allowed_status": [200, 401]},
            "scan": {"path": "/api/v1/scan", "params": {"domain": "company1.example"},
                     "allowed_status": [200, 400]},
            "sales_summary": {"path": "/api/v1/leads/unknown-company.example/sales-summary",
                              "allowed_status": [200, 404]},
        },
        "legacy": {"decision": "supported", "endpoints": {
            "leads": {"path": "/leads"},
            "scan": {"path": "/scan", "params": {"domain": "company1.example"}, "decision": "removed"},
        }},
        "openapi": {"path": "/openapi.json", "required": True},
    }}


PART = Part("versioning", order=40, faults=FAULTS, routes=routes, profile=profile)

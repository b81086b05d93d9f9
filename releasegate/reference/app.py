"""The reference service: every part's routes on real Postgres and Redis, in one ASGI app.

The routes come from the parts of the stack (reference/parts.py); this module holds what they
share: the settings read from the environment, and probes of Postgres and Redis. Faults
(reference/faults.py) are read from RG_FAULTS at start; those in ``faults.LIVE``, which the
routes read per request, can also be switched on and off while the app runs
(``POST /__reference/faults {"name": ..., "on": true}``, ``releasegate stack fault NAME on``),
so a self-test can watch a window that starts healthy and degrades.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from releasegate.reference.settings import QUEUE_KEY, Dependencies, Settings, config_hash

__all__ = ["QUEUE_KEY", "Dependencies", "Settings", "config_hash", "create_app"]


async def up(_: Request) -> Response:
    return JSONResponse({"up": True})


def fault_switch(faults: set[str]) -> Route:
    """For the orchestrator and self-tests only: switch a live fault on or off."""
    from releasegate.reference.faults import LIVE

    async def switch(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await request.json()
                name, on = str(body["name"]), bool(body["on"])
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"detail": 'send {"name": FAULT, "on": true|false}'}, 400)
            if name not in LIVE:
                return JSONResponse({"detail": f"{name} cannot be switched while the stack runs; "
                                     f"live faults: {', '.join(sorted(LIVE))}"}, 409)
            (faults.add if on else faults.discard)(name)
        return JSONResponse({"on": sorted(faults), "live": sorted(LIVE)})

    return Route("/__reference/faults", switch, methods=["GET", "POST"])


def create_app(settings: Settings | None = None) -> Starlette:
    from releasegate.reference.parts import AppContext, parts

    settings = settings or Settings.from_env()
    # one mutable set that every part's routes read per request: the switch changes it in place
    faults: set[str] = set(settings.faults)
    settings.faults = faults  # type: ignore[assignment]
    ctx = AppContext(settings, Dependencies(settings), faults)  # type: ignore[arg-type]
    # for the orchestrator only: no fault touches them
    routes = [Route("/__reference/up", up), fault_switch(faults)]
    for part in parts():
        if part.routes is not None:
            routes += part.routes(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for make in ctx.lifespans:
                await stack.enter_async_context(make())
            await ctx.deps.database()
            ctx.deps.booted = True
            yield
            await ctx.deps.close()

    app = Starlette(routes=routes, lifespan=lifespan, middleware=ctx.middleware)
    app.state.settings = settings
    app.state.context = ctx
    return app

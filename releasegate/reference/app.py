"""The reference service: every part's routes on real Postgres and Redis, in one ASGI app.

The routes come from the parts of the stack (reference/parts.py); this module holds what they
share: the settings read from the environment, and probes of Postgres and Redis. Faults
(reference/faults.py) are read once from RG_FAULTS at start.
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


def create_app(settings: Settings | None = None) -> Starlette:
    from releasegate.reference.parts import AppContext, parts

    settings = settings or Settings.from_env()
    ctx = AppContext(settings, Dependencies(settings), settings.faults)
    routes = [Route("/__reference/up", up)]  # for the orchestrator only: no fault touches it
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

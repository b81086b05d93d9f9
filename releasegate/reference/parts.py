"""How the reference stack is put together: one Part per area, found by discovery.

Each area of the reference stack (health, read API, MCP, data, metrics, ...) is a module in
reference/ that defines ``PART = Part(...)``: its faults, its seed SQL, its routes in the app,
the servers it starts beside the app, and its section of the target profile. The app and the
orchestrator only iterate over ``parts()``, so an area is added by adding a module, without
editing a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, ExitStack
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the app's modules import starlette, psycopg and redis; keep discovery light
    from starlette.middleware import Middleware
    from starlette.routing import BaseRoute

    from releasegate.reference.settings import Dependencies, Settings
    from releasegate.servers import PostgresServer, Provider, RedisServer


@dataclass(frozen=True)
class Fault:
    """A named way to break the stack on purpose; ``breaks`` says what, ``runbook`` where from."""

    name: str
    breaks: str
    runbook: str


@dataclass
class AppContext:
    """What a part's routes see inside the app process."""

    settings: Settings
    deps: Dependencies
    faults: frozenset[str]
    # Async context managers entered in the app's lifespan (e.g. an MCP session manager).
    lifespans: list[Callable[[], AbstractAsyncContextManager[Any]]] = field(default_factory=list)
    # ASGI middleware wrapped around every route (e.g. request metrics), outermost first.
    middleware: list[Middleware] = field(default_factory=list)
    shared: dict[str, Any] = field(default_factory=dict)  # parts share objects in the app process


@dataclass
class StackContext:
    """What a part's orchestrator hooks see: the servers, the app, and where to put things."""

    root: Path  # the stack's work directory (logs, extra servers' data)
    provider: Provider
    postgres: PostgresServer
    redis: RedisServer
    dsn: str  # the reference database, as its owner
    faults: frozenset[str]
    exit_stack: ExitStack  # register teardown of anything a hook starts
    log: Callable[[str], None]
    app_env: dict[str, str] = field(default_factory=dict)  # before_app hooks add the app's settings
    base_url: str = ""  # set once the app is up
    facts: dict[str, Any] = field(default_factory=dict)  # parts share what they started (ports, ...)


@dataclass(frozen=True)
class Part:
    """One area of the reference stack. Every hook is optional."""

    name: str
    order: int = 50  # health is 0; parts run (and their profile sections appear) in this order
    faults: Sequence[Fault] = ()
    seed_sql: Sequence[str] = ()  # files in fixtures/seed/, run after schema.sql and data.sql
    routes: Callable[[AppContext], Sequence[BaseRoute]] | None = None
    before_app: Callable[[StackContext], None] | None = None  # after seeding, before the app starts
    after_app: Callable[[StackContext], None] | None = None  # the app answers; start what scrapes it
    apply_faults: Callable[[StackContext], None] | None = None  # last: e.g. stop a server
    profile: Callable[[StackContext], dict[str, Any]] | None = None  # top-level profile keys


@cache
def parts() -> tuple[Part, ...]:
    """Every ``PART`` defined by a module of the reference package, in ``order``."""
    found: list[Part] = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_") or info.name in ("parts", "app", "stack", "faults"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        part = getattr(module, "PART", None)
        if isinstance(part, Part):
            found.append(part)
    return tuple(sorted(found, key=lambda p: (p.order, p.name)))

"""Boot the reference stack: throwaway Postgres and Redis, seed, the app, faults, a profile.

Everything started here is stopped when the context exits, on failure and Ctrl-C included.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import psycopg
import yaml

from releasegate.core.errors import ServerUnavailable
from releasegate.core.paths import FIXTURES, IN_CHECKOUT, ROOT
from releasegate.reference.app import Settings
from releasegate.reference.faults import parse_faults
from releasegate.reference.parts import Part, StackContext, parts
from releasegate.reference.profile_secrets import exported, externalise, private_env_file
from releasegate.servers import PostgresServer, Provider, RedisServer, get_provider

SEED_DIR = FIXTURES / "seed"
BUILD_ID = "git:ref1234"
ENVIRONMENT = "staging"
APP_BOOT_TIMEOUT_S = 20.0


@dataclass
class Stack:
    """A running reference stack and the profile that describes it."""

    base_url: str
    profile_path: Path
    provider: Provider
    postgres: PostgresServer
    redis: RedisServer
    faults: tuple[str, ...]
    timings: dict[str, float] = field(default_factory=dict)
    env_file: Path | None = None  # the profile's credentials, for another shell (stack up)


def seed(server: PostgresServer, dbname: str = "reference") -> str:
    """Create the reference database from fixtures/seed (and each part's seed); return its DSN."""
    with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    dsn = server.dsn(dbname)
    files = ["schema.sql", "data.sql", *(name for part in parts() for name in part.seed_sql)]
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        for name in files:
            conn.execute((SEED_DIR / name).read_text())
        conn.execute("ANALYZE")
    return dsn


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _wait_live(base_url: str, proc: subprocess.Popen[bytes], log: Path, *,
               path: str = "/__reference/up", what: str = "reference app") -> None:
    """Poll ``path`` until it answers 200; fail with the log's tail if ``proc`` exits first."""
    deadline = time.monotonic() + APP_BOOT_TIMEOUT_S
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                raise ServerUnavailable(f"{what} exited ({proc.returncode}): {' | '.join(tail)}")
            try:
                if client.get(f"{base_url}{path}").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise ServerUnavailable(f"{what} did not answer within {APP_BOOT_TIMEOUT_S:g}s")


def profile_for(ctx: StackContext, chosen: tuple[Part, ...]) -> dict[str, Any]:
    """The target profile of a running reference stack (written next to its logs)."""
    profile: dict[str, Any] = {
        "name": "reference",
        "environment": ENVIRONMENT,
        "meta": {"stack": "releasegate reference stack", "provider": ctx.provider.describe(),
                 "faults": ",".join(sorted(ctx.faults)) or "none"},
        "defaults": {"timeouts": {"connect": 1, "read": 3, "total": 5}},
    }
    for part in chosen:
        if part.profile is not None:
            profile.update(part.profile(ctx))
    return profile


def select_parts(names: Iterable[str] | None) -> tuple[Part, ...]:
    """The parts to start: all of them, or those named (health is always there)."""
    if names is None:
        return parts()
    wanted = {"health", *names}
    unknown = wanted - {p.name for p in parts()}
    if unknown:
        raise ValueError(f"unknown reference stack part {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(p.name for p in parts())}")
    return tuple(p for p in parts() if p.name in wanted)


@contextmanager
def _sigterm_tears_down() -> Iterator[None]:
    """SIGTERM while the stack runs stops it the way Ctrl-C does: everything started is torn down.

    Python's default SIGTERM kills the process without unwinding, which would leave Postgres,
    Redis, Prometheus and the app running. Only the main thread may install a handler, and one
    that is already installed (the releasegate command's) is kept.
    """
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def running_stack(faults: str | tuple[str, ...] = (), *, workdir: Path | None = None,
                  provider: Provider | None = None, only: Iterable[str] | None = None,
                  log: Callable[[str], None] = lambda _: None) -> Iterator[Stack]:
    """Start the stack with ``faults`` on; yield it; stop everything on the way out.

    ``only`` names the parts to start (health always; default all): a self-test of one area
    need not wait for another area's servers. The app serves every part's routes regardless.
    """
    names = parse_faults(faults) if isinstance(faults, str) else parse_faults(",".join(faults))
    chosen = select_parts(only)
    provider = provider or get_provider()
    timings: dict[str, float] = {}
    with ExitStack() as stack:
        stack.enter_context(_sigterm_tears_down())
        root = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rg-stack-")))
        root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        log(f"starting Postgres and Redis ({provider.describe()})")
        postgres = stack.enter_context(provider.postgres())
        redis_server = stack.enter_context(provider.redis())
        timings["servers_s"] = time.perf_counter() - started
        dsn = seed(postgres)
        timings["seed_s"] = time.perf_counter() - started - timings["servers_s"]
        settings = Settings(dsn=dsn, redis_url=redis_server.url, environment=ENVIRONMENT,
                            build_id=BUILD_ID, faults=frozenset(names))
        ctx = StackContext(root=root, provider=provider, postgres=postgres, redis=redis_server,
                           dsn=dsn, faults=frozenset(names), exit_stack=stack, log=log,
                           facts={"settings": settings, "parts": [p.name for p in chosen]})
        for part in chosen:
            if part.before_app is not None:
                part.before_app(ctx)
        ctx.base_url = _start_app(ctx, stack, log)
        timings["app_s"] = time.perf_counter() - started - timings["servers_s"] - timings["seed_s"]
        for part in chosen:
            if part.after_app is not None:
                part.after_app(ctx)
        for part in chosen:
            if part.apply_faults is not None:
                part.apply_faults(ctx)
        profile_path = root / "reference-target.yaml"
        credentials: dict[str, str] = {}
        profile = externalise(profile_for(ctx, chosen), credentials)
        env_file = private_env_file() if workdir is not None else None
        stack.enter_context(exported(credentials, env_file))
        profile_path.write_text(
            "# Written by releasegate for a running reference stack; valid while it runs.\n"
            "# Its credentials are ${VARS}: exported in the process that started it"
            + (f", and in {env_file} for another shell (set -a; . {env_file}; set +a)"
               if env_file else "") + ".\n"
            + yaml.safe_dump(profile, sort_keys=False))
        timings["boot_s"] = time.perf_counter() - started
        if names:
            log(f"faults on: {', '.join(names)}")
        yield Stack(ctx.base_url, profile_path, provider, postgres, redis_server, names, timings,
                    env_file)


def _start_app(ctx: StackContext, stack: ExitStack, log: Callable[[str], None]) -> str:
    """Start the reference app on a socket bound here; return its base URL once it answers."""
    settings: Settings = ctx.facts["settings"]
    sock = _bound_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app_log = ctx.root / "reference-app.log"
    env = {**os.environ, **ctx.app_env, "RG_DSN": ctx.dsn, "RG_REDIS_URL": ctx.redis.url,
           "RG_ENVIRONMENT": settings.environment, "RG_BUILD_ID": settings.build_id,
           "RG_FAULTS": ",".join(sorted(ctx.faults))}
    if IN_CHECKOUT:  # an installed wheel imports reference from site-packages
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with open(app_log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "releasegate.reference", "--fd", str(sock.fileno())],
                                pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=str(ctx.root), start_new_session=True)
    sock.close()
    stack.callback(_terminate, proc)
    log(f"starting the reference app on {base_url}")
    _wait_live(base_url, proc, app_log)
    return base_url


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

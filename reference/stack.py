"""Boot the reference stack: throwaway Postgres and Redis, seed, the app, faults, a profile.

Everything started here is stopped when the context exits, on failure and Ctrl-C included.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from reference.app import Settings, config_hash
from reference.faults import STOP_POSTGRES, STOP_REDIS, parse_faults
from releasegate.errors import ServerUnavailable
from releasegate.servers import PostgresServer, Provider, RedisServer, get_provider

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = REPO / "fixtures" / "seed"
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


def seed(server: PostgresServer, dbname: str = "reference") -> str:
    """Create the reference database from fixtures/seed; return its DSN."""
    with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    dsn = server.dsn(dbname)
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        for name in ("schema.sql", "data.sql"):
            conn.execute((SEED_DIR / name).read_text())
    return dsn


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _wait_live(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + APP_BOOT_TIMEOUT_S
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                raise ServerUnavailable(f"reference app exited ({proc.returncode}): {' | '.join(tail)}")
            try:
                if client.get(f"{base_url}/__reference/up").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise ServerUnavailable(f"reference app did not answer within {APP_BOOT_TIMEOUT_S:g}s")


def profile_for(base_url: str, settings: Settings, provider: Provider,
                faults: tuple[str, ...]) -> dict[str, Any]:
    """The target profile of a running reference stack (written next to its logs)."""
    return {
        "name": "reference",
        "environment": ENVIRONMENT,
        "meta": {"stack": "releasegate reference stack", "provider": provider.describe(),
                 "faults": ",".join(faults) or "none"},
        "defaults": {"timeouts": {"connect": 1, "read": 3, "total": 5}},
        "health": {
            "base_url": base_url,
            "probes": {
                "live": {"path": "/healthz/live", "timeout_s": 2},
                "ready": {"path": "/healthz/ready", "timeout_s": 1, "expect_redis": True},
                "startup": {"path": "/healthz/startup", "timeout_s": 1, "wait_s": 1.5,
                            "period_s": 0.25},
            },
            "legacy": {"path": "/healthz", "expect": "supported"},
            "release": {"path": "/health/ready", "timeout_s": 2, "build_id": settings.build_id,
                        "config_hash": config_hash(settings),
                        "required_checks": ["config", "database", "queue"]},
            "stability": {"polls": 3, "window_s": 0.6},
        },
    }


@contextmanager
def running_stack(faults: str | tuple[str, ...] = (), *, workdir: Path | None = None,
                  provider: Provider | None = None,
                  log: Callable[[str], None] = lambda _: None) -> Iterator[Stack]:
    """Start the stack with ``faults`` on; yield it; stop everything on the way out."""
    names = parse_faults(faults) if isinstance(faults, str) else parse_faults(",".join(faults))
    provider = provider or get_provider()
    timings: dict[str, float] = {}
    with ExitStack() as stack:
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
        sock = _bound_socket()
        port = sock.getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        app_log = root / "reference-app.log"
        env = {**os.environ, "RG_DSN": dsn, "RG_REDIS_URL": redis_server.url,
               "RG_ENVIRONMENT": ENVIRONMENT, "RG_BUILD_ID": BUILD_ID, "RG_FAULTS": ",".join(names),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        with open(app_log, "ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "reference", "--fd", str(sock.fileno())],
                                    pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT,
                                    env=env, cwd=str(REPO), start_new_session=True)
        sock.close()
        stack.callback(_terminate, proc)
        log(f"starting the reference app on {base_url}")
        _wait_live(base_url, proc, app_log)
        timings["app_s"] = time.perf_counter() - started - timings["servers_s"] - timings["seed_s"]
        if STOP_POSTGRES & set(names):
            postgres.stop()
        if STOP_REDIS & set(names):
            redis_server.stop()
        profile_path = root / "reference-target.yaml"
        profile_path.write_text(
            "# Written by releasegate for a running reference stack; valid while it runs.\n"
            + yaml.safe_dump(profile_for(base_url, settings, provider, names), sort_keys=False))
        timings["boot_s"] = time.perf_counter() - started
        if names:
            log(f"faults on: {', '.join(names)}")
        yield Stack(base_url, profile_path, provider, postgres, redis_server, names, timings)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

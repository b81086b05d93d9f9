"""The provider interface: a context manager per server kind, always torn down."""

from __future__ import annotations

import atexit
import importlib
import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from releasegate.core.errors import ServerUnavailable, UsageProblem
from releasegate.core.extras import installed

_LIVE: dict[int, Callable[[], None]] = {}


def register_live(stop: Callable[[], None]) -> Callable[[], None]:
    """Remember a running server so that an exit path nobody planned for still stops it."""
    _LIVE[id(stop)] = stop
    return lambda: _LIVE.pop(id(stop), None)


@atexit.register
def _stop_leftovers() -> None:
    for stop in list(_LIVE.values()):
        with suppress(Exception):
            stop()


@dataclass
class Server:
    """A running server; ``stop()`` is idempotent (the db_down fault calls it early)."""

    host: str
    port: int
    provider: str
    version: str
    _stop: Callable[[], None] = field(repr=False, default=lambda: None)
    stopped: bool = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._stop()


@dataclass
class PostgresServer(Server):
    user: str = "postgres"
    password: str = ""
    dbname: str = "postgres"

    def dsn(self, dbname: str | None = None) -> str:
        auth = f"{self.user}:{self.password}" if self.password else self.user
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname or self.dbname}"


@dataclass
class RedisServer(Server):
    password: str = ""  # set by whoever turns on requirepass (the reference stack's redis part)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"


class Provider(ABC):
    """Gives throwaway servers; ``describe()`` is what the report records."""

    name: str

    @abstractmethod
    def postgres(self, major: int | None = None) -> AbstractContextManager[PostgresServer]:
        """A server of ``major`` (a restore rehearsal needs the source's), else the newest."""

    @abstractmethod
    def redis(self, rdb: Path | None = None, databases: int | None = None
              ) -> AbstractContextManager[RedisServer]:
        """A server, loaded from the snapshot ``rdb`` when given, with ``databases`` databases."""

    def describe(self) -> str:
        return self.name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The providers' modules by name, imported on first use: they build on this module's classes,
# and the Docker one loads testcontainers only when it is chosen.
PROVIDERS = {"docker": "releasegate.servers.containers", "local": "releasegate.servers.local"}


def get_provider(preference: str | None = None, *, postgres_image: str | None = None,
                 redis_image: str | None = None) -> Provider:
    """testcontainers when a Docker engine answers, else local binaries (see module doc).

    The images (``{major}`` in the Postgres one becomes the wanted major) are used only when
    containers are.
    """
    choice = (preference or os.environ.get("RELEASEGATE_PROVIDER") or "auto").lower()
    if choice not in ("auto", "local", "docker"):
        raise UsageProblem(f"RELEASEGATE_PROVIDER={choice!r} is not a provider: use auto, local or docker")
    containers = importlib.import_module(PROVIDERS["docker"])
    if choice == "docker" and not installed("testcontainers", "docker"):
        raise UsageProblem("RELEASEGATE_PROVIDER=docker needs testcontainers, which is not installed: "
                           "pip install 'releasegate[containers]'")
    if choice == "auto" and not installed("testcontainers", "docker"):  # the core install: local
        return importlib.import_module(PROVIDERS["local"]).LocalProvider()
    if choice == "docker" or (choice == "auto" and containers.docker_available()):
        if choice == "docker" and not containers.docker_available():
            raise ServerUnavailable("no Docker engine answers; unset RELEASEGATE_PROVIDER or use local")
        return containers.ContainerProvider(postgres_image, redis_image)
    return importlib.import_module(PROVIDERS["local"]).LocalProvider()


def iter_lines_tail(path: str, lines: int = 5) -> Iterator[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            yield from fh.read().splitlines()[-lines:]
    except OSError:
        return

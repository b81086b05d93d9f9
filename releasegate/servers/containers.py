"""testcontainers-backed servers, used when a Docker engine answers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from releasegate.errors import ServerUnavailable
from releasegate.servers.base import PostgresServer, Provider, RedisServer, register_live

POSTGRES_IMAGE = os.environ.get("RELEASEGATE_POSTGRES_IMAGE", "postgres:16-alpine")
REDIS_IMAGE = os.environ.get("RELEASEGATE_REDIS_IMAGE", "redis:7-alpine")


def docker_available() -> bool:
    """True when a Docker engine answers a ping within two seconds."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _container_classes() -> tuple[Any, Any]:
    """testcontainers 4.15 moved the classes under .community; older releases have the old paths."""
    try:
        from testcontainers.community.postgres import PostgresContainer
        from testcontainers.community.redis import RedisContainer
    except ImportError:
        from testcontainers.postgres import PostgresContainer
        from testcontainers.redis import RedisContainer
    return PostgresContainer, RedisContainer


class ContainerProvider(Provider):
    name = "docker"

    def describe(self) -> str:
        return f"testcontainers ({POSTGRES_IMAGE}, {REDIS_IMAGE})"

    @contextmanager
    def postgres(self) -> Iterator[PostgresServer]:
        postgres_cls, _ = _container_classes()
        try:  # the constructor already talks to the engine: it fails there when none answers
            container = postgres_cls(POSTGRES_IMAGE, username="postgres", password="releasegate",
                                     dbname="postgres", driver=None)
            container.start()
        except Exception as exc:
            raise ServerUnavailable(f"cannot start {POSTGRES_IMAGE}: {exc}") from None
        unregister = register_live(container.stop)

        def stop() -> None:
            container.stop()
            unregister()

        server = PostgresServer(container.get_container_host_ip(),
                                int(container.get_exposed_port(5432)), self.name,
                                POSTGRES_IMAGE, stop, password="releasegate")
        try:
            yield server
        finally:
            server.stop()

    @contextmanager
    def redis(self) -> Iterator[RedisServer]:
        _, redis_cls = _container_classes()
        try:
            container = redis_cls(REDIS_IMAGE)
            container.start()
        except Exception as exc:
            raise ServerUnavailable(f"cannot start {REDIS_IMAGE}: {exc}") from None
        unregister = register_live(container.stop)

        def stop() -> None:
            container.stop()
            unregister()

        server = RedisServer(container.get_container_host_ip(),
                             int(container.get_exposed_port(6379)), self.name, REDIS_IMAGE, stop)
        try:
            yield server
        finally:
            server.stop()

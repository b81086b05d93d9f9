"""testcontainers-backed servers, used when a Docker engine answers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from releasegate.core.errors import ServerUnavailable
from releasegate.servers.base import PostgresServer, Provider, RedisServer, register_live

# "{major}" becomes the wanted major version: a restore rehearsal runs the source's.
POSTGRES_IMAGE = os.environ.get("RELEASEGATE_POSTGRES_IMAGE", "postgres:{major}-alpine")
REDIS_IMAGE = os.environ.get("RELEASEGATE_REDIS_IMAGE", "redis:7-alpine")
DEFAULT_MAJOR = 16


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

    def __init__(self, postgres_image: str | None = None, redis_image: str | None = None) -> None:
        self.postgres_image = postgres_image or os.environ.get("RELEASEGATE_POSTGRES_IMAGE",
                                                               POSTGRES_IMAGE)
        self.redis_image = redis_image or os.environ.get("RELEASEGATE_REDIS_IMAGE", REDIS_IMAGE)

    def describe(self) -> str:
        return f"testcontainers ({self.postgres_image}, {self.redis_image})"

    def image_for(self, major: int | None) -> str:
        return self.postgres_image.replace("{major}", str(major or DEFAULT_MAJOR))

    @contextmanager
    def postgres(self, major: int | None = None) -> Iterator[PostgresServer]:
        postgres_cls, _ = _container_classes()
        image = self.image_for(major)
        try:  # the constructor already talks to the engine: it fails there when none answers
            container = postgres_cls(image, username="postgres", password="releasegate",
                                     dbname="postgres", driver=None)
            container.start()
        except Exception as exc:
            raise ServerUnavailable(f"cannot start {image}: {_one_line(exc)}") from None
        unregister = register_live(container.stop)

        def stop() -> None:
            container.stop()
            unregister()

        server = PostgresServer(container.get_container_host_ip(),
                                int(container.get_exposed_port(5432)), self.name,
                                _server_version(container.get_connection_url(), image), stop,
                                password="releasegate")
        try:
            yield server
        finally:
            server.stop()

    @contextmanager
    def redis(self, rdb: Path | None = None, databases: int | None = None
              ) -> Iterator[RedisServer]:
        _, redis_cls = _container_classes()
        image = self.redis_image
        data_dir = None
        try:
            container = redis_cls(image)
            args = ["redis-server", "--save", "", "--appendonly", "no"]
            if databases:
                args += ["--databases", str(databases)]
            if rdb is not None:  # the snapshot is loaded at start from the mounted data directory
                data_dir = tempfile.mkdtemp(prefix="rg-rdb-")
                shutil.copyfile(rdb, os.path.join(data_dir, "dump.rdb"))
                os.chmod(data_dir, 0o777)
                os.chmod(os.path.join(data_dir, "dump.rdb"), 0o666)
                container.with_volume_mapping(data_dir, "/data", "rw")
                args += ["--dir", "/data", "--dbfilename", "dump.rdb"]
            container.with_command(args)
            container.start()
        except Exception as exc:
            if data_dir:
                shutil.rmtree(data_dir, ignore_errors=True)
            raise ServerUnavailable(f"cannot start {image}: {_one_line(exc)}") from None
        unregister = register_live(container.stop)

        def stop() -> None:
            container.stop()
            unregister()

        server = RedisServer(container.get_container_host_ip(),
                             int(container.get_exposed_port(6379)), self.name, image, stop)
        try:
            yield server
        finally:
            server.stop()
            if data_dir:
                shutil.rmtree(data_dir, ignore_errors=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _server_version(url: str, image: str) -> str:
    """The server's own version (an image tag may be a moving one), else the image name."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]).split()[0] if row else image
    except psycopg.Error:
        return image

"""releasegate.servers: provider choice, binary discovery, real local servers, testcontainers shape."""

from __future__ import annotations

import inspect
import socket
import time
from pathlib import Path

import psycopg
import pytest
import redis

from releasegate.core.errors import ServerUnavailable, UsageProblem
from releasegate.servers import base, containers, get_provider, local
from releasegate.servers.containers import ContainerProvider, docker_available
from releasegate.servers.local import LocalProvider


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert message and "\n" not in message, repr(message)
    return message


# --- choosing a provider ----------------------------------------------------------------------


def test_local_provider_by_name(monkeypatch):
    monkeypatch.delenv("RELEASEGATE_PROVIDER", raising=False)
    provider = get_provider("local")
    assert isinstance(provider, LocalProvider)
    assert provider.name == "local"


def test_auto_falls_back_to_local_without_an_engine(monkeypatch):
    monkeypatch.delenv("RELEASEGATE_PROVIDER", raising=False)
    assert isinstance(get_provider(), LocalProvider)


def test_environment_forces_local(monkeypatch):
    monkeypatch.setenv("RELEASEGATE_PROVIDER", "LOCAL")
    assert isinstance(get_provider(), LocalProvider)


def test_bogus_provider_is_one_line(monkeypatch):
    monkeypatch.setenv("RELEASEGATE_PROVIDER", "bogus")
    with pytest.raises(UsageProblem) as exc:  # a usage error (64), not a missing server (69)
        get_provider()
    message = one_line(exc)
    assert "bogus" in message
    assert "local" in message and "docker" in message


def test_docker_without_an_engine(monkeypatch):
    monkeypatch.delenv("RELEASEGATE_PROVIDER", raising=False)
    with pytest.raises(ServerUnavailable) as exc:
        get_provider("docker")
    assert "Docker" in one_line(exc)


def test_docker_is_not_available_here():
    started = time.monotonic()
    assert docker_available() is False
    assert time.monotonic() - started < 5


# --- finding binaries -------------------------------------------------------------------------


def fake_bindir(path: Path) -> Path:
    path.mkdir(parents=True)
    for name in ("initdb", "postgres"):
        (path / name).write_text("#!/bin/sh\n")
        (path / name).chmod(0o755)
    return path


def test_pg_bindir_from_environment_comes_first(monkeypatch, tmp_path):
    bindir = fake_bindir(tmp_path / "pg" / "bin")
    monkeypatch.setenv("RELEASEGATE_PG_BINDIR", str(bindir))
    assert local.find_pg_bindir() == bindir


def test_pg_bindir_env_without_binaries_is_passed_over(monkeypatch, tmp_path):
    monkeypatch.setenv("RELEASEGATE_PG_BINDIR", str(tmp_path / "empty"))
    monkeypatch.setenv("PATH", "")
    fallback = fake_bindir(tmp_path / "postgresql" / "15" / "bin")
    monkeypatch.setattr(local.glob, "glob", lambda pattern: [str(fallback)])
    assert local.find_pg_bindir() == fallback


def test_pg_bindir_prefers_the_newest_versioned_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("RELEASEGATE_PG_BINDIR", raising=False)
    monkeypatch.setenv("PATH", "")
    dirs = [str(fake_bindir(tmp_path / "postgresql" / v / "bin")) for v in ("9", "16", "10")]
    monkeypatch.setattr(local.glob, "glob", lambda pattern: dirs)
    assert local.find_pg_bindir() == tmp_path / "postgresql" / "16" / "bin"


def test_pg_binaries_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("RELEASEGATE_PG_BINDIR", str(tmp_path / "bogus"))
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(local.glob, "glob", lambda pattern: [])
    with pytest.raises(ServerUnavailable) as exc:
        local.find_pg_bindir()
    message = one_line(exc)
    assert "apt-get install" in message
    assert "RELEASEGATE_PG_BINDIR" in message


def test_redis_binary_missing_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(local.os.path, "exists", lambda p: False)
    with pytest.raises(ServerUnavailable) as exc:
        local.find_redis_server()
    assert "apt-get install" in one_line(exc)


# --- real local servers -----------------------------------------------------------------------


def test_local_postgres_serves_and_is_gone_after_exit():
    with LocalProvider().postgres() as server:
        assert server.provider == "local"
        assert server.version[0].isdigit()
        with psycopg.connect(server.dsn(), connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            data_dir = Path(conn.execute("SHOW data_directory").fetchone()[0])
        root = data_dir.parent
        assert root.is_dir()
        port = server.port
    assert server.stopped
    assert not accepts(port)
    assert not root.exists()


def test_local_redis_serves_and_is_gone_after_exit():
    with LocalProvider().redis() as server:
        client = redis.Redis.from_url(server.url, socket_timeout=2)
        try:
            assert client.ping() is True
            root = Path(client.config_get("dir")["dir"])
        finally:
            client.close()
        assert root.is_dir()
        port = server.port
    assert not accepts(port)
    assert not root.exists()


def test_stop_is_idempotent():
    with LocalProvider().redis() as server:
        server.stop()
        assert not accepts(server.port)
        server.stop()
        assert server.stopped
    server.stop()  # after the context too


def test_servers_are_unregistered_after_stop():
    before = set(base._LIVE)
    with LocalProvider().redis():
        assert len(set(base._LIVE) - before) == 1
    assert set(base._LIVE) == before


@pytest.mark.parametrize("binary", ["/nonexistent/redis-server", "/bin/false"])
def test_bogus_redis_binary_raises_server_unavailable(monkeypatch, binary):
    monkeypatch.setattr(local, "find_redis_server", lambda: binary)
    started = time.monotonic()
    with pytest.raises(ServerUnavailable) as exc, LocalProvider().redis():
        pass
    one_line(exc)
    assert time.monotonic() - started < 10


def test_redis_binary_that_never_listens_does_not_hang(monkeypatch, tmp_path):
    silent = tmp_path / "redis-server"
    silent.write_text("#!/bin/sh\nexec sleep 30\n")
    silent.chmod(0o755)
    monkeypatch.setattr(local, "find_redis_server", lambda: str(silent))
    monkeypatch.setattr(local, "START_TIMEOUT_S", 0.5)
    started = time.monotonic()
    with pytest.raises(ServerUnavailable) as exc, LocalProvider().redis():
        pass
    assert "did not start" in one_line(exc)
    assert time.monotonic() - started < 10


# --- testcontainers ---------------------------------------------------------------------------


def test_container_classes_have_the_parameters_used():
    postgres_cls, redis_cls = containers._container_classes()
    pg = inspect.signature(postgres_cls).parameters
    assert {"image", "username", "password", "dbname", "driver"} <= pg.keys()
    assert "image" in inspect.signature(redis_cls).parameters
    from testcontainers.core.container import DockerContainer

    assert issubclass(postgres_cls, DockerContainer)
    assert issubclass(redis_cls, DockerContainer)
    for cls in (postgres_cls, redis_cls):
        for method in ("start", "stop", "get_container_host_ip", "get_exposed_port"):
            assert callable(getattr(cls, method, None)), f"{cls.__name__}.{method}"


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_container_provider_without_engine_raises_server_unavailable(kind):
    with pytest.raises(ServerUnavailable) as exc, getattr(ContainerProvider(), kind)():
        pass
    assert "cannot start" in one_line(exc)


def test_container_provider_describes_its_images():
    assert "testcontainers" in ContainerProvider().describe()
    assert ContainerProvider.name == "docker"

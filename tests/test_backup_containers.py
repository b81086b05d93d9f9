"""The Docker path for real (issue 10 §12): testcontainers through podman's Docker API.

Runs when a container engine is described by $RELEASEGATE_PODMAN_ENV (default
/tmp/releasegate-podman/env, written by `bash scripts/podman-engine.sh start`, which builds the
local Postgres 15 / Redis 7 images when missing and starts the API service). CI (.ci/run) starts
it, and with CI=true a missing engine fails here instead of skipping: the container path must
have been exercised.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
import redis as redis_lib

from releasegate.backup.rehearsal import Options, rehearse_fresh
from releasegate.core.errors import ServerUnavailable
from releasegate.reference.backup import create_fixture
from releasegate.servers import get_provider
from releasegate.servers.containers import ContainerProvider, docker_available
from releasegate.servers.local import LocalProvider

ENV_FILE = Path(os.environ.get("RELEASEGATE_PODMAN_ENV", "/tmp/releasegate-podman/env"))


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


@pytest.fixture(scope="module")
def engine_env() -> dict[str, str]:
    why = None
    if not ENV_FILE.exists():
        why = f"no container engine: {ENV_FILE} missing (bash scripts/podman-engine.sh start)"
    else:
        env = _read_env(ENV_FILE)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            if not docker_available():
                why = f"the engine in {ENV_FILE} does not answer ({env.get('DOCKER_HOST')})"
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must exercise the container path: {why}")
        pytest.skip(why)
    return env


@pytest.fixture
def containers(engine_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ContainerProvider:
    for key, value in engine_env.items():
        monkeypatch.setenv(key, value)
    return ContainerProvider()


def _running(image_prefix: str) -> list[str]:
    import docker

    client = docker.from_env(timeout=10)
    try:
        return [c.id for c in client.containers.list(all=True)
                if any(t.startswith(image_prefix) for t in c.image.tags)]
    finally:
        client.close()


def test_auto_picks_containers_when_the_engine_answers(containers):
    provider = get_provider()
    assert isinstance(provider, ContainerProvider)
    assert "releasegate-postgres:{major}" in provider.describe()


def test_postgres_container_of_the_wanted_major_honours_the_official_environment(containers):
    before = set(_running("localhost/releasegate-postgres"))
    with containers.postgres(15) as server:
        assert server.provider == "docker" and server.version.startswith("15.")
        assert server.password  # POSTGRES_PASSWORD: password authentication over TCP
        with psycopg.connect(server.dsn(), connect_timeout=10) as conn:
            row = conn.execute("SELECT current_user, current_setting('server_version_num')").fetchone()
        assert row is not None and row[0] == "postgres" and row[1].startswith("15")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.dsn().replace(":releasegate@", ":wrong@"), connect_timeout=5)
    assert set(_running("localhost/releasegate-postgres")) == before  # torn down


def test_postgres_container_is_torn_down_when_the_block_fails(containers):
    before = set(_running("localhost/releasegate-postgres"))
    with pytest.raises(RuntimeError), containers.postgres(15):
        raise RuntimeError("a rehearsal that fails half-way")
    assert set(_running("localhost/releasegate-postgres")) == before


def test_missing_image_is_one_line(containers, monkeypatch):
    provider = ContainerProvider(postgres_image="localhost/releasegate-postgres-absent:{major}")
    with pytest.raises(ServerUnavailable) as caught, provider.postgres(15):
        pass
    assert "cannot start localhost/releasegate-postgres-absent:15" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_redis_container_loads_a_snapshot_with_more_databases(containers, tmp_path):
    with LocalProvider().redis(databases=32) as source:
        client = redis_lib.Redis.from_url(source.url.replace("/0", "/20"))
        client.config_set("repl-diskless-sync-delay", 0)  # snapshot now, not in 5 s
        client.set("deep", "db 20")
        client.hset("h", mapping={"a": 1})
        client.close()
        rdb = tmp_path / "snap.rdb"
        subprocess.run(["redis-cli", "-p", str(source.port), "--rdb", str(rdb)], check=True,
                       capture_output=True, timeout=30)
    with containers.redis(rdb=rdb, databases=32) as server:
        restored = redis_lib.Redis.from_url(server.url.replace("/0", "/20"), socket_timeout=5)
        assert restored.get("deep") == b"db 20" and restored.type("h") == b"hash"
        restored.close()


def test_full_restore_rehearsal_through_testcontainers(containers):
    """A fresh dump of a local fixture database restored into a container and compared."""
    with LocalProvider().postgres() as source_server:
        dsn = create_fixture(source_server, 200)
        result = rehearse_fresh(dsn, Options(provider=containers, progress=lambda line: None))
    assert result.error == "", result.error
    assert result.restored, result.restore
    assert result.server["provider"].startswith("testcontainers")
    assert result.server["version"].startswith("15.")
    assert result.catalog and result.catalog["ok"], result.catalog
    assert result.counts and result.counts["ok"], result.counts
    assert result.counts["compared_tables"] >= 14

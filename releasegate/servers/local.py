"""Local server binaries on free ports in a temporary directory.

Written here rather than on pytest-postgresql/pytest-redis executors because those refuse nothing
when run as root (Postgres itself does), have no template cache (initdb costs ~1 s per server),
and would add a second way of finding binaries; this module is small and does just those things.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from filelock import FileLock

from releasegate.core.errors import ServerUnavailable
from releasegate.servers.base import (
    PostgresServer,
    Provider,
    RedisServer,
    free_port,
    iter_lines_tail,
    register_live,
)

PG_INSTALL_HINT = "install them: apt-get install -y postgresql (or set RELEASEGATE_PG_BINDIR)"
REDIS_INSTALL_HINT = "install it: apt-get install -y redis-server"
START_TIMEOUT_S = 15.0


def find_pg_bindir(major: int | None = None) -> Path:
    """initdb and postgres: $RELEASEGATE_PG_BINDIR, PATH, then /usr/lib/postgresql/*/bin.

    With ``major``, only a bin directory of that major version will do (a restore rehearsal
    runs the source's major).
    """
    candidates: list[Path] = []
    if os.environ.get("RELEASEGATE_PG_BINDIR"):
        candidates.append(Path(os.environ["RELEASEGATE_PG_BINDIR"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    versioned = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                       key=lambda p: int(re.sub(r"\D", "", p.split("/")[-2]) or 0), reverse=True)
    candidates += [Path(p) for p in versioned]
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres")) and (
                major is None or _version(str(bindir / "postgres"), r"(\d+)") == str(major)):
            return bindir
    if major is not None:
        raise ServerUnavailable(
            f"Postgres {major} server binaries (initdb, postgres) not found on PATH or in "
            f"/usr/lib/postgresql/{major}/bin; install them: apt-get install -y "
            f"postgresql-{major} (or set RELEASEGATE_PG_BINDIR, or use containers: "
            f"RELEASEGATE_PROVIDER=docker)")
    raise ServerUnavailable(
        f"Postgres server binaries (initdb, postgres) not found on PATH or in "
        f"/usr/lib/postgresql/*/bin; {PG_INSTALL_HINT}")


def find_redis_server() -> str:
    path = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if os.path.exists(p)),
        None)
    if path is None:
        raise ServerUnavailable(f"redis-server not found on PATH; {REDIS_INSTALL_HINT}")
    return path


def _server_user() -> pwd.struct_passwd | None:
    """Postgres refuses to run as root: when we are root, run it as 'postgres' (or 'nobody')."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServerUnavailable("running as root and there is no 'postgres' or 'nobody' user to run "
                            "Postgres as; create one: useradd -r postgres")


def _cache_dir(user: pwd.struct_passwd | None) -> Path:
    """Where the initdb template lives; readable by the server user (root's home is not)."""
    if os.environ.get("RELEASEGATE_CACHE_DIR"):
        return Path(os.environ["RELEASEGATE_CACHE_DIR"])
    if user is not None:
        return Path(tempfile.gettempdir()) / "releasegate-cache"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "releasegate"


def _run(cmd: list[str], user: pwd.struct_passwd | None, log: Path) -> None:
    with open(log, "ab") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False,
                              user=user.pw_uid if user else None,
                              group=user.pw_gid if user else None, cwd="/", timeout=120)
    if proc.returncode != 0:
        tail = " | ".join(iter_lines_tail(str(log), 3))
        raise ServerUnavailable(f"{Path(cmd[0]).name} failed (exit {proc.returncode}): {tail}")


def _stop_process(proc: subprocess.Popen[bytes], sig: int, grace_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _launch(cmd: list[str], *, ready: Callable[[], bool], stop_signal: int, abort_signal: int,
            stdout: Any, cwd: str, user: pwd.struct_passwd | None = None
            ) -> Callable[[], None] | None:
    """Start a server and wait until ``ready()`` holds, it exits, or START_TIMEOUT_S passes.

    Returns its idempotent stop function (also registered for exit paths nobody planned for);
    None when it did not come up, in which case it has already been stopped with ``abort_signal``.
    """
    try:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.STDOUT, cwd=cwd,
                                start_new_session=True, user=user.pw_uid if user else None,
                                group=user.pw_gid if user else None)
    except OSError as exc:  # missing or not executable: one line, not a traceback
        raise ServerUnavailable(f"cannot run {cmd[0]}: {exc.strerror}") from None
    unregister = register_live(lambda: _stop_process(proc, stop_signal))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            def stop() -> None:
                _stop_process(proc, stop_signal)
                unregister()

            return stop
        time.sleep(0.02)
    _stop_process(proc, abort_signal)
    unregister()
    return None


@cache
def _version(binary: str, pattern: str) -> str:
    """A server binary's version, asked once per process."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(pattern, out)
    return match.group(1) if match else "unknown"


class LocalProvider(Provider):
    name = "local"

    def __init__(self) -> None:
        self._bindirs: dict[int | None, Path] = {}

    def describe(self) -> str:
        return "local binaries (initdb/postgres, redis-server) on free ports"

    @property
    def bindir(self) -> Path:
        return self.bindir_for(None)

    def bindir_for(self, major: int | None) -> Path:
        if major not in self._bindirs:
            self._bindirs[major] = find_pg_bindir(major)
        return self._bindirs[major]

    def pg_version(self, major: int | None = None) -> str:
        return _version(str(self.bindir_for(major) / "postgres"), r"(\d+(?:\.\d+)?)")

    def _template(self, user: pwd.struct_passwd | None, bindir: Path) -> Path:
        """An initdb'ed data directory, made once per machine and copied for each server."""
        major = _version(str(bindir / "postgres"), r"(\d+(?:\.\d+)?)").split(".")[0]
        cache = _cache_dir(user)
        cache.mkdir(parents=True, exist_ok=True)
        template = cache / f"pgdata-{major}-{user.pw_name if user else os.getuid()}"
        with FileLock(str(template) + ".lock", timeout=120):
            if not (template / "PG_VERSION").exists():
                staging = Path(tempfile.mkdtemp(prefix="pgtpl-", dir=cache))
                if user:
                    os.chown(staging, user.pw_uid, user.pw_gid)
                data = staging / "data"
                _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A",
                      "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                     user, staging / "initdb.log")
                shutil.rmtree(template, ignore_errors=True)
                data.rename(template)
                shutil.rmtree(staging, ignore_errors=True)
        return template

    @contextmanager
    def postgres(self, major: int | None = None) -> Iterator[PostgresServer]:
        bindir = self.bindir_for(major)
        user = _server_user()
        root = Path(tempfile.mkdtemp(prefix="rg-pg-"))
        try:
            if user:
                os.chown(root, user.pw_uid, user.pw_gid)
            data = root / "data"
            subprocess.run(["cp", "-a", str(self._template(user, bindir)), str(data)], check=True)
            server = self._start_postgres(root, data, user, bindir)
            try:
                yield server
            finally:
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _start_postgres(self, root: Path, data: Path, user: pwd.struct_passwd | None,
                        bindir: Path) -> PostgresServer:
        import psycopg

        log = root / "postgres.log"
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()

            def answers(port: int = port) -> bool:
                try:
                    psycopg.connect(host="127.0.0.1", port=port, user="postgres",
                                    dbname="postgres", connect_timeout=1).close()
                    return True
                except psycopg.OperationalError:
                    return False

            cmd = [str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                   "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}",
                   "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                   "-c", "shared_buffers=32MB", "-c", "max_connections=60",
                   "-c", "logging_collector=off"]
            with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
                stop = _launch(cmd, ready=answers, stop_signal=signal.SIGINT,  # fast shutdown
                               abort_signal=signal.SIGQUIT, stdout=out, cwd="/", user=user)
            if stop is not None:
                return PostgresServer("127.0.0.1", port, self.name,
                                      _version(str(bindir / "postgres"), r"(\d+(?:\.\d+)?)"), stop)
            if "could not bind" not in "".join(iter_lines_tail(str(log), 20)):
                break
        tail = " | ".join(iter_lines_tail(str(log), 3))
        raise ServerUnavailable(f"postgres did not start within {START_TIMEOUT_S:g}s: {tail}")

    @contextmanager
    def redis(self, rdb: Path | None = None, databases: int | None = None
              ) -> Iterator[RedisServer]:
        import redis as redis_lib
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        binary = find_redis_server()
        root = Path(tempfile.mkdtemp(prefix="rg-redis-"))
        log = root / "redis.log"
        server: RedisServer | None = None
        try:
            for _attempt in range(3):  # a free port can be taken between probe and bind
                port = free_port()
                # No retries: redis-py's default (10, with backoff) turns each refused ping
                # into seconds and overruns START_TIMEOUT_S; _launch's loop is the retry.
                client = redis_lib.Redis(host="127.0.0.1", port=port, socket_timeout=1,
                                         socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))

                def answers(client: redis_lib.Redis = client) -> bool:
                    try:
                        return bool(client.ping())
                    except redis_lib.ConnectionError:
                        return False

                cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                       "--appendonly", "no", "--dir", str(root), "--daemonize", "no",
                       "--protected-mode", "no", "--logfile", str(log)]
                if databases:
                    cmd += ["--databases", str(databases)]
                if rdb is not None:  # loaded at start: redis reads <dir>/<dbfilename>
                    shutil.copyfile(rdb, root / "snapshot.rdb")
                    cmd += ["--dbfilename", "snapshot.rdb"]
                try:
                    stop = _launch(cmd, ready=answers, stop_signal=signal.SIGTERM,
                                   abort_signal=signal.SIGKILL, stdout=subprocess.DEVNULL,
                                   cwd=str(root))
                except ServerUnavailable as exc:
                    raise ServerUnavailable(f"{exc}; {REDIS_INSTALL_HINT}") from None
                finally:
                    client.close()
                if stop is not None:
                    server = RedisServer("127.0.0.1", port, self.name,
                                         _version(binary, r"v=(\S+)"), stop)
                    break
            if server is None:
                tail = " | ".join(iter_lines_tail(str(log), 3))
                raise ServerUnavailable(f"redis-server did not start: {tail}")
            try:
                yield server
            finally:
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)

"""A throwaway PgBouncer (Debian's pgbouncer) in transaction pooling, for the data suite's tests.

PgBouncer refuses to run as root, so as root it runs as the same user as the throwaway Postgres.
One server connection per pool (default_pool_size = 1): every client shares it, which is where a
session SET would leak from one client to the next.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from releasegate.core.errors import ServerUnavailable
from releasegate.servers.base import free_port
from releasegate.servers.local import _launch, _server_user

CONFIG = """\
[databases]
{dbname} = host={host} port={port} dbname={dbname}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {root}/users.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 50
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
"""


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None)


@contextmanager
def pgbouncer(host: str, port: int, dbname: str, users: tuple[str, ...]) -> Iterator[int]:
    """Run PgBouncer in front of host:port/dbname; yield the port it listens on."""
    binary = pgbouncer_binary()
    if binary is None:
        raise ServerUnavailable("pgbouncer not found; install it: apt-get install -y pgbouncer")
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="rg-pgbouncer-"))
    try:
        listen = free_port()
        (root / "users.txt").write_text("".join(f'"{u}" ""\n' for u in users))
        ini = root / "pgbouncer.ini"
        ini.write_text(CONFIG.format(dbname=dbname, host=host, port=port, listen=listen, root=root))
        if user is not None:
            for path in (root, root / "users.txt", ini):
                os.chown(path, user.pw_uid, user.pw_gid)

        def answers() -> bool:
            try:
                psycopg.connect(host="127.0.0.1", port=listen, dbname=dbname, user=users[0],
                                connect_timeout=1).close()
                return True
            except psycopg.OperationalError:
                return False

        stop = _launch([binary, str(ini)], ready=answers, stop_signal=signal.SIGINT,
                       abort_signal=signal.SIGKILL, stdout=subprocess.DEVNULL, cwd=str(root), user=user)
        if stop is None:
            log_file = root / "pgbouncer.log"
            log = log_file.read_text(errors="replace") if log_file.exists() else ""
            raise ServerUnavailable(f"pgbouncer did not start: {' | '.join(log.splitlines()[-3:])}")
        try:
            yield listen
        finally:
            stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)

"""The Postgres client tools a rehearsal runs: pg_dump, pg_restore, psql of the right major.

pg_dump refuses to dump a server newer than itself, and a restore is only a rehearsal of the real
one when the restore target runs the source's major version; so tools are looked up per major:
$RELEASEGATE_PG_BINDIR, /usr/lib/postgresql/<major>/bin (Debian keeps every installed major
there), then PATH. A missing or too-old tool is one line that says how to install the right one.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from releasegate.core.errors import ReleasegateError

INSTALL_HINT = ("apt-get install -y postgresql-client-{major} (Debian/Ubuntu with the PGDG "
                "repository for other majors), or set RELEASEGATE_PG_BINDIR to its bin directory")


class ToolMissing(ReleasegateError):
    """A client tool (pg_dump, pg_restore, psql, redis-cli, redis-check-rdb) cannot be used."""


@cache
def tool_version(path: str) -> tuple[int, ...]:
    """(15, 20) for 'pg_dump (PostgreSQL) 15.20 (Debian ...)'; () when it does not say."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    return tuple(int(g) for g in match.groups() if g is not None) if match else ()


def _candidates(name: str, major: int | None) -> list[Path]:
    found: list[Path] = []
    if os.environ.get("RELEASEGATE_PG_BINDIR"):
        found.append(Path(os.environ["RELEASEGATE_PG_BINDIR"]) / name)
    if major is not None:
        found.append(Path(f"/usr/lib/postgresql/{major}/bin") / name)
    # every installed major, newest first: a newer pg_dump also dumps an older server
    found += sorted((Path(p) for p in glob.glob(f"/usr/lib/postgresql/*/bin/{name}")),
                    key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0, reverse=True)
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(os.path.realpath(on_path)))
    return found


@dataclass(frozen=True)
class PgTools:
    """pg_dump, pg_restore and psql of one major version."""

    major: int
    pg_dump: str
    pg_restore: str
    psql: str

    @classmethod
    def for_server(cls, server_major: int) -> PgTools:
        """Tools that can dump a ``server_major`` server and restore into one.

        Prefer the same major; a newer pg_dump also works (it dumps older servers), an older one
        does not ("server version mismatch"), which is said here before anything runs.
        """
        paths: dict[str, str] = {}
        majors: set[int] = set()
        for name in ("pg_dump", "pg_restore", "psql"):
            usable = [p for p in _candidates(name, server_major) if os.access(p, os.X_OK)]
            exact = [p for p in usable if tool_version(str(p))[:1] == (server_major,)]
            newer = [p for p in usable if tool_version(str(p))[:1] > (server_major,)]
            if not exact and not newer:
                older = [f"{p} is {'.'.join(map(str, tool_version(str(p))))}" for p in usable]
                seen = f" ({'; '.join(older)})" if older else ""
                raise ToolMissing(
                    f"{name} {server_major} or newer is needed for a Postgres {server_major} "
                    f"server and was not found{seen}: {INSTALL_HINT.format(major=server_major)}")
            chosen = (exact or newer)[0]
            paths[name] = str(chosen)
            majors.add(tool_version(str(chosen))[0])
        return cls(max(majors), paths["pg_dump"], paths["pg_restore"], paths["psql"])


def redis_tool(name: str) -> str:
    """redis-cli or redis-check-rdb, or one line saying how to install them."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/bin/{name}", f"/usr/local/bin/{name}") if os.access(p, os.X_OK)), None)
    if path is None:
        raise ToolMissing(f"{name} not found on PATH: apt-get install -y redis-tools")
    return path


def newest_client_major() -> int:
    """The newest major of pg_restore installed (it reads archives of every older major)."""
    found = [tool_version(str(p))[:1] for p in _candidates("pg_restore", None)
             if os.access(p, os.X_OK)]
    majors = [m[0] for m in found if m]
    if not majors:
        raise ToolMissing("pg_restore not found: apt-get install -y postgresql-client, or set "
                          "RELEASEGATE_PG_BINDIR to its bin directory")
    return max(majors)

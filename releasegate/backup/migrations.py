"""Alembic migration rehearsal on a restored replica (004 "Alembic Migration").

``alembic current`` must equal the expected head; ``downgrade -1`` then ``upgrade head`` must both
succeed — on the replica, never on the target. The project's own alembic.ini is copied with
``sqlalchemy.url`` pointing at the replica (and the URL also given in the environment variable its
env.py reads), and after each step the replica's alembic_version table is read: if it did not
move, the migration ran somewhere else, which is said loudly.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from releasegate.backup.files import first_error

REVISION = re.compile(r"^([0-9a-zA-Z_]+)(?: \(.*\))?\s*$")
PYTHON_ERROR = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Failure)\b.*?: \S")


def error_line(stderr: str) -> str:
    """The exception line of a failed alembic run (its traceback's last 'XError: …' line), not
    SQLAlchemy's 'Background on this error' footer."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    found = [ln for ln in lines if PYTHON_ERROR.match(ln)]
    line = found[-1] if found else first_error(stderr)
    return line if len(line) <= 300 else line[:299] + "…"


@dataclass
class AlembicConfig:
    config: Path  # the project's alembic.ini
    command: Sequence[str] = ("alembic",)
    url_env: str = "DATABASE_URL"
    url_driver: str | None = "psycopg"  # SQLAlchemy dialect driver: postgresql+psycopg://
    expected_head: str | None = None
    timeout_s: float = 300.0


@dataclass
class Step:
    command: list[str]
    ok: bool
    error: str = ""
    version_after: list[str] = field(default_factory=list)


@dataclass
class AlembicResult:
    heads: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)  # what `alembic current` said
    stored: list[str] = field(default_factory=list)  # the replica's alembic_version rows
    error: str = ""  # alembic could not even run
    downgrade: Step | None = None
    upgrade: Step | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlembicResult:
        steps = {k: Step(**data[k]) if data.get(k) else None for k in ("downgrade", "upgrade")}
        return cls(**{**data, **steps})


def _sqlalchemy_url(dsn: str, driver: str | None) -> str:
    return dsn.replace("postgresql://", f"postgresql+{driver}://", 1) if driver else dsn


def _replica_ini(cfg: AlembicConfig, url: str, workdir: Path) -> Path:
    """The project's alembic.ini with the replica as sqlalchemy.url; %(here)s kept meaning the
    project's directory."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    parser.read(cfg.config)
    here = str(cfg.config.resolve().parent)
    for section in parser.sections():
        for key, value in parser.items(section):
            parser.set(section, key, value.replace("%(here)s", here))
    if not parser.has_section("alembic"):
        parser.add_section("alembic")
    parser.set("alembic", "sqlalchemy.url", url.replace("%", "%%"))
    out = workdir / "alembic.ini"
    with open(out, "w") as fh:
        parser.write(fh)
    return out


_DATABASE_URL = re.compile(r"^\s*(?:postgres(?:ql)?(?:\+\w+)?://|(?=.*\bhost\s*=)(?=.*\bdbname\s*=))",
                           re.I)


def replica_only_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The runner's environment less every way to reach another database.

    The app's env.py may read a variable other than ``url_env`` (the profile's own source DSN,
    HUNTER_DATABASE_URL, PGHOST): ``downgrade -1`` must never find anything but the replica.
    """
    return {k: v for k, v in environ.items()
            if not k.startswith("PG") and not _DATABASE_URL.match(v)}


def _stored_versions(dsn: str) -> list[str]:
    try:
        with psycopg.connect(dsn, connect_timeout=10, autocommit=True) as conn:
            return sorted(str(r[0]) for r in conn.execute(
                "SELECT version_num FROM alembic_version").fetchall())
    except psycopg.Error:
        return []


def rehearse_migrations(cfg: AlembicConfig, replica_dsn: str) -> AlembicResult:
    """current == head, then downgrade -1 and upgrade head, all on the replica."""
    result = AlembicResult()
    if not cfg.config.is_file():  # else its missing directory is blamed on alembic.command
        result.error = (f"backup.alembic.config {cfg.config} is not a file: name the project's "
                        "alembic.ini (relative to the profile's directory)")
        return result
    url = _sqlalchemy_url(replica_dsn, cfg.url_driver)
    with tempfile.TemporaryDirectory(prefix="rg-alembic-") as tmp:
        ini = _replica_ini(cfg, url, Path(tmp))
        env = {**replica_only_environment(os.environ), cfg.url_env: url}
        base = [*cfg.command, "-c", str(ini)]

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            try:
                return subprocess.run([*base, *args], capture_output=True, text=True,
                                      errors="replace", env=env, cwd=str(cfg.config.parent),
                                      timeout=cfg.timeout_s, check=False, stdin=subprocess.DEVNULL)
            except FileNotFoundError:
                return subprocess.CompletedProcess(base, 127, "", f"error: {cfg.command[0]} not "
                                                   "found (alembic.command in the profile)")
            except subprocess.TimeoutExpired:
                return subprocess.CompletedProcess(base, 124, "", f"error: alembic {args[0]} did "
                                                   f"not finish within {cfg.timeout_s:g}s")

        if cfg.expected_head:  # the profile says which head this release expects
            result.heads = [cfg.expected_head]
        else:
            heads = run("heads")
            if heads.returncode != 0:
                result.error = f"alembic heads failed: {error_line(heads.stderr)}"
                return result
            result.heads = _revisions(heads.stdout)
        result.expected = result.heads
        current = run("current")
        if current.returncode != 0:
            result.error = f"alembic current failed: {error_line(current.stderr)}"
            return result
        result.current = _revisions(current.stdout)
        result.stored = _stored_versions(replica_dsn)
        before = result.stored
        down = run("downgrade", "-1")
        result.downgrade = Step([*cfg.command, "downgrade", "-1"], down.returncode == 0,
                                "" if down.returncode == 0 else error_line(down.stderr),
                                _stored_versions(replica_dsn))
        if result.downgrade.ok and before and result.downgrade.version_after == before:
            result.downgrade.ok = False
            result.downgrade.error = ("alembic reported success but the replica's alembic_version "
                                      "did not move: its env.py does not use the URL it was given "
                                      f"(sqlalchemy.url or ${cfg.url_env})")
        if not result.downgrade.ok:
            return result
        up = run("upgrade", "head")
        result.upgrade = Step([*cfg.command, "upgrade", "head"], up.returncode == 0,
                              "" if up.returncode == 0 else error_line(up.stderr),
                              _stored_versions(replica_dsn))
        if result.upgrade.ok and sorted(result.upgrade.version_after) != sorted(result.heads):
            result.upgrade.ok = False
            result.upgrade.error = (f"after upgrade head the replica is at "
                                    f"{', '.join(result.upgrade.version_after) or 'no revision'}, "
                                    f"not at {', '.join(result.heads)}")
    return result


def _revisions(text: str) -> list[str]:
    """Revision ids from `alembic heads` / `alembic current` output (log lines ignored)."""
    out: list[str] = []
    for line in text.splitlines():
        found = REVISION.match(line.strip())
        if found and not line.startswith("INFO"):
            out.append(found.group(1))
    return sorted(out)

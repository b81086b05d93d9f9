"""Backup files on disk: which ones there are, what format, whether each is whole.

Runbook 001 "Backup Verification": the file exists, is not empty, a plain dump carries the
"PostgreSQL database dump" header — and, beyond the runbook, its completion footer (a dump cut
short by a full disk or a killed job has the header but not the footer). A custom-format archive
lists with ``pg_restore --list`` (its table of contents is readable) and reads through completely
(``pg_restore -f /dev/null``: every data block decompressed), which is the cheap full read check.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import re
import subprocess
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from releasegate.core.clock import parse_time  # noqa: F401 - read with the backup files (suites/backup)

PLAIN_HEADER = "PostgreSQL database dump"
PLAIN_FOOTER = "PostgreSQL database dump complete"
CUSTOM_MAGIC = b"PGDMP"
GZIP_MAGIC = b"\x1f\x8b"
DUMP_SUFFIXES = (".sql", ".sql.gz", ".dump", ".backup", ".pgdump", ".custom", ".tar")
COUNTS_SUFFIX = ".counts.json"
COUNTS_FORMAT = "releasegate-counts/1"
READ_CHUNK = 1 << 20
_IDENT = r'(?:"(?:[^"]|"")+"|[^\s.("]+)'
TABLE_LINE = re.compile(rf"^CREATE (?:UNLOGGED )?TABLE (?P<name>{_IDENT}\.{_IDENT})")
TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?P<rest>.+)$")


@dataclass
class BackupFile:
    """One dump on disk."""

    path: Path
    size: int
    mtime: float
    format: str  # plain | plain-gzip | custom | directory | tar | unknown

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.mtime)

    @property
    def taken_at(self) -> str:
        return datetime.fromtimestamp(self.mtime, timezone.utc).isoformat(timespec="seconds")

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "size_bytes": self.size, "format": self.format,
                "modified": self.taken_at, "age_h": round(self.age_s / 3600, 2)}


def detect_format(path: Path) -> str:
    """The dump format from its first bytes (names lie: a .sql may be gzip, a .dump plain)."""
    if path.is_dir():
        return "directory" if (path / "toc.dat").exists() else "unknown"
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return "unknown"
    if head.startswith(CUSTOM_MAGIC):
        return "custom"
    if head.startswith(GZIP_MAGIC):
        return "plain-gzip"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if PLAIN_HEADER.encode() in head or head.lstrip().startswith((b"--", b"SET ", b"CREATE ")):
        return "plain"
    return "unknown"


def _looks_like_dump(path: Path) -> bool:
    name = path.name
    if name.endswith((COUNTS_SUFFIX, ".log", ".tmp", ".partial")):
        return False
    return (path.is_dir() and (path / "toc.dat").exists()) or name.endswith(DUMP_SUFFIXES)


def find_backups(where: str, base: Path | None = None) -> list[BackupFile]:
    """Dumps under a directory or matching a glob, newest first (by modification time)."""
    pattern = where if os.path.isabs(where) or base is None else str(base / where)
    if os.path.isdir(pattern):
        paths = [p for p in Path(pattern).iterdir() if _looks_like_dump(p)]
    else:
        paths = [Path(p) for p in glob.glob(pattern) if not p.endswith(COUNTS_SUFFIX)]
    found: list[BackupFile] = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        size = st.st_size if not path.is_dir() else sum(
            f.stat().st_size for f in path.iterdir() if f.is_file())
        found.append(BackupFile(path, size, st.st_mtime, detect_format(path)))
    return sorted(found, key=lambda b: b.mtime, reverse=True)


@dataclass
class Completeness:
    """Whether a dump is whole, and the line that says why not."""

    ok: bool
    detail: str
    command: list[str] = field(default_factory=list)  # what was run to read it (archives)
    server_version: str | None = None  # "Dumped from database version"
    created: str | None = None  # archive creation time (custom/directory/tar)


def _plain_lines(path: Path, gz: bool) -> Iterator[bytes]:
    opener = gzip.open if gz else open
    with opener(path, "rb") as fh:  # type: ignore[operator]
        yield from fh


def check_plain(path: Path, gz: bool = False) -> Completeness:
    """Header in the first 20 lines, completion footer at the end; a gzip file is read through
    (its CRC is checked at the end of the stream, so a cut file fails here too)."""
    head: list[str] = []
    tail = b""
    version: str | None = None
    try:
        opener = gzip.open if gz else open
        with opener(path, "rb") as fh:  # type: ignore[operator]
            for _ in range(20):
                line = fh.readline()
                if not line:
                    break
                tail = (tail + line)[-4096:]  # a short dump is all head: its footer is in here
                text = line.decode("utf-8", "replace")
                head.append(text)
                found = re.search(r"Dumped from database version (\S+)", text)
                if found:
                    version = found.group(1)
            while True:
                chunk = fh.read(READ_CHUNK)
                if not chunk:
                    break
                tail = (tail + chunk)[-4096:]
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        return Completeness(False, f"cannot be read through: {exc}")
    if not any(PLAIN_HEADER in line for line in head):
        return Completeness(False, f'no "{PLAIN_HEADER}" header in its first 20 lines: not a pg_dump '
                                   "plain dump", server_version=version)
    if PLAIN_FOOTER.encode() not in tail:
        return Completeness(False, f'no "{PLAIN_FOOTER}" footer: the dump was cut short '
                                   "(full disk, killed job, interrupted copy)", server_version=version)
    return Completeness(True, "header and completion footer present", server_version=version)


def list_archive(pg_restore: str, path: Path, timeout_s: float) -> tuple[int, list[str], str]:
    """``pg_restore --list``: (exit code, its lines, its error line)."""
    proc = _run([pg_restore, "--list", str(path)], timeout_s)
    return proc.returncode, proc.stdout.splitlines(), first_error(proc.stderr)


def check_archive(pg_restore: str, path: Path, timeout_s: float) -> Completeness:
    """The table of contents lists, then every data block reads (restore to /dev/null)."""
    listing = [pg_restore, "--list", str(path)]
    code, lines, error = list_archive(pg_restore, path, timeout_s)
    if code != 0:
        return Completeness(False, f"pg_restore --list failed: {error}", listing)
    header = toc_header(lines)
    read = [pg_restore, "-f", os.devnull, str(path)]
    proc = _run(read, timeout_s)
    if proc.returncode != 0:
        return Completeness(False, f"lists, but does not read through: {first_error(proc.stderr)}",
                            read, header.get("server_version"), header.get("created"))
    return Completeness(True, f"lists ({header.get('entries', '?')} TOC entries) and reads through",
                        read, header.get("server_version"), header.get("created"))


def check_complete(backup: BackupFile, pg_restore: str, timeout_s: float) -> Completeness:
    if backup.size == 0:
        return Completeness(False, "is empty (0 bytes)")
    if backup.format in ("plain", "plain-gzip"):
        return check_plain(backup.path, gz=backup.format == "plain-gzip")
    if backup.format in ("custom", "directory", "tar"):
        return check_archive(pg_restore, backup.path, timeout_s)
    return Completeness(False, "is neither a plain SQL dump nor a pg_dump archive "
                               "(no PGDMP or gzip magic, no dump header)")


def toc_header(lines: Iterable[str]) -> dict[str, str]:
    """The facts pg_restore --list prints above the entries."""
    out: dict[str, str] = {}
    for line in lines:
        if not line.startswith(";"):
            continue
        text = line.lstrip(";").strip()
        for key, label in (("created", "Archive created at"), ("dbname", "dbname:"),
                           ("server_version", "Dumped from database version:"),
                           ("dump_version", "Dumped by pg_dump version:"),
                           ("entries", "TOC Entries:"), ("format", "Format:")):
            if text.startswith(label):
                out[key] = text[len(label):].strip()
    return out


def archive_tables(lines: Iterable[str]) -> set[str]:
    """schema.table (names as they are, unquoted) of every TABLE entry in a pg_restore --list.

    An entry reads "3390; 1259 16390 TABLE app companies owner"; TABLE DATA and TABLE ATTACH
    entries are other kinds.
    """
    tables: set[str] = set()
    for line in lines:
        found = TOC_TABLE.match(line.strip())
        if not found or found.group("rest").startswith(("DATA ", "ATTACH ")):
            continue
        schema_and_name = found.group("rest").rsplit(" ", 1)[0]  # the owner is last
        schema, _, name = schema_and_name.partition(" ")
        tables.add(f"{schema}.{name}")
    return tables


def unquote_qualified(text: str) -> str:
    """'"müşteri"."sipariş"' -> 'müşteri.sipariş' (how pg_restore --list and profiles name it)."""
    parts = re.findall(r'"((?:[^"]|"")+)"|([^."]+)', text)
    return ".".join((quoted.replace('""', '"') if quoted else plain) for quoted, plain in parts)


def plain_tables(path: Path, gz: bool = False) -> set[str]:
    """schema.table (unquoted) of every CREATE TABLE in a plain dump (streamed, any size)."""
    tables: set[str] = set()
    for raw in _plain_lines(path, gz):
        if raw.startswith(b"CREATE "):
            found = TABLE_LINE.match(raw.decode("utf-8", "replace"))
            if found:
                tables.add(unquote_qualified(found.group("name")))
    return tables


@dataclass
class Retention:
    kept: int
    too_old: list[BackupFile]
    max_days: float | None
    min_count: int

    @property
    def violations(self) -> list[str]:
        out: list[str] = []
        if self.too_old:
            oldest = max(self.too_old, key=lambda b: b.age_s)
            out.append(f"{len(self.too_old)} backup(s) older than {self.max_days:g} days kept "
                       f"(oldest {oldest.path.name}, {oldest.age_s / 86400:.1f} days)")
        if self.kept < self.min_count:
            out.append(f"{self.kept} backup(s) kept, at least {self.min_count} required")
        return out


def retention(backups: list[BackupFile], max_days: float | None, min_count: int) -> Retention:
    too_old = [b for b in backups if max_days is not None and b.age_s > max_days * 86400]
    return Retention(len(backups), too_old, max_days, min_count)


def counts_path(backup: Path, suffix: str = COUNTS_SUFFIX) -> Path:
    return backup.with_name(backup.name + suffix)


def read_counts_file(path: Path) -> dict[str, Any] | None:
    """The counts recorded beside a backup, or None when there are none (or they are unreadable:
    the caller says so)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    if not isinstance(data, dict) or data.get("format") != COUNTS_FORMAT:
        raise ValueError(f"{path.name} is not a {COUNTS_FORMAT} file")
    return data


def write_counts_file(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"format": COUNTS_FORMAT, **data}, indent=1, sort_keys=True))
    tmp.replace(path)


def first_error(stderr: str) -> str:
    """The tool's own error line: 'pg_restore: error: …', 'psql:…: ERROR: …' — else the last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in lines:
        if "error:" in line or "ERROR:" in line or "FATAL:" in line or "fatal:" in line:
            return line
    return lines[-1] if lines else "no output"


def _run(cmd: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=timeout_s, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 124, "", f"{Path(cmd[0]).name}: error: "
                                                         f"no result within {timeout_s:g}s")

"""Running pg_dump, pg_restore and psql: bounded in time, killed on Ctrl-C, with progress.

Each tool runs in its own process group with the connection in libpq's environment variables
(PGHOST, PGPASSWORD, …), so no password is ever on a command line another user could read with
ps. Its stderr is read line by line: verbose lines feed the progress report, and the tool's own
error line ("pg_restore: error: …") is what a failure says.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from psycopg.conninfo import conninfo_to_dict

from releasegate.backup.files import first_error

# libpq connection parameters and the environment variables libpq reads them from.
LIBPQ_ENV = {"host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER",
             "password": "PGPASSWORD", "dbname": "PGDATABASE", "sslmode": "PGSSLMODE",
             "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
             "connect_timeout": "PGCONNECT_TIMEOUT", "options": "PGOPTIONS",
             "application_name": "PGAPPNAME", "target_session_attrs": "PGTARGETSESSIONATTRS",
             "passfile": "PGPASSFILE", "service": "PGSERVICE"}


def libpq_env(dsn: str, **overrides: str) -> dict[str, str]:
    """The environment for a client tool connecting to ``dsn`` (nothing secret on argv)."""
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    params.update(overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in params.items():
        if key in LIBPQ_ENV:
            env[LIBPQ_ENV[key]] = value
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return env


class Progress:
    """Prints one line every ``interval_s`` while long work runs: phase, amount done, elapsed."""

    def __init__(self, label: str, write: Callable[[str], None] | None = None,
                 interval_s: float = 3.0) -> None:
        self.label = label
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self.interval_s = interval_s
        self.started = time.monotonic()
        self._last = self.started

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.interval_s

    def say(self, phase: str, detail: str = "", *, force: bool = False) -> None:
        if not force and not self.due():
            return
        self._last = time.monotonic()
        self.write(f"releasegate backup: {self.label}: {phase}"
                   f"{', ' + detail if detail else ''}, {self.elapsed():.1f}s elapsed")


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover


class Background:
    """One tool run in a thread (pg_dump while the same snapshot is counted); ``stop()`` kills it
    when the caller gives up or is interrupted, so nothing keeps reading the source behind us."""

    def __init__(self, argv: list[str], env: Mapping[str, str], timeout_s: float,
                 on_line: Callable[[str], None] | None = None) -> None:
        self.cancel = threading.Event()
        self.result: ToolRun | None = None

        def run() -> None:
            self.result = run_tool(argv, env, timeout_s, on_line=on_line, cancel=self.cancel)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def alive(self) -> bool:
        return self.thread.is_alive()

    def wait(self, seconds: float | None = None) -> ToolRun | None:
        self.thread.join(seconds)
        return self.result

    def stop(self) -> None:
        self.cancel.set()
        self.thread.join(15)


@dataclass
class ToolRun:
    """How a client tool ended: exit code, its own error line, how long it took."""

    returncode: int
    error: str
    duration_s: float
    stderr_tail: list[str]

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_tool(argv: list[str], env: Mapping[str, str], timeout_s: float, *,
             on_line: Callable[[str], None] | None = None,
             tick: Callable[[], None] | None = None,
             feed: Iterator[bytes] | None = None, tick_s: float = 0.5,
             merge_stdout: bool = False, cancel: threading.Event | None = None) -> ToolRun:
    """Run one tool to the end (or ``timeout_s``), reading stderr as it comes.

    ``feed`` is written to its stdin (a plain dump into psql); ``tick`` is called every
    ``tick_s`` while it runs (progress). Ctrl-C or a timeout kills the whole process group.
    ``merge_stdout`` reads stdout with stderr (redis-check-rdb reports on stdout). ``cancel``
    set from another thread (the caller was interrupted) kills it too.
    """
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=50)
    errors: list[str] = []
    proc = subprocess.Popen(argv, env=dict(env),
                            stdout=subprocess.PIPE if merge_stdout else subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if merge_stdout else subprocess.PIPE,
                            stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
                            start_new_session=True)

    def read_stderr(stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()[:500]
            tail.append(line)
            if ("error:" in line or "ERROR:" in line or "FATAL:" in line) and len(errors) < 5:
                errors.append(line)
            if on_line is not None:
                on_line(line)

    reader = threading.Thread(target=read_stderr, daemon=True,
                              args=(proc.stdout if merge_stdout else proc.stderr,))
    reader.start()
    writer = None
    if feed is not None:
        writer = threading.Thread(target=_feed, args=(proc.stdin, feed), daemon=True)
        writer.start()
    timed_out = cancelled = False
    try:
        while proc.poll() is None:
            if time.monotonic() - started > timeout_s:
                timed_out = True
                _kill(proc)
                break
            if cancel is not None and cancel.is_set():
                cancelled = True
                _kill(proc)
                break
            if tick is not None:
                tick()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(tick_s)
    except BaseException:  # Ctrl-C, SIGTERM: nothing is left running behind us
        _kill(proc)
        raise
    reader.join(5)
    if writer is not None:
        writer.join(5)
    duration = time.monotonic() - started
    name = Path(argv[0]).name
    if timed_out:
        return ToolRun(124, f"{name}: error: did not finish within {timeout_s:g}s (killed)",
                       duration, list(tail))
    if cancelled:
        return ToolRun(130, f"{name}: interrupted (killed)", duration, list(tail))
    code = proc.returncode if proc.returncode is not None else -1
    error = "" if code == 0 else (errors[0] if errors else first_error("\n".join(tail))
                                  if tail else f"{name} exited {code}")
    return ToolRun(code, error, duration, list(tail))


def _feed(stdin: IO[bytes] | None, chunks: Iterator[bytes]) -> None:
    if stdin is None:  # pragma: no cover - Popen made it a pipe
        return
    try:
        for chunk in chunks:
            stdin.write(chunk)
    except (BrokenPipeError, OSError):
        pass  # psql stopped at the first error (ON_ERROR_STOP): its error line says why
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


def _kill(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)

"""The reference service's structured log: one JSON object per line (004 "Structured Logging").

Written to the file named by RG_APP_LOG (the rollback and observability parts point it into
the stack's work directory, and their profile sections name it), or to stdout. Startup lines
(002 §2.1), run_summary lines (002 §5.1) and request logs (004) all go here, as they would in
one container log that `kubectl logs` shows.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

LOG_ENV = "RG_APP_LOG"
LOG_NAME = "app.jsonl"


class AppLog:
    """Append-only JSON-lines log; safe to call from the app's event loop and its threads."""

    def __init__(self, path: str | None) -> None:
        self._lock = threading.Lock()
        self._out: TextIO = open(path, "a", encoding="utf-8") if path else sys.stdout  # noqa: SIM115

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event,
                  "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"), **fields}
        line = json.dumps(record, separators=(", ", ": "))
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()
        return record

    def raw(self, line: str) -> None:
        """A line as some other writer left it (e.g. a broken serializer)."""
        with self._lock:
            self._out.write(line.rstrip("\n") + "\n")
            self._out.flush()


_LOGS: dict[str | None, AppLog] = {}


def app_log() -> AppLog:
    """The process's log, opened once."""
    path = os.environ.get(LOG_ENV) or None
    if path not in _LOGS:
        _LOGS[path] = AppLog(path)
    return _LOGS[path]


SIGNALS_ABSENT = "signals_absent"  # the fault under which the app logs where the profile does not look


def log_env(root: Path, faults: frozenset[str]) -> str:
    """Where the app writes its log. Under ``signals_absent`` it writes elsewhere and the file the
    profile names stays empty: a log source that exists and says nothing."""
    named = root / LOG_NAME
    if SIGNALS_ABSENT in faults:
        named.touch()
        return str(root / "elsewhere.jsonl")
    return str(named)

"""A sample of the service's log: the tail of a file, or what a command prints.

Profiles name it as ``{file: PATH}`` or ``{command: [kubectl, logs, deploy/api, --tail=2000]}``
(never through a shell), with ``max_lines`` / ``max_bytes`` / ``timeout_s``. The startup line
(002 §2.1), the run_summary lines (002 §5.1) and the PII scan (004) read the same sample, so it
is read once per run and source.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from releasegate.core.command import run_command
from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Exchange, excerpt
from releasegate.logs import pii

DEFAULTS = {"max_lines": 2000, "max_bytes": 4 * 1024 * 1024, "timeout_s": 30}


class LogUnreadable(CheckFailed):
    """The log could not be read; ``exchange`` is the attempt, for the evidence."""

    def __init__(self, message: str, exchange: Exchange) -> None:
        super().__init__(message, cause=exchange.key)
        self.exchange = exchange


@dataclass
class LogSample:
    where: str  # "file /var/log/app.log" or "command kubectl logs …"
    lines: list[str]
    first_line_no: int  # the number of lines[0] in the whole sample read (1-based)
    exchange: Exchange

    def numbered(self) -> list[tuple[int, str]]:
        return list(enumerate(self.lines, self.first_line_no))


def describe(config: Mapping[str, Any]) -> str:
    if "file" in config:
        return f"file {config['file']}"
    return "command " + " ".join(config["command"])


def read(config: Mapping[str, Any], command: Callable[[list[str]], str] = " ".join) -> LogSample:
    """Read the sample; LogUnreadable (one line) when the file or command gives nothing usable."""
    __tracebackhide__ = True
    cfg = {**DEFAULTS, **config}
    where = describe(cfg)
    started = time.perf_counter()
    if "file" in cfg:
        path = str(cfg["file"])
        reproduce = command(["tail", "-n", str(cfg["max_lines"]), path])
        try:
            with open(path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(size - cfg["max_bytes"], 0))
                data = fh.read(cfg["max_bytes"])
                if size > cfg["max_bytes"]:
                    data = data.split(b"\n", 1)[-1]  # drop the partial first line
        except OSError as exc:
            ex = Exchange(request=f"read {where}", error=exc.strerror or str(exc), reproduce=reproduce)
            raise LogUnreadable(f"cannot read the log {where}: {exc.strerror or exc}", ex) from None
        status: int | str = "ok"
    else:
        argv = [str(a) for a in cfg["command"]]
        reproduce = command(argv)
        result = run_command(argv, timeout_s=float(cfg["timeout_s"]), max_bytes=int(cfg["max_bytes"]))
        if not result.ok:
            ex = Exchange(request=f"run {where}", error=result.error, reproduce=reproduce)
            raise LogUnreadable(f"cannot read the log from {where}: {result.error}", ex)
        data, status = result.stdout, result.returncode if result.returncode is not None else "killed"
    lines = data.decode("utf-8", "replace").splitlines()
    total = len(lines)
    lines = lines[-int(cfg["max_lines"]):]
    exchange = Exchange(request=f"read {where}", status=status,
                        latency_ms=round((time.perf_counter() - started) * 1000, 1),
                        excerpt=excerpt(f"{total} lines, last: {last_line(lines, cfg)}"),
                        reproduce=reproduce)
    return LogSample(where, lines, total - len(lines) + 1, exchange)


def last_line(lines: list[str], cfg: Mapping[str, Any]) -> str:
    """The newest line for the evidence, with personal data masked (004 PII Policy)."""
    if not lines:
        return "(none)"
    return pii.scrub(lines[-1], cfg.get("forbidden_fields") or pii.FORBIDDEN_FIELDS)


def json_records(sample: LogSample) -> list[tuple[int, dict[str, Any] | None, str]]:
    """(line number, parsed object or None, raw line) for every line that looks like JSON."""
    out: list[tuple[int, dict[str, Any] | None, str]] = []
    for no, line in sample.numbered():
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            record = json.loads(text)
        except ValueError:
            out.append((no, None, text))
            continue
        out.append((no, record if isinstance(record, dict) else None, text))
    return out


class LogCache:
    """One read per source and run, shared by the checks that read the same log."""

    def __init__(self, command: Callable[[list[str]], str] = " ".join) -> None:
        self._command = command
        self._cache: dict[str, LogSample | LogUnreadable] = {}

    def read(self, config: Mapping[str, Any]) -> LogSample:
        """The sample of ``config``; LogUnreadable again for every check when it failed once."""
        __tracebackhide__ = True
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in self._cache:
            try:
                self._cache[key] = read(config, self._command)
            except LogUnreadable as exc:
                self._cache[key] = exc
        found = self._cache[key]
        if isinstance(found, LogUnreadable):
            raise LogUnreadable(str(found), found.exchange)
        return found

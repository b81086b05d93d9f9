"""Run a command the profile names (a log reader, a kill switch), bounded in time and output.

``subprocess.run(timeout=…, capture_output=True)`` bounds the time but buffers all output; a
command that prints gigabytes would exhaust memory first. Here output is read as it comes and
the command is killed at the byte cap or the deadline, whichever comes first.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

STDERR_KEEP = 4096


@dataclass
class CommandResult:
    argv: list[str]
    stdout: bytes
    stderr: bytes
    returncode: int | None  # None when it was killed
    elapsed_s: float
    error: str | None = None  # one line: why the output is not usable

    @property
    def ok(self) -> bool:
        return self.error is None

    def stderr_line(self) -> str:
        lines = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return lines[-1][:200] if lines else ""


def run_command(argv: list[str], *, timeout_s: float, max_bytes: int,
                keep_tail: bool = True) -> CommandResult:
    """Run ``argv`` (no shell); stop it at ``timeout_s`` or once it printed ``max_bytes``.

    ``keep_tail``: when the cap is hit, keep the last ``max_bytes`` (a log's newest lines) and
    still fail only if the command also ran out of time.
    """
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        return CommandResult(argv, b"", b"", None, 0.0, f"cannot run {argv[0]}: {exc.strerror or exc}")
    out, err = bytearray(), bytearray()
    truncated = False
    error: str | None = None
    deadline = started + timeout_s
    with selectors.DefaultSelector() as sel:
        assert proc.stdout is not None and proc.stderr is not None
        sel.register(proc.stdout, selectors.EVENT_READ, out)
        sel.register(proc.stderr, selectors.EVENT_READ, err)
        while sel.get_map():
            left = deadline - time.perf_counter()
            if left <= 0:
                error = f"{argv[0]} did not finish within {timeout_s:g}s"
                break
            for key, _ in sel.select(timeout=min(left, 0.2)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf: bytearray = key.data
                buf += chunk
                if buf is err and len(err) > STDERR_KEEP:
                    del err[:-STDERR_KEEP]
                if buf is out and len(out) > max_bytes:
                    if not keep_tail:
                        error = f"{argv[0]} printed more than the {max_bytes:,}-byte cap"
                        break
                    truncated = True
                    del out[:-max_bytes]
            if error:
                break
    if error:
        _kill(proc)
    code: int | None = None
    try:
        code = proc.wait(timeout=max(deadline - time.perf_counter(), 0.5))
    except subprocess.TimeoutExpired:
        _kill(proc)
        error = error or f"{argv[0]} did not exit within {timeout_s:g}s"
    if error:
        code = None  # killed: its exit status says nothing about the command
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    result = CommandResult(argv, bytes(out), bytes(err), code, time.perf_counter() - started, error)
    if result.error is None and code != 0:
        detail = result.stderr_line()
        result.error = f"{argv[0]} exited with {code}" + (f": {detail}" if detail else "")
    if truncated and result.error is None:
        result.stdout = result.stdout.split(b"\n", 1)[-1]  # drop the partial first line
    return result


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: a shell's children too
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=2)

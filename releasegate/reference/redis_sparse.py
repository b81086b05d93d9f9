"""A Redis-compatible server whose INFO lacks fields: the reference stack's "signal absent" Redis.

Some servers that speak the Redis protocol (managed services that hide INFO sections, other
implementations) answer INFO without the fields the 003/004 checks read. This stands in for one:
a TCP forwarder to the real Redis that reads the RESP stream both ways, pairs each reply with
its command, and drops ``STRIPPED`` lines from INFO replies. Everything else passes unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from releasegate.reference.forward import Forwarder

STRIPPED = ("used_memory", "maxmemory", "maxmemory_policy", "keyspace_hits", "keyspace_misses",
            "rejected_connections", "rdb_last_bgsave_status")
_BULK, _AGGREGATE, _PAIRS = b"$=!", b"*~>", b"%|"


def value_end(buf: bytes, i: int) -> int | None:
    """The index just past the RESP value starting at ``buf[i]``; None while it is incomplete."""
    nl = buf.find(b"\r\n", i)
    if nl < 0:
        return None
    kind, pos = buf[i:i + 1], nl + 2
    if kind and kind in _BULK:
        n = int(buf[i + 1:nl])
        end = pos + n + 2 if n >= 0 else pos
        return end if len(buf) >= end else None
    if kind and kind in _AGGREGATE + _PAIRS:
        n = int(buf[i + 1:nl])
        for _ in range(max(n, 0) * (2 if kind in _PAIRS else 1)):
            found = value_end(buf, pos)
            if found is None:
                return None
            pos = found
    return pos


def command_name(value: bytes) -> bytes:
    """'*2\\r\\n$4\\r\\nINFO\\r\\n…' → b'INFO'; an inline command's first word."""
    if value.startswith(b"*"):
        parts = value.split(b"\r\n")
        return parts[2].upper() if len(parts) > 2 else b""
    return (value.split() or [b""])[0].upper()


def sparse_info(reply: bytes) -> bytes:
    """An INFO reply (bulk or verbatim string) without the STRIPPED fields."""
    if reply[:1] not in (b"$", b"="):
        return reply
    head, _, rest = reply.partition(b"\r\n")
    body = rest[:int(head[1:])]
    prefix = body[:4] if reply.startswith(b"=") else b""
    lines = [line for line in body[len(prefix):].split(b"\r\n")
             if line.split(b":", 1)[0].decode(errors="replace") not in STRIPPED]
    text = prefix + b"\r\n".join(lines)
    return reply[:1] + str(len(text)).encode() + b"\r\n" + text + b"\r\n"


class SparseInfoRedis(Forwarder):
    """Forward to Redis; INFO replies lose the STRIPPED fields."""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
        except (OSError, asyncio.TimeoutError):
            writer.close()
            return
        self._writers |= {writer, up_writer}
        sent: deque[bytes] = deque()
        await asyncio.gather(self._relay(reader, up_writer, sent, None),
                             self._relay(up_reader, writer, None, sent), return_exceptions=True)
        self._writers -= {writer, up_writer}

    @staticmethod
    async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     commands: deque[bytes] | None, replies_to: deque[bytes] | None) -> None:
        buf = b""
        try:
            while data := await reader.read(65536):
                buf += data
                while buf and (end := value_end(buf, 0)) is not None:
                    value, buf = buf[:end], buf[end:]
                    if commands is not None:  # client -> server: remember what was asked
                        commands.append(command_name(value))
                    elif replies_to and not value.startswith(b">"):  # server -> client
                        value = sparse_info(value) if replies_to.popleft() == b"INFO" else value
                    writer.write(value)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()

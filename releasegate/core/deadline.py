"""A hard deadline on every socket read and write of an HTTP exchange.

httpx has connect/read/write timeouts per operation but no total one: a server that sends its
status line or headers one byte at a time keeps every read under the read timeout and the
exchange alive for hours. This wraps httpcore's network backend (the seam httpcore offers for
exactly this) so each read and write waits at most until the exchange's deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
from httpcore import NetworkBackend, NetworkStream, SyncBackend

_LOCAL = threading.local()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every socket operation in this thread inside the block ends by now + ``seconds``."""
    previous = getattr(_LOCAL, "deadline", None)
    _LOCAL.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _LOCAL.deadline = previous


def time_left() -> float | None:
    """Seconds left before this thread's deadline (may be <= 0); None outside ``deadline()``.

    Any blocking client can bound its socket operations with it (the Redis engine does).
    """
    end = getattr(_LOCAL, "deadline", None)
    return None if end is None else end - time.monotonic()


def _bounded(timeout: float | None) -> float | None:
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise httpcore.ReadTimeout("total timeout reached")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(NetworkStream):
    def __init__(self, stream: NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> NetworkStream:
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(NetworkBackend):
    def __init__(self, backend: NetworkBackend | None = None) -> None:
        self._backend = backend or SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> NetworkStream:
        return DeadlineStream(self._backend.connect_tcp(host, port, _bounded(timeout), local_address,
                                                        socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> NetworkStream:
        return DeadlineStream(self._backend.connect_unix_socket(path, _bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(transport: Any) -> Any:
    """Put the deadline backend under an httpx.HTTPTransport's connection pool."""
    pool = transport._pool  # httpx keeps its httpcore pool here (httpx 0.2x)
    pool._network_backend = DeadlineBackend(pool._network_backend)
    return transport

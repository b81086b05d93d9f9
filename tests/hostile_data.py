"""Hostile Postgres and Redis servers for the data and redis suites' tests (handlers for
tests/hostile.py's HostileServer): one that stalls after the Postgres handshake, one that answers
Postgres with HTTP, and Redis servers that trickle or flood their replies."""

from __future__ import annotations

import contextlib
import socket
import struct

from tests.hostile import TICK, Handler, HostileServer, send


def _recv_exactly(conn: socket.socket, server: HostileServer, size: int) -> bytes:
    data = b""
    while len(data) < size and not server.stopping.is_set():
        try:
            chunk = conn.recv(size - len(data))
        except TimeoutError:
            continue
        if not chunk:
            raise OSError("client hung up")
        data += chunk
    return data


def _pg_message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def pg_stalls_after_handshake(conn: socket.socket, server: HostileServer) -> None:
    """Speak just enough of the Postgres protocol to let the client in, then never answer.

    SSLRequest -> 'N'; StartupMessage -> AuthenticationOk, BackendKeyData, ReadyForQuery(idle);
    the first query is read and left unanswered. Only a client-side deadline ends the wait:
    statement_timeout lives in a server that is not there.
    """
    while not server.stopping.is_set():
        length = struct.unpack("!I", _recv_exactly(conn, server, 4))[0]
        payload = _recv_exactly(conn, server, length - 4)
        if payload[:4] == struct.pack("!I", 80877103):  # SSLRequest
            send(conn, server, b"N")
            continue
        break  # the StartupMessage
    send(conn, server, _pg_message(b"R", struct.pack("!I", 0))
         + _pg_message(b"S", b"server_version\x0015.0\x00")
         + _pg_message(b"S", b"client_encoding\x00UTF8\x00")
         + _pg_message(b"K", struct.pack("!II", 4242, 4242))
         + _pg_message(b"Z", b"I"))
    while not server.stopping.wait(TICK):  # the query arrives; nothing is ever sent back
        try:
            if not conn.recv(4096):
                return
        except TimeoutError:
            continue


def answers_http(conn: socket.socket, server: HostileServer) -> None:
    """Whatever the client says, answer like a web server (a port mix-up behind a proxy)."""
    with contextlib.suppress(TimeoutError):
        conn.recv(4096)
    send(conn, server, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def redis_flood(size: int) -> Handler:
    """Answer the first command with a bulk string of ``size`` bytes, generated piece by piece."""
    piece = b"x" * 65536

    def handler(conn: socket.socket, server: HostileServer) -> None:
        conn.recv(4096)
        send(conn, server, f"${size}\r\n".encode())
        left = size
        while left > 0 and not server.stopping.is_set():
            send(conn, server, piece[:left])
            left -= min(left, len(piece))

    return handler


def redis_trickle(interval_s: float = 0.2) -> Handler:
    """Answer every command with a bulk string that never ends, one byte every ``interval_s``."""

    def handler(conn: socket.socket, server: HostileServer) -> None:
        conn.recv(4096)
        send(conn, server, b"$1000000\r\n")
        while not server.stopping.wait(interval_s):
            send(conn, server, b"x")

    return handler

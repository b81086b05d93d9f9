"""Hostile event streams for the Read API's own tests: silent, comment-only, cut, flooding, endless.

Handlers for tests/hostile.HostileServer (the same bounded loops: every wait polls
``server.stopping``). ``routes`` serves several of them from one server by request path.
"""

from __future__ import annotations

import socket

from tests.hostile import Handler, HostileServer, head, read_request, send

EVENT = b'event: system_status\nid: 1\ndata: {"status": "ok"}\n\n'


def sse_head() -> bytes:
    """200 text/event-stream, no length: the body runs until the server closes the connection."""
    return head("200 OK", "text/event-stream", Cache_Control="no-cache")


def routes(table: dict[str, Handler], fallback: Handler | None = None) -> Handler:
    """Dispatch on the request path (query ignored) to a handler that skips reading the request."""

    def handler(conn: socket.socket, server: HostileServer) -> None:
        request = read_request(conn, server)
        path = request.split(b" ", 2)[1].decode("latin1").split("?", 1)[0] if request.count(b" ") >= 2 \
            else ""
        chosen = table.get(path, fallback)
        if chosen is not None:
            chosen(conn, server)

    return handler


def idle(conn: socket.socket, server: HostileServer) -> None:
    """Keep the connection open, sending nothing, until the client or the server gives up."""
    while not server.stopping.is_set():
        try:
            if not conn.recv(4096):
                return
        except TimeoutError:
            continue


def never_sends(conn: socket.socket, server: HostileServer) -> None:
    """The stream's headers, then not one byte."""
    send(conn, server, sse_head())
    idle(conn, server)


def comments_only(interval_s: float = 0.1) -> Handler:
    """The headers, then a keep-alive comment every ``interval_s``, forever: no event ever."""

    def handler(conn: socket.socket, server: HostileServer) -> None:
        send(conn, server, sse_head())
        while not server.stopping.wait(interval_s):
            send(conn, server, b": ping\n\n")

    return handler


def cut_mid_event(conn: socket.socket, server: HostileServer) -> None:
    """One complete event of another name, then half of the expected one, then the close."""
    send(conn, server, sse_head() + b'event: heartbeat\ndata: {}\n\n'
         + b'event: system_status\nid: 2\ndata: {"status": ')


def flood(conn: socket.socket, server: HostileServer) -> None:
    """Events of a name nobody asked for, as fast as the client takes them, forever."""
    burst = b"event: noise\ndata: " + b"x" * 200 + b"\n\n"
    burst *= 256
    send(conn, server, sse_head())
    while not server.stopping.is_set():
        send(conn, server, burst)


def endless_line(conn: socket.socket, server: HostileServer) -> None:
    """One data line that never ends: no newline, ever."""
    send(conn, server, sse_head() + b"data: ")
    chunk = b"y" * 65536
    while not server.stopping.is_set():
        send(conn, server, chunk)


def phantom_pings(pings: int = 5) -> Handler:
    """An event with an id, then keep-alives (httpx-sse turns these into phantom events), then close."""

    def handler(conn: socket.socket, server: HostileServer) -> None:
        send(conn, server, sse_head() + EVENT + b": ping\n\n" * pings)

    return handler


def read_request_then(behaviour: Handler) -> Handler:
    """A handler that reads the request head first (for use without ``routes``)."""

    def handler(conn: socket.socket, server: HostileServer) -> None:
        read_request(conn, server)
        behaviour(conn, server)

    return handler

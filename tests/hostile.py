"""Hostile HTTP servers for the project's own tests: silent, trickling, huge, malformed, untrusted.

Each server listens on 127.0.0.1 on an ephemeral port and serves every connection in a daemon
thread with a handler ``handler(conn, server)``. Every loop is bounded: the accept loop and every
handler poll ``server.stopping`` at least every ``TICK`` seconds, and ``stop()`` closes the
listener and every open connection, so a test never leaves a thread or a socket behind.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

TICK = 0.1
REQUEST_WAIT_S = 5.0  # longest a handler waits for the request head
MB = 1024 * 1024

Handler = Callable[[socket.socket, "HostileServer"], None]


class HostileServer:
    """A TCP server on 127.0.0.1 that answers every connection with ``handler``."""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.stopping = threading.Event()
        self.connections = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(TICK)
        self.port: int = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> HostileServer:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()
        for thread in list(self._threads):
            thread.join(timeout=2)

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sent(self, count: int) -> None:
        with self._lock:
            self.bytes_sent += count

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True,
                                  name=f"hostile-{self.port}")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # listener closed by stop()
            with self._lock:
                self.connections += 1
                self._open.add(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(TICK)
            if self.tls is not None:
                conn = self._wrap(conn)
                conn.settimeout(REQUEST_WAIT_S)
                conn.do_handshake()  # fails when the client refuses the certificate: expected
                conn.settimeout(TICK)
            self.handler(conn, self)
        except OSError:
            pass  # the client hung up, refused TLS, or stop() closed the socket: all expected
        finally:
            with self._lock:
                self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _wrap(self, raw: socket.socket) -> ssl.SSLSocket:
        assert self.tls is not None
        conn = self.tls.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        with self._lock:
            self._open.discard(raw)
            self._open.add(conn)
        return conn


# --- handler building blocks -------------------------------------------------------------------


def read_request(conn: socket.socket, server: HostileServer) -> bytes:
    """The request head (up to the blank line), or what arrived before the client gave up."""
    data = b""
    waited = 0.0
    while b"\r\n\r\n" not in data and waited < REQUEST_WAIT_S and not server.stopping.is_set():
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            waited += TICK
            continue
        if not chunk:
            break
        data += chunk
    return data


def send(conn: socket.socket, server: HostileServer, data: bytes) -> None:
    """Send everything, waiting out a full socket buffer in TICK steps; raises OSError on hang-up."""
    view = memoryview(data)
    while view and not server.stopping.is_set():
        try:
            count = conn.send(view)
        except TimeoutError:
            continue
        server.sent(count)
        view = view[count:]


def head(status: str, content_type: str, **headers: str | int) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- handlers ----------------------------------------------------------------------------------


def silent(conn: socket.socket, server: HostileServer) -> None:
    """Accept the connection, then never answer (until the server stops)."""
    while not server.stopping.is_set():
        try:
            if not conn.recv(4096):
                return  # the client gave up
        except TimeoutError:
            continue


def trickle(interval_s: float = 0.2) -> Handler:
    """A valid 200 head, then one body byte every ``interval_s``, forever."""

    def handler(conn: socket.socket, server: HostileServer) -> None:
        read_request(conn, server)
        send(conn, server, head("200 OK", "application/json"))
        while not server.stopping.wait(interval_s):
            send(conn, server, b" ")

    return handler


def huge(size: int = 100 * MB, *, declared: bool) -> Handler:
    """``size`` bytes of JSON-ish filler, sent as fast as the client takes it.

    ``declared``: with a Content-Length of ``size``; otherwise chunked, so the size is known only
    by reading. The body is generated piece by piece: the server itself stays small.
    """
    piece = b"[" + b"0," * (32 * 1024) + b"0]"

    def handler(conn: socket.socket, server: HostileServer) -> None:
        read_request(conn, server)
        if declared:
            send(conn, server, head("200 OK", "application/json", Content_Length=size))
        else:
            send(conn, server, head("200 OK", "application/json", Transfer_Encoding="chunked"))
        left = size
        while left > 0 and not server.stopping.is_set():
            part = piece[:left]
            left -= len(part)
            send(conn, server, part if declared else b"%x\r\n%b\r\n" % (len(part), part))
        if not declared:
            send(conn, server, b"0\r\n\r\n")

    return handler


def respond(status: str, content_type: str, body: bytes, **headers: str | int) -> Handler:
    """One complete, well-formed answer with whatever status, content type, body and headers."""

    def handler(conn: socket.socket, server: HostileServer) -> None:
        read_request(conn, server)
        send(conn, server, head(status, content_type, Content_Length=len(body), **headers) + body)

    return handler


# --- addresses and certificates ----------------------------------------------------------------


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A 127.0.0.1 port that refuses connections: bound (so nobody else takes it), not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _cert_with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("neither the cryptography package nor openssl is available") from None
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=30)
    return cert, key


def _cert_with_cryptography(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


def tls_context(directory: Path) -> ssl.SSLContext:
    """A server-side TLS context with a fresh self-signed certificate."""
    cert, key = self_signed_cert(directory)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx

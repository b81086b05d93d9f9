"""A Redis target for checks that may point at production: bounded, cached, writes only its own keys.

redis-py does the protocol; this module adds what a gate needs on top of it:

- **Bounded.** Connect and per-read timeouts from the profile, no retries (redis-py 8 retries
  with backoff by default, which turns one refused connection into seconds), and a hard
  deadline for each command with a cap on the reply size: the connection's socket is wrapped so
  every read waits at most until the command's deadline and a reply past the cap is cut. A
  server that trickles a reply or sends a gigabyte gives a failed check, not a hang.
- **RESP2.** redis-py 8 speaks RESP3 (``HELLO 3``) by default; RESP2 works with every Redis
  since 2.x and gives the plain ``NOAUTH`` answer the AUTH check looks for.
- **Read once.** INFO is fetched once per run and read by several checks.
- **Its own keys.** The round trip writes one key under ``releasegate:`` with a TTL (DESIGN rule
  1) and deletes it; nothing else here writes.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from releasegate.core.deadline import deadline, time_left
from releasegate.redis.facts import endpoint_of, without_userinfo

KEY_PREFIX = "releasegate:"
REPLY_LIMIT = 1024 * 1024  # bytes of one reply; INFO is ~5 KB


@dataclass(frozen=True)
class RedisLimits:
    connect_s: float = 2.0
    command_s: float = 2.0  # the whole command, connect excluded
    reply_bytes: int = REPLY_LIMIT


@dataclass
class RedisReply:
    """One command's answer, or why there was none (never an exception)."""

    command: str  # as redis-cli would take it: "PING", "SET releasegate:rt:… EX 60"
    value: Any = None
    latency_ms: float = 0.0
    error: str | None = None
    unreachable: bool = False  # nothing answered at all (refused, timeout while connecting)
    auth_error: bool = False  # the server answered, and refused for lack of (valid) credentials
    cut_off: bool = False  # no complete reply in time, or a reply past the cap: connection dropped

    @property
    def ok(self) -> bool:
        return self.error is None


class _BoundedSocket:
    """A socket whose reads end by the command's deadline and stop past the reply cap."""

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self._sock = sock
        self._limit = limit
        self._timeout = sock.gettimeout()
        self._received = 0

    def sendall(self, data: Any, *args: Any) -> None:
        self._received = 0  # a new command: its reply gets the whole cap
        self._sock.sendall(data, *args)

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout
        self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._timeout

    def recv(self, size: int, *args: Any) -> bytes:
        left = time_left()
        if left is not None:
            if left <= 0:
                raise TimeoutError("no complete reply within the command's deadline")
            self._sock.settimeout(left if self._timeout is None else min(self._timeout, left))
        data = self._sock.recv(size, *args)
        self._received += len(data)
        if self._received > self._limit:
            raise OSError(f"reply larger than {self._limit} bytes: cut off")
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _BoundedMixin:
    reply_limit = REPLY_LIMIT

    def _connect(self) -> Any:
        return _BoundedSocket(super()._connect(), self.reply_limit)  # type: ignore[misc]


class BoundedConnection(_BoundedMixin, redis.Connection):
    pass


class BoundedSSLConnection(_BoundedMixin, redis.SSLConnection):
    pass


def describe_error(exc: BaseException, host: str) -> tuple[str, bool, bool]:
    """(one-line reason, unreachable, auth refused) for a redis-py exception."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, redis.AuthenticationError) or "NOAUTH" in text or "WRONGPASS" in text:
        return f"authentication refused: {text}", False, True
    if isinstance(exc, redis.TimeoutError):
        return f"no answer from {host} in time: {text}", False, False
    if isinstance(exc, redis.ConnectionError):
        unreachable = any(w in text for w in ("Connection refused", "Timeout connecting",
                                              "Name or service not known", "No route"))
        return text if host in text else f"{host}: {text}", unreachable, False
    return text, False, False


class RedisTarget:
    """One connection to one Redis for a whole run; INFO read once."""

    def __init__(self, url: str, limits: RedisLimits = RedisLimits(), *,
                 username: str | None = None, password: str | None = None) -> None:
        self.url = url
        self.limits = limits
        self.host = endpoint_of(url)
        self.credentials = {k: v for k, v in (("username", username), ("password", password)) if v}
        self._client: redis.Redis | None = None
        self._lock = threading.Lock()
        self._cache: dict[str, RedisReply] = {}
        self._dead: RedisReply | None = None  # the reply after which nothing more is asked

    def _make_client(self, *, authenticate: bool = True) -> redis.Redis:
        base = BoundedSSLConnection if self.url.startswith("rediss://") else BoundedConnection
        cls = type(base.__name__, (base,), {"reply_limit": self.limits.reply_bytes})
        options: dict[str, Any] = dict(
            socket_connect_timeout=self.limits.connect_s, socket_timeout=self.limits.command_s,
            retry=Retry(NoBackoff(), 0), protocol=2, single_connection_client=True,
            health_check_interval=0, client_name="releasegate")
        if self.url.startswith(("redis://", "rediss://")):
            options["connection_class"] = cls
        if authenticate:
            options.update(self.credentials)
            return redis.Redis.from_url(self.url, **options)
        del options["client_name"]  # the probe sends nothing but PING
        return redis.Redis.from_url(without_userinfo(self.url), **options)

    @property
    def client(self) -> redis.Redis:
        """The run's client; connecting happens here (single-connection clients connect at once),
        so only touch it inside ``_timed``."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def call(self, *args: Any, cache: bool = False) -> RedisReply:
        """Run one command under the deadline; ``cache``: the run's first answer is reused."""
        command = " ".join(str(a) for a in args)
        if cache and command in self._cache:
            return self._cache[command]
        with self._lock:
            if self._dead is not None:
                return self._again(command)
            reply = self._timed(command, lambda: self.client.execute_command(*args))
        if reply.unreachable or reply.cut_off:  # a server that went silent is not asked again
            self._dead = reply
        if cache:
            self._cache[command] = reply
        return reply

    def _again(self, command: str) -> RedisReply:
        dead = self._dead
        assert dead is not None
        return RedisReply(command, error=dead.error, unreachable=dead.unreachable, cut_off=dead.cut_off)

    def _timed(self, command: str, run: Callable[[], Any],
               on_error: Callable[[], None] | None = None) -> RedisReply:
        started = time.perf_counter()
        try:
            with deadline(self.limits.connect_s + self.limits.command_s):
                value = run()
        except redis.RedisError as exc:
            text, unreachable, auth = describe_error(exc, self.host)
            (on_error or self.close)()
            cut = isinstance(exc, redis.TimeoutError) or "cut off" in text
            return RedisReply(command, latency_ms=_ms(started), error=text, unreachable=unreachable,
                              auth_error=auth, cut_off=cut)
        except OSError as exc:  # raised by the bounded socket outside redis-py's wrapping
            (on_error or self.close)()
            return RedisReply(command, latency_ms=_ms(started), error=f"{self.host}: {exc}", cut_off=True)
        return RedisReply(command, value=value, latency_ms=_ms(started))

    # -- what the checks ask -----------------------------------------------------------------

    def ping(self) -> RedisReply:
        return self.call("PING", cache=True)

    def info(self) -> RedisReply:
        """INFO (default sections), once per run; the value is redis-py's typed dict."""
        return self.call("INFO", cache=True)

    def pings(self, samples: int) -> list[RedisReply]:
        """``samples`` sequential PINGs, each timed on its own (003: latency > 120 ms)."""
        return [self.call("PING") for _ in range(samples)]

    def round_trip(self, ttl_s: int) -> list[RedisReply]:
        """001 §6.4 SET / GET / DEL on a fresh ``releasegate:`` key that expires by itself."""
        key = f"{KEY_PREFIX}roundtrip:{uuid.uuid4().hex[:12]}"
        value = f"releasegate-{uuid.uuid4().hex[:8]}"
        done = [self.call("SET", key, value, "EX", ttl_s, "NX")]
        if done[0].ok:
            done.append(self.call("GET", key))
            done.append(self.call("DEL", key))
        return done

    def queue_length(self, names: Sequence[str]) -> RedisReply:
        """LLEN of each list in one pipeline; the value is {name: length}."""
        shown = " ; ".join(f"LLEN {n!r}" if "\x06" in n else f"LLEN {n}" for n in names)
        if self._dead is not None:
            return self._again(shown)

        def run() -> dict[str, int]:
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.llen(name)
            return dict(zip(names, (int(n) for n in pipe.execute()), strict=False))

        with self._lock:
            return self._timed(shown, run)

    def queue_declared(self, queue: str, sep: str, max_keys: int = 100) -> RedisReply:
        """The kombu binding key that declares ``queue`` on this Redis, or None.

        kombu's Redis transport keeps each queue's bindings in a set ``_kombu.binding.<exchange>``
        with members ``<routing_key><sep><pattern><sep><queue>`` (kombu/transport/redis.py). An
        empty queue is an absent list, so this tells "empty" from "not this broker's queue".
        """
        shown = f"SCAN 0 MATCH _kombu.binding.* ; SMEMBERS … (queue {queue!r})"
        if self._dead is not None:
            return self._again(shown)

        def run() -> str | None:
            for n, key in enumerate(self.client.scan_iter(match="_kombu.binding.*", count=100)):
                if n >= max_keys:
                    break
                for member in self.client.smembers(key):
                    text = member.decode(errors="replace") if isinstance(member, bytes) else str(member)
                    if text.split(sep)[-1] == queue:
                        return key.decode(errors="replace") if isinstance(key, bytes) else str(key)
            return None

        with self._lock:
            return self._timed(shown, run)

    def unauthenticated_ping(self) -> RedisReply:
        """PING on a new connection that sends no credentials (the AUTH check)."""
        made: list[redis.Redis] = []

        def run() -> Any:
            made.append(self._make_client(authenticate=False))
            return made[0].ping()

        def close() -> None:
            for client in made:
                with contextlib.suppress(Exception):
                    client.close()

        try:
            return self._timed("PING (no AUTH)", run, close)
        finally:
            close()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)

"""What a Redis check uses: the run's RedisTarget, recording each command as evidence.

The target (releasegate/redis/engine.py) is shared by the run and caches INFO; the view belongs
to one check: it records the commands that check judged, with a ``redis-cli`` command that
reproduces each, and turns an error into the check's one-line failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.core.evidence import Evidence, Exchange, excerpt
from releasegate.core.profile import Target, require_section
from releasegate.redis.facts import shell_arg, without_userinfo

if TYPE_CHECKING:  # redis-py is imported when a redis check first runs, not at collection
    from releasegate.redis.engine import RedisReply, RedisTarget

AUTH_REMEDY = ("003 RedisDown: a wrong credential is one of its causes — check the password in the "
               "profile against the one the service uses (REDIS_URL)")


def target_for(target: Target) -> RedisTarget:
    """The run's Redis from the profile's redis section (N/A when there is none)."""
    __tracebackhide__ = True
    from releasegate.redis.engine import RedisLimits, RedisTarget

    cfg = require_section(target, "redis")
    limits = RedisLimits(connect_s=float(cfg.get("connect_timeout_s", 2)),
                         command_s=float(cfg.get("command_timeout_s", 2)),
                         reply_bytes=target.body_limit)
    return RedisTarget(str(cfg["url"]), limits, username=cfg.get("username"), password=cfg.get("password"))


class RedisView:
    def __init__(self, redis: RedisTarget, evidence: Evidence) -> None:
        self.redis = redis
        self.evidence = evidence

    def cli(self, *words: str, auth: bool = True) -> str:
        """`redis-cli -u "$REDIS_URL" WORDS…` with the profile's variables written back."""
        base = ["redis-cli", "-u", self.redis.url if auth else without_userinfo(self.redis.url)]
        creds = self.redis.credentials if auth else {}
        if "username" in creds:
            base += ["--user", creds["username"]]
        if "password" in creds:
            base += ["--pass", creds["password"], "--no-auth-warning"]
        return " ".join([self.evidence.command(base), *(shell_arg(w) for w in words)])

    def record(self, reply: RedisReply, *, shown: str = "", reproduce: str = "",
               auth: bool = True) -> Exchange:
        status = None if reply.unreachable else ("ok" if reply.ok else "error")
        return self.evidence.exchange(Exchange(
            request=f"redis {reply.command}", host=self.redis.host, status=status,
            latency_ms=reply.latency_ms, excerpt=excerpt(shown or _show(reply.value)) if reply.ok else "",
            error=reply.error, unreachable=reply.unreachable,
            reproduce=reproduce or self.cli(*reply.command.split(), auth=auth)))

    def require(self, reply: RedisReply, *, shown: str = "", reproduce: str = "") -> Any:
        """The reply's value; its error fails the check (naming the credential when refused)."""
        __tracebackhide__ = True
        ex = self.record(reply, shown=shown, reproduce=reproduce)
        if not reply.ok:
            raise CheckFailed(f"{reply.command} to {self.redis.host}: {reply.error}", cause=ex.key,
                              remedy=AUTH_REMEDY if reply.auth_error else None)
        return reply.value

    def info(self, *fields: str, required: Sequence[str] = ()) -> dict[str, Any]:
        """INFO (fetched once per run); the evidence shows the fields this check read.

        A ``required`` field INFO does not report (a Redis-compatible server, a managed Redis
        that hides sections) makes the check Inconclusive naming it: absent is never 0.
        """
        __tracebackhide__ = True
        reply = self.redis.info()
        info = reply.value if reply.ok else {}
        shown = "\n".join(f"{f}:{info.get(f)}" for f in fields)
        value = self.require(reply, shown=shown, reproduce=self.cli("INFO"))
        if not isinstance(value, dict):
            raise CheckFailed(f"INFO from {self.redis.host} is not the INFO text Redis sends")
        absent = [f for f in required if f not in value]
        if absent:
            raise Inconclusive(f"INFO from {self.redis.host} reports no {', '.join(absent)}: "
                               "what it measures cannot be judged")
        return value

    def queue_lengths(self, names: Sequence[str]) -> dict[str, int]:
        __tracebackhide__ = True
        reply = self.redis.queue_length(names)
        reproduce = " ; ".join(self.cli("LLEN", n) for n in names)
        shown = "\n".join(f"{n!r}: {v}" for n, v in (reply.value or {}).items())
        return dict(self.require(reply, shown=shown, reproduce=reproduce))

    def queue_declared(self, queue: str, sep: str) -> str | None:
        __tracebackhide__ = True
        reply = self.redis.queue_declared(queue, sep)
        found = self.require(reply, shown=f"{queue!r} declared by: {reply.value or 'no binding'}",
                             reproduce=self.cli("--scan", "--pattern", "_kombu.binding.*"))
        return None if found is None else str(found)


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)

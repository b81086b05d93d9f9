"""Redis part of the reference stack: a protected, warmed-up cache and the alarms of runbook 003.

Healthy: requirepass on (the app is given the password through the server's URL), maxmemory
64 MB with allkeys-lru, a cache with a ~95 % hit ratio, an empty Celery queue. Each fault below
breaks one thing 003 or 004 alarms on; ``redis_port_exposed`` publishes the port on 127.0.0.2
and ``redis_slow`` puts a forwarder that delays every reply between the checks and Redis.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from typing import Any

import redis as redis_lib

from releasegate.core.errors import ServerUnavailable
from releasegate.reference.data import PUBLIC_HOST
from releasegate.reference.forward import Forwarder
from releasegate.reference.parts import Fault, Part, StackContext
from releasegate.reference.redis_sparse import SparseInfoRedis

MAXMEMORY = 64 * 1024 * 1024
NEAR_MAX_MEMORY = 8 * 1024 * 1024
SLOW_REPLY_S = 0.15  # over 003's 120 ms alarm
CELERY_SEP = "\x06\x16"  # kombu's priority queue separator

FAULTS = (
    Fault("redis_no_auth", "Redis answers without a password (requirepass off)",
          "003 RedisDown causes, 000 §5.5"),
    Fault("redis_memory_near_max", "used memory at ~93 % of maxmemory, keys without TTL, policy noeviction",
          "003 RedisHighMemoryUsage"),
    Fault("redis_low_hit_ratio", "keyspace hit ratio ~10 % (lookups mostly miss)",
          "003 RedisLowCacheHitRatio"),
    Fault("redis_slow", "every Redis reply arrives 150 ms late (slow network path)",
          "003 Redis latency > 120 ms"),
    Fault("redis_rejected_connections", "Redis rejected a connection at maxclients",
          "004 Metrics to Track (redis_connection_pool_size)"),
    Fault("celery_backlog", "250 Celery tasks waiting: 50 in 'celery', 200 in its priority-3 list",
          "004 Celery Worker Not Processing Tasks"),
    Fault("redis_bgsave_failing", "the last RDB background save failed (rdb_last_bgsave_status err)",
          "004 Pre-Deployment (backup strategy)"),
    Fault("redis_read_only_replica", "the service's Redis is a read-only replica: writes fail with READONLY",
          "001 §6.4"),
    Fault("celery_queue_undeclared", "signal absent: no worker ever declared the 'celery' queue on this "
          "Redis (no _kombu.binding set names it) and the queue list is empty", "004 Celery"),
    Fault("redis_info_sparse", "signal absent: the service's Redis is a Redis-compatible server whose "
          "INFO lacks the memory, keyspace, clients and persistence fields", "003, 004"),
    Fault("redis_port_exposed", "the Redis port answers on the public address 127.0.0.2", "000 §5.5"),
)


def _admin(ctx: StackContext) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(ctx.redis.url, socket_timeout=5, socket_connect_timeout=5, protocol=2)


def before_app(ctx: StackContext) -> None:
    """Protect and size the cache, then warm it so its hit ratio is what a busy cache shows."""
    with _admin(ctx) as r:
        r.config_set("maxmemory", MAXMEMORY)
        r.config_set("maxmemory-policy", "allkeys-lru")
        pipe = r.pipeline(transaction=False)
        for i in range(50):
            pipe.set(f"cache:dashboard:{i}", f"payload-{i}" * 20, ex=3600)
        for i in range(400):
            pipe.get(f"cache:dashboard:{i % 50}")
        for i in range(20):
            pipe.get(f"cache:dashboard:missing:{i}")
        pipe.execute()
        if "celery_queue_undeclared" not in ctx.faults:  # what a Celery worker declares on start
            r.sadd("_kombu.binding.celery", CELERY_SEP.join(["celery", "", "celery"]))
        if "redis_no_auth" not in ctx.faults:
            password = secrets.token_urlsafe(18)
            r.config_set("requirepass", password)
            ctx.redis.password = password  # ctx.redis.url now carries it: the app authenticates
            ctx.facts["settings"].redis_url = ctx.redis.url


def apply_faults(ctx: StackContext) -> None:
    faults = ctx.faults
    with _admin(ctx) as r:
        if "redis_memory_near_max" in faults:
            r.config_set("maxmemory-policy", "noeviction")
            r.config_set("maxmemory", NEAR_MAX_MEMORY)
            used = int(r.info("memory")["used_memory"])
            blob = b"x" * 65536
            target = int(NEAR_MAX_MEMORY * 0.93)
            i = 0
            while used < target and i < 200:  # keys without a TTL, 64 KB each
                r.set(f"cache:blob:{i}", blob)
                used = int(r.info("memory")["used_memory"])
                i += 1
        if "redis_low_hit_ratio" in faults:
            pipe = r.pipeline(transaction=False)
            for i in range(4000):
                pipe.get(f"cache:cold:{i}")
            pipe.execute()
        if "redis_rejected_connections" in faults:
            _reject_one_connection(ctx, r)
        if "celery_backlog" in faults:
            r.rpush("celery", *[f'{{"task": "scan_domain", "id": {i}}}' for i in range(50)])
            r.rpush(f"celery{CELERY_SEP}3", *[f'{{"task": "bulk_scan", "id": {i}}}' for i in range(200)])
        if "redis_read_only_replica" in faults:  # a replica of a primary that is not there
            r.replicaof("127.0.0.1", 1)
        if "redis_bgsave_failing" in faults:
            _fail_a_bgsave(r)
    if "redis_port_exposed" in faults:
        exposed = Forwarder((PUBLIC_HOST, ctx.redis.port), (ctx.redis.host, ctx.redis.port))
        ctx.exit_stack.callback(exposed.start().stop)
    if "redis_slow" in faults:
        slow = Forwarder(("127.0.0.1", 0), (ctx.redis.host, ctx.redis.port), delay_s=SLOW_REPLY_S)
        ctx.exit_stack.callback(slow.start().stop)
        ctx.facts["redis_slow_port"] = slow.port
    if "redis_info_sparse" in faults:
        sparse = SparseInfoRedis(("127.0.0.1", 0), (ctx.redis.host, ctx.redis.port))
        ctx.exit_stack.callback(sparse.start().stop)
        ctx.facts["redis_slow_port"] = sparse.port  # the profile's URL goes through it


def _reject_one_connection(ctx: StackContext, r: redis_lib.Redis) -> None:
    """Lower maxclients to what is connected, open one more (refused), put it back."""
    before = r.config_get("maxclients")["maxclients"]
    r.config_set("maxclients", int(r.info("clients")["connected_clients"]))
    try:
        with socket.create_connection((ctx.redis.host, ctx.redis.port), timeout=5) as extra:
            extra.settimeout(5)
            extra.recv(256)  # "-ERR max number of clients reached", then Redis closes it
    finally:
        r.config_set("maxclients", before)


def _fail_a_bgsave(r: redis_lib.Redis) -> None:
    """BGSAVE when the dump file's name is taken by a directory: the child writes its temp file,
    cannot rename it over a directory, and the save ends with rdb_last_bgsave_status err.
    (Redis 7 protects CONFIG SET dir; the data directory is on this machine with the local
    provider, which is the one the fault matrix runs on.)"""
    directory = r.config_get("dir")["dir"]
    blocker = os.path.join(directory, r.config_get("dbfilename")["dbfilename"])
    if not os.path.isdir(directory):
        raise ServerUnavailable("redis_bgsave_failing needs Redis's data directory on this machine "
                                "(RELEASEGATE_PROVIDER=local)")
    os.makedirs(os.path.join(blocker, "not-a-dump"), exist_ok=True)
    r.bgsave()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = r.info("persistence")
        if not info.get("rdb_bgsave_in_progress") and info.get("rdb_last_bgsave_status") == "err":
            return
        time.sleep(0.05)
    raise ServerUnavailable("redis_bgsave_failing: BGSAVE did not fail as planned")


def profile(ctx: StackContext) -> dict[str, Any]:
    url = ctx.redis.url
    if "redis_slow_port" in ctx.facts:
        url = url.replace(f":{ctx.redis.port}/", f":{ctx.facts['redis_slow_port']}/")
    return {"redis": {
        "url": url,
        "connect_timeout_s": 1, "command_timeout_s": 2,
        "latency": {"samples": 8, "p95_max_ms": 120},
        "memory": {"max_used_ratio": 0.9},
        "hit_ratio": {"min": 0.8, "min_lookups": 100},
        "max_rejected_connections": 0,
        "celery": {"queues": ["celery"], "max_length": 100},
        "persistence": True,
        "auth_required": True,
        "exposure": {"public_hosts": [PUBLIC_HOST], "timeout_s": 1},
    }}


PART = Part("redis", order=5, faults=FAULTS, before_app=before_app, apply_faults=apply_faults,
            profile=profile)

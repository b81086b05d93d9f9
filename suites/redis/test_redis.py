"""Runbook 001 §6.4 (Redis health) and 003's Redis alarms: PING, SET/GET/DEL, latency, memory,
hit ratio; 004's Redis connection failure and Celery queue."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.core.evidence import Exchange
from releasegate.core.profile import require_section
from releasegate.gate.stash import target_of
from releasegate.redis.facts import memory_of, p95

pytestmark = pytest.mark.redis

REMEDY_DOWN = ("003 RedisDown: check it runs (docker compose ps redis / kubectl get pods -l app=redis), "
               "restart it if needed, check network access, firewall rules and port forwarding, then "
               "redis-cli PING")
REMEDY_MEMORY = ("003 RedisHighMemoryUsage: redis-cli INFO memory to find the keyspace that grows; "
                 "delete needless keys or add TTLs (EXPIRE); review maxmemory and maxmemory-policy; "
                 "review the services' cache usage")


def redis_cfg(target, key):
    return (target.section("redis") or {}).get(key) or {}


@pytest.mark.smoke
@pytest.mark.runbook("001", "§6.4", "Redis PING = PONG (direct connection)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(REMEDY_DOWN)
def test_redis_ping(rds):
    if rds.require(rds.redis.ping()) is not True:
        raise CheckFailed(f"PING to {rds.redis.host} did not answer PONG")


@pytest.mark.smoke
@pytest.mark.runbook("001", "§6.4", "Redis SET/GET/DEL operations work")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("003 RedisHighMemoryUsage / RedisDown: a refused write is OOM (maxmemory with "
                    "noeviction), READONLY (a replica) or MISCONF (failed snapshot) — redis-cli INFO "
                    "memory / replication / persistence")
def test_redis_set_get_del(rds, target):
    ttl = int(target.section("redis").get("key_ttl_s", 60))
    replies = rds.redis.round_trip(ttl)
    values = [rds.require(r) for r in replies]
    key = replies[0].command.split()[1]
    if values[0] is not True:
        raise CheckFailed(f"SET {key} answered {values[0]!r}, expected OK")
    stored = replies[0].command.split()[2]
    if (values[1] or b"").decode("utf-8", "replace") != stored:
        raise CheckFailed(f"GET {key} answered {values[1]!r}, expected the value just SET")
    if values[2] != 1:
        raise CheckFailed(f"DEL {key} answered {values[2]!r}, expected 1")


@pytest.mark.runbook("003", "System Performance", "Redis latency p95 under 120 ms")
@pytest.mark.severity("warning")
@pytest.mark.remedy("003 Troubleshooting: Redis latency > 120 ms — check the System Performance "
                    "board (CPU, memory, connections) and INFO for slow clients; look at the network "
                    "path between the service and Redis")
def test_redis_latency_p95(rds, target, evidence):
    cfg = redis_cfg(target, "latency")
    samples, limit = int(cfg.get("samples", 20)), float(cfg.get("p95_max_ms", 120))
    rds.require(rds.redis.ping())  # connected before timing
    replies = rds.redis.pings(samples)
    failed = [r for r in replies if not r.ok]
    if failed:
        rds.require(failed[0])
    latencies = sorted(r.latency_ms for r in replies)
    value = p95(latencies)
    evidence.exchange(Exchange(
        request=f"redis PING ×{samples}", host=rds.redis.host, status="ok", latency_ms=round(value, 2),
        excerpt=f"p50 {latencies[len(latencies) // 2]:.2f} ms, p95 {value:.2f} ms, "
                f"max {latencies[-1]:.2f} ms",
        reproduce=rds.cli("--latency", "-i", "1")))
    evidence.note(samples=samples, p95_ms=round(value, 2), threshold_ms=limit)
    if value > limit:
        raise CheckFailed(f"p95 of {samples} PINGs is {value:.0f} ms, over {limit:g} ms (003 alarm): "
                          "every cache call pays it")


@pytest.mark.runbook("003", "RedisHighMemoryUsage", "Redis used memory under 90 % of maxmemory")
@pytest.mark.severity("warning")
@pytest.mark.remedy(REMEDY_MEMORY)
def test_redis_memory_below_alarm(rds, target, evidence):
    limit = float(redis_cfg(target, "memory").get("max_used_ratio", 0.9))
    memory = memory_of(rds.info("used_memory", "maxmemory", "total_system_memory", "maxmemory_policy",
                                required=("used_memory", "maxmemory")))
    evidence.note(used_memory=memory.used, limit=memory.limit, limit_kind=memory.limit_kind,
                  ratio=round(memory.ratio, 4) if memory.ratio is not None else None, threshold=limit)
    if memory.ratio is None:
        raise Inconclusive("INFO reports neither maxmemory nor total_system_memory: no limit to compare")
    if memory.ratio > limit:
        raise CheckFailed(f"used_memory {memory.used / 2**20:.1f} MB is {memory.ratio:.0%} of "
                          f"{memory.limit_kind} {memory.limit / 2**20:.1f} MB, over {limit:.0%} (003 alarm)")


@pytest.mark.runbook("003", "RedisHighMemoryUsage",
                     "an eviction policy (maxmemory-policy) is set when maxmemory limits Redis")
@pytest.mark.severity("warning")
@pytest.mark.remedy(REMEDY_MEMORY)
def test_redis_eviction_policy_set(rds, target, evidence):
    cfg = redis_cfg(target, "memory")
    memory = memory_of(rds.info("maxmemory", "maxmemory_policy", required=("maxmemory", "maxmemory_policy")))
    allowed = cfg.get("policies")
    evidence.note(maxmemory=memory.maxmemory, policy=memory.policy, allowed=allowed or "any but noeviction")
    if not memory.maxmemory:
        pytest.skip("maxmemory is 0 (no limit): no eviction policy applies")
    if allowed and memory.policy not in allowed:
        raise CheckFailed(f"maxmemory-policy is {memory.policy}, expected one of {', '.join(allowed)}")
    if not allowed and memory.policy == "noeviction":
        raise CheckFailed(f"maxmemory is {memory.maxmemory / 2**20:.0f} MB with maxmemory-policy noeviction: "
                          "at the limit every write fails with OOM instead of evicting")


@pytest.mark.runbook("003", "RedisLowCacheHitRatio", "Redis keyspace hit ratio at least 80 %")
@pytest.mark.severity("warning")
@pytest.mark.remedy("003 RedisLowCacheHitRatio: redis-cli INFO stats for hits/misses; raise the TTLs "
                    "(MCP_CACHE_TTL_SECONDS); keep dynamic data out of the cache")
def test_redis_hit_ratio(rds, target, evidence):
    cfg = redis_cfg(target, "hit_ratio")
    minimum, min_lookups = float(cfg.get("min", 0.8)), int(cfg.get("min_lookups", 1000))
    info = rds.info("keyspace_hits", "keyspace_misses", required=("keyspace_hits", "keyspace_misses"))
    hits, misses = int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0))
    lookups = hits + misses
    evidence.note(keyspace_hits=hits, keyspace_misses=misses, min_lookups=min_lookups, threshold=minimum)
    if lookups < min_lookups:
        raise Inconclusive(f"only {lookups} keyspace lookups since Redis started (fewer than "
                           f"{min_lookups}): too few to judge the hit ratio")
    ratio = hits / lookups
    evidence.note(hit_ratio=round(ratio, 4))
    if ratio < minimum:
        raise CheckFailed(f"keyspace hit ratio is {ratio:.0%} ({hits} hits, {misses} misses), under "
                          f"{minimum:.0%} (003 alarm): most lookups go past the cache")


@pytest.mark.runbook("004", "Metrics to Track", "Redis rejected no connections (maxclients not reached)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Redis Connection Failure: the pool is exhausted — check connected_clients "
                    "against maxclients (redis-cli INFO clients), the services' pool sizes "
                    "(redis_connection_pool_size > 80 % alarm) and leaking connections")
def test_redis_no_rejected_connections(rds, target, evidence):
    limit = int(target.section("redis").get("max_rejected_connections", 0))
    info = rds.info("rejected_connections", "connected_clients", "maxclients",
                    required=("rejected_connections",))
    rejected = int(info.get("rejected_connections", 0))
    evidence.note(rejected_connections=rejected, connected_clients=info.get("connected_clients"),
                  maxclients=info.get("maxclients"), threshold=limit)
    if rejected > limit:
        raise CheckFailed(f"rejected_connections is {rejected} since Redis started (limit {limit}): "
                          f"clients were turned away at maxclients ({info.get('maxclients', '?')})")


def pytest_generate_tests(metafunc):
    if "queue" in metafunc.fixturenames:
        target = target_of(metafunc.config)
        celery = ((target.section("redis") if target else None) or {}).get("celery") or {}
        metafunc.parametrize("queue", celery.get("queues", []))


@pytest.mark.runbook("004", "Celery Worker Not Processing Tasks", "the Celery queue is not growing")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Celery Worker Not Processing Tasks: kubectl get pods -l app=celery-worker and "
                    "its logs; kubectl rollout restart deployment/celery-worker")
def test_celery_queue_length(rds, target, queue, evidence):
    cfg = require_section(target, "redis.celery")
    sep, steps = cfg.get("sep", "\x06\x16"), cfg.get("priority_steps", [0, 3, 6, 9])
    limit = int(cfg.get("max_length", 100))
    # kombu puts a task with a priority in '<queue><sep><step>'; LLEN of the queue alone misses it.
    names = [queue] + [f"{queue}{sep}{step}" for step in steps if step]
    lengths = rds.queue_lengths(names)
    total = sum(lengths.values())
    by_list = {k.replace(sep, "<sep>"): v for k, v in lengths.items()}
    evidence.note(queue=queue, waiting=total, by_list=by_list, threshold=limit)
    if not total and rds.queue_declared(queue, sep) is None:
        # An empty queue is an absent key: without kombu's binding, a wrong queue name, database
        # or broker would read as "0 waiting" (issue 17: absent is never a pass)
        raise Inconclusive(f"Celery queue {queue!r} is empty and not declared on this Redis (no "
                           "_kombu.binding.* set names it): the profile may point at another "
                           "database or broker, or the queue name is wrong",
                           remedy="check redis.url's database and redis.celery.queues against the "
                                  "workers' broker_url and task queues (celery -A app inspect active_queues)")
    if total > limit:
        priority = total - lengths[queue]
        raise CheckFailed(f"Celery queue {queue!r} holds {total} waiting tasks ({lengths[queue]} in the "
                          f"list, {priority} in its priority lists), over {limit}: workers are not "
                          "keeping up")


@pytest.mark.runbook("004", "Pre-Deployment", "Redis persistence healthy: the last background save succeeded")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 Redis Connection Failure: redis-cli INFO persistence and the Redis log — a "
                    "failed save is a full disk, a read-only volume or too little memory to fork")
def test_redis_persistence_ok(rds, target, evidence):
    if not target.section("redis").get("persistence", False):
        pytest.skip("redis.persistence is not true: persistence is not expected in this target")
    info = rds.info("rdb_last_bgsave_status", "rdb_last_save_time", "aof_enabled",
                    "aof_last_write_status", "aof_last_bgrewrite_status",
                    required=("rdb_last_bgsave_status",))
    bad = [f"{k}={info.get(k)}" for k in ("rdb_last_bgsave_status",) if info.get(k) != "ok"]
    if info.get("aof_enabled"):
        bad += [f"{k}={info.get(k)}" for k in ("aof_last_write_status", "aof_last_bgrewrite_status")
                if info.get(k) not in ("ok", None)]
    evidence.note(**{k: info.get(k) for k in ("rdb_last_bgsave_status", "aof_enabled",
                                               "aof_last_write_status")})
    if bad:
        raise CheckFailed(f"Redis persistence is failing ({', '.join(bad)}): a restart would lose "
                          "what was written since the last good save")

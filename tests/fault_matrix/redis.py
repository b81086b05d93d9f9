"""Fault matrix rows of the redis area (runs `-m redis` on a stack with the redis part)."""

from __future__ import annotations

from tests.fault_matrix import Row

PARTS = ("redis",)
# Every redis check but the exposure probe needs the server.
NEEDS_REDIS = ["test_redis_ping", "test_redis_set_get_del", "test_redis_latency_p95",
               "test_redis_memory_below_alarm", "test_redis_eviction_policy_set", "test_redis_hit_ratio",
               "test_redis_no_rejected_connections", "test_celery_queue_length[celery]",
               "test_redis_persistence_ok", "test_redis_requires_auth"]


def row(faults: str, exit_code: int, verdict: str, failing: dict[str, str] | None = None) -> Row:
    return Row(faults, exit_code, verdict, failing or {}, markers="redis", parts=PARTS)


ROWS: list[Row] = [
    row("", 0, "GO"),
    # Redis stopped: every check that needs it fails naming the refused connection.
    row("redis_down", 2, "ROLLBACK", dict.fromkeys(NEEDS_REDIS, "Connection refused")),
    row("redis_read_only_replica", 2, "ROLLBACK", {
        "test_redis_set_get_del": "You can't write against a read only replica",
    }),
    row("redis_no_auth", 2, "ROLLBACK", {
        "test_redis_requires_auth": "answered PONG to a PING without credentials",
    }),
    row("redis_memory_near_max", 4, "INVESTIGATE", {
        "test_redis_memory_below_alarm": "% of maxmemory 8.0 MB, over 90% (003 alarm)",
        "test_redis_eviction_policy_set": "maxmemory is 8 MB with maxmemory-policy noeviction",
    }),
    row("redis_low_hit_ratio", 4, "INVESTIGATE", {
        "test_redis_hit_ratio": "misses), under 80% (003 alarm)",
    }),
    row("redis_slow", 4, "INVESTIGATE", {
        "test_redis_latency_p95": "ms, over 120 ms (003 alarm)",
    }),
    row("redis_rejected_connections", 4, "INVESTIGATE", {
        "test_redis_no_rejected_connections": "rejected_connections is 1 since Redis started (limit 0)",
    }),
    row("celery_backlog", 4, "INVESTIGATE", {
        "test_celery_queue_length[celery]": "Celery queue 'celery' holds 250 waiting tasks (50 in the "
                                            "list, 200 in its priority lists), over 100",
    }),
    row("redis_bgsave_failing", 4, "INVESTIGATE", {
        "test_redis_persistence_ok": "Redis persistence is failing (rdb_last_bgsave_status=err)",
    }),
    row("redis_port_exposed", 2, "ROLLBACK", {
        "test_redis_port_not_public": "Redis port answers on a public address: 127.0.0.2:",
    }),
]

# Signal absent: INFO lacks the fields the checks read. None of those checks passes; each is
# Inconclusive naming the missing field (PING, SET/GET/DEL and the latency still answer).
SPARSE = "reports no "
ROWS.append(Row("redis_info_sparse", 4, "INVESTIGATE", {}, markers="redis", parts=PARTS,
                signal_absent=True, inconclusive={
                    "test_redis_memory_below_alarm": SPARSE + "used_memory, maxmemory: what it measures",
                    "test_redis_eviction_policy_set": SPARSE + "maxmemory, maxmemory_policy",
                    "test_redis_hit_ratio": SPARSE + "keyspace_hits, keyspace_misses",
                    "test_redis_no_rejected_connections": SPARSE + "rejected_connections",
                    "test_redis_persistence_ok": SPARSE + "rdb_last_bgsave_status",
                }))

# Signal absent: the queue's key is absent and nothing declares the queue on this Redis.
ROWS.append(Row("celery_queue_undeclared", 4, "INVESTIGATE", {}, markers="redis", parts=PARTS,
                signal_absent=True, inconclusive={
                    "test_celery_queue_length[celery]": "Celery queue 'celery' is empty and not declared "
                                                        "on this Redis (no _kombu.binding.* set names it)"}))

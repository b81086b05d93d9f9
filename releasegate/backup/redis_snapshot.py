"""Redis snapshot rehearsal: pull an RDB, verify it, load it into a throwaway server, compare.

``redis-cli --rdb FILE`` asks the live server for a snapshot as a replica would (the server forks
and streams it; nothing is written to the live server's keys). ``redis-check-rdb`` verifies the
file ("RDB looks OK!", exit 0). The file is then loaded at start by a throwaway redis-server with
at least as many databases as the live one, and compared: DBSIZE per database (the live count is
read just before and just after the snapshot, so live writes in between are bounded) and the type
and TTL of sampled keys.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import redis as redis_lib

from releasegate.backup.files import first_error
from releasegate.backup.runner import run_tool
from releasegate.backup.tools import ToolMissing, redis_tool
from releasegate.core.errors import ServerUnavailable
from releasegate.servers import Provider


@dataclass
class RedisRehearsal:
    error: str = ""  # could not even start (tool missing, no throwaway server)
    error_kind: str = ""
    snapshot: dict[str, Any] = field(default_factory=dict)  # ok, error, bytes, duration_s, argv
    check: dict[str, Any] = field(default_factory=dict)  # redis-check-rdb: ok, line
    loaded: dict[str, Any] = field(default_factory=dict)  # ok, error, server
    keyspace: dict[str, Any] = field(default_factory=dict)  # db -> before/after/restored
    samples: dict[str, Any] = field(default_factory=dict)  # compared, mismatches

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RedisRehearsal:
        return cls(**data)


def _cli_args(url: str) -> tuple[list[str], dict[str, str]]:
    """redis-cli connection arguments; the password goes in REDISCLI_AUTH, never on argv."""
    parts = urlsplit(url)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    env = dict(os.environ)
    if parts.username:
        args += ["--user", unquote(parts.username)]
    if parts.password:
        env["REDISCLI_AUTH"] = unquote(parts.password)
    if parts.scheme == "rediss":
        args.append("--tls")
    return args, env


def _keyspace(client: redis_lib.Redis) -> dict[int, int]:
    info = client.info("keyspace")
    return {int(k[2:]): int(v["keys"]) for k, v in info.items() if k.startswith("db")}


def _databases(client: redis_lib.Redis, seen: dict[int, int]) -> int:
    """How many databases the live server has (CONFIG GET may be refused on managed services)."""
    try:
        value = client.config_get("databases").get("databases")
        if value:
            return int(value)
    except redis_lib.RedisError:
        pass
    return max(16, max(seen, default=0) + 1)


def _sample(client: redis_lib.Redis, db_keys: int, limit: int) -> list[bytes]:
    keys: list[bytes] = []
    cursor = 0
    while len(keys) < min(limit, db_keys):
        cursor, batch = client.scan(cursor=cursor, count=max(10, limit))
        keys += batch
        if cursor == 0:
            break
    return keys[:limit]


def rehearse_redis(url: str, provider: Provider, *, sample_keys: int = 200,
                   timeout_s: float = 300.0, tolerance_pct: float = 1.0,
                   socket_timeout_s: float = 10.0) -> RedisRehearsal:
    result = RedisRehearsal()
    try:
        cli, check_rdb = redis_tool("redis-cli"), redis_tool("redis-check-rdb")
    except ToolMissing as exc:
        result.error, result.error_kind = str(exc), "tool"
        return result
    live = redis_lib.Redis.from_url(url, socket_timeout=socket_timeout_s,
                                    socket_connect_timeout=socket_timeout_s)
    with tempfile.TemporaryDirectory(prefix="rg-rdb-") as tmp:
        rdb = Path(tmp) / "snapshot.rdb"
        args, env = _cli_args(url)
        try:
            before = _keyspace(live)
            databases = _databases(live, before)
        except redis_lib.RedisError as exc:
            result.snapshot = {"ok": False, "error": f"live Redis: {' '.join(str(exc).split())}"}
            live.close()
            return result
        argv = [cli, *args, "--rdb", str(rdb)]
        run = run_tool(argv, env, timeout_s)
        after = _keyspace(live)
        size = rdb.stat().st_size if rdb.exists() else 0
        result.snapshot = {"ok": run.ok and size > 0, "error": run.error or (
            "" if size else "redis-cli --rdb wrote nothing"), "bytes": size,
            "duration_s": round(run.duration_s, 3), "databases": databases,
            "argv": ["redis-cli", "-u", url, "--rdb", "snapshot.rdb"]}
        if not result.snapshot["ok"]:
            live.close()
            return result
        verify = run_tool([check_rdb, str(rdb)], env, timeout_s, merge_stdout=True)
        said = [ln for ln in verify.stderr_tail if ln.strip()]
        ok_line = next((ln for ln in said if "RDB looks OK" in ln), "")
        bad_line = next((ln for ln in said if "RDB ERROR" in ln or "error" in ln.lower()), "")
        result.check = {"ok": verify.ok and bool(ok_line),
                        "line": ok_line if verify.ok and ok_line else (
                            bad_line or verify.error or first_error("\n".join(said))),
                        "argv": ["redis-check-rdb", "snapshot.rdb"]}
        if not result.check["ok"]:
            live.close()
            return result
        try:
            with provider.redis(rdb=rdb, databases=databases) as server:
                result.loaded = {"ok": True, "server": f"{provider.describe()}, redis "
                                                       f"{server.version}"}
                _compare(result, live, server.url, before, after, sample_keys, tolerance_pct,
                         socket_timeout_s)
        except ServerUnavailable as exc:
            result.loaded = {"ok": False, "error": str(exc)}
            result.error, result.error_kind = f"no throwaway Redis to load the snapshot: {exc}", \
                "server"
        except redis_lib.RedisError as exc:
            result.loaded = {"ok": False, "error": " ".join(str(exc).split())}
    live.close()
    return result


def _compare(result: RedisRehearsal, live: redis_lib.Redis, restored_url: str,
             before: dict[int, int], after: dict[int, int], sample_keys: int,
             tolerance_pct: float, socket_timeout_s: float) -> None:
    restored = redis_lib.Redis.from_url(restored_url, socket_timeout=socket_timeout_s)
    try:
        loaded = _keyspace(restored)
        keyspace: dict[str, Any] = {}
        for db in sorted(set(before) | set(after) | set(loaded)):
            low = min(before.get(db, 0), after.get(db, 0))
            high = max(before.get(db, 0), after.get(db, 0))
            slack = high * tolerance_pct / 100.0
            got = loaded.get(db, 0)
            keyspace[f"db{db}"] = {"live_before": before.get(db, 0), "live_after": after.get(db, 0),
                                   "restored": got,
                                   "ok": low - slack <= got <= high + slack}
        result.keyspace = keyspace
        mismatches: list[str] = []
        compared = 0
        for db, count in sorted(after.items()):
            live_db = live if db == 0 else redis_lib.Redis(
                connection_pool=redis_lib.ConnectionPool(
                    **{**live.connection_pool.connection_kwargs, "db": db}))
            restored_db = restored if db == 0 else redis_lib.Redis(
                connection_pool=redis_lib.ConnectionPool(
                    **{**restored.connection_pool.connection_kwargs, "db": db}))
            try:
                for key in _sample(live_db, count, sample_keys):
                    live_type = live_db.type(key)
                    if live_type == b"none":
                        continue  # expired or deleted since: nothing to compare
                    compared += 1
                    got_type = restored_db.type(key)
                    if got_type == b"none" and live_db.pttl(key) >= 0:
                        continue  # a volatile key that expired before the load
                    live_ttl, got_ttl = live_db.pttl(key), restored_db.pttl(key)
                    name = f"db{db}:{key.decode('utf-8', 'replace')[:60]}"
                    if got_type != live_type:
                        mismatches.append(f"{name} is {got_type.decode()} in the snapshot, "
                                          f"{live_type.decode()} live")
                    elif (live_ttl < 0) != (got_ttl < 0) and got_ttl != -2:
                        mismatches.append(f"{name} TTL {got_ttl} ms restored, {live_ttl} ms live")
            finally:
                if db != 0:
                    live_db.close()
                    restored_db.close()
        result.samples = {"compared": compared, "mismatches": mismatches[:20],
                          "mismatch_count": len(mismatches)}
    finally:
        restored.close()

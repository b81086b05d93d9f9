"""The floor for the data and redis suites: the same queries and commands, by bare psycopg and redis-py.

Usage: python benches/floor_data.py DSN REDIS_URL

What `releasegate run -m "data or redis"` asks the reference stack, without the gate around it:
one autocommit psycopg connection running each query once (no read-only transaction, no
SET LOCAL, no ROLLBACK), one redis-py client sending each command once, and the two exposure
probes. The SQL texts of the session check and the privilege check are imported from
releasegate.postgres.session (strings only: no engine code runs). Prints {"work_s": …}; exit 1 when a query or
command fails.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from urllib.parse import urlsplit

import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from releasegate.postgres.session import SESSION_FACTS, WRITE_PRIVILEGES

ENDPOINTS = ("/fixtures", "/standings", "/injuries", "/teams")
CORE = ("core.fixtures", "core.standings", "core.injuries")
PAIRS = (("/fixtures", "core.fixtures"), ("/standings", "core.standings"),
         ("/injuries", "core.injuries"), ("/teams", "core.teams"))
QUERIES: list[tuple[str, object]] = [
    (SESSION_FACTS, None),
    (WRITE_PRIVILEGES, None),
    ("SELECT EXISTS (SELECT 1 FROM raw.api_responses) AS has_rows, (SELECT reltuples::bigint FROM pg_class "
     "WHERE oid = 'raw.api_responses'::regclass) AS estimated_rows", None),
    *((("SELECT count(*) FILTER (WHERE fetched_at > now() - interval '1 day') AS cnt_24h, "
        "max(fetched_at) AS last_fetched, extract(epoch FROM now() - max(fetched_at))::float8 AS age_s "
        "FROM raw.api_responses WHERE endpoint = %s"), [e]) for e in ENDPOINTS),
    ("SELECT fetched_at, response_headers->>%(daily)s AS daily_remaining, response_headers->>%(minute)s "
     "AS minute_remaining FROM raw.api_responses WHERE response_headers ? %(daily)s OR response_headers ? "
     "%(minute)s ORDER BY fetched_at DESC LIMIT 5",
     {"daily": "x-ratelimit-requests-remaining", "minute": "X-RateLimit-Remaining"}),
    *((f"SELECT count(*) AS rows FROM (SELECT 1 FROM {t} LIMIT %s) s", [1]) for t in CORE),
    *((f"SELECT (SELECT count(*) FROM raw.api_responses WHERE endpoint = %s AND fetched_at > now() - %s * "
       f"interval '1 second') AS raw_rows, (SELECT max(updated_at) FROM {t}) AS core_last_update, "
       f"extract(epoch FROM now() - (SELECT max(updated_at) FROM {t}))::float8 AS core_age_s", [e, 3600])
      for e, t in PAIRS),
    ("SELECT count(*) AS rows, max(calculated_at) AS last_calculated, extract(epoch FROM now() - "
     "max(calculated_at))::float8 AS age_s FROM mart.coverage_status", None),
    ("SELECT league_id, season, endpoint, overall_coverage FROM mart.coverage_status WHERE "
     "overall_coverage < %s ORDER BY overall_coverage, league_id LIMIT 20", [80]),
    ("SELECT job_id, COUNT(*) AS total, SUM(CASE WHEN completed THEN 1 ELSE 0 END) AS completed "
     "FROM core.backfill_progress GROUP BY job_id ORDER BY job_id", None),
    ("SELECT job_id, task_key, updated_at, last_error, extract(epoch FROM now() - updated_at)::float8 "
     "AS idle_s FROM core.backfill_progress WHERE completed = FALSE AND updated_at < now() - %s * "
     "interval '1 second' ORDER BY updated_at LIMIT 50", [21600]),
    ("SELECT job_id, task_key, last_error, updated_at FROM core.backfill_progress WHERE "
     "starts_with(last_error, %s) ORDER BY updated_at DESC LIMIT 50", ["missing_teams_in_core:"]),
    ("SELECT completed, COUNT(*) FROM core.team_bootstrap_progress GROUP BY completed", None),
    # the reference profile's declared assertions (reference/data.py ASSERTIONS)
    ("SELECT max(fetched_at) AS newest FROM raw.api_responses", None),
    ("SELECT id FROM raw.api_responses WHERE fetched_at > now() - interval '1 hour'", None),
    ("SELECT id, endpoint, status_code FROM raw.api_responses WHERE status_code >= 400 AND fetched_at > "
     "now() - interval '1 hour'", None),
    ("SELECT count(*) AS fixtures FROM core.fixtures", None),
    ("SELECT league_id, season, endpoint, overall_coverage FROM mart.coverage_status WHERE "
     "overall_coverage < 50", None),
    ("SELECT count(*) FROM core.backfill_progress WHERE NOT completed", None),
    ("SELECT count(*) FROM core.backfill_progress WHERE last_error LIKE 'missing_teams_in_core:%'", None),
]


def probe(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def run(dsn: str, redis_url: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql, params in QUERIES:
            conn.execute(sql, params).fetchall()
    probe("127.0.0.2", urlsplit(dsn).port or 5432)
    with redis.Redis.from_url(redis_url, protocol=2, socket_timeout=2) as r:
        r.ping()
        r.info()
        r.set("releasegate:floor", "v", ex=60)
        r.get("releasegate:floor")
        r.delete("releasegate:floor")
        for _ in range(9):
            r.ping()
        pipe = r.pipeline(transaction=False)
        for name in ("celery", "celery\x06\x163", "celery\x06\x166", "celery\x06\x169"):
            pipe.llen(name)
        pipe.execute()
    parts = urlsplit(redis_url)
    # No retries: redis-py 8 retries an AuthenticationError (a ConnectionError) with backoff by
    # default, ~3.7 s for this one refused PING; a competent bare script turns that off too.
    bare = redis.Redis(host=parts.hostname, port=parts.port, protocol=2, socket_timeout=2,
                       retry=Retry(NoBackoff(), 0))
    try:
        bare.ping()
    except redis.AuthenticationError:
        pass
    finally:
        bare.close()
    probe("127.0.0.2", parts.port or 6379)


def main() -> int:
    started = time.perf_counter()
    try:
        run(sys.argv[1], sys.argv[2])
    except (psycopg.Error, redis.RedisError) as exc:
        print(f"floor_data: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"work_s": round(time.perf_counter() - started, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

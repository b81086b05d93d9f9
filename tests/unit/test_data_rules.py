"""Declared-assertion rules, messages and helpers of the data and redis engines (no servers)."""

from __future__ import annotations

import socket
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import redis

from releasegate.core.evidence import jsonable
from releasegate.net.exposure import OPEN, REFUSED, UNRESOLVED, probe_port
from releasegate.postgres.privileges import summarize_write_privileges
from releasegate.postgres.session import QueryResult, endpoint_of
from releasegate.postgres.view import evaluate, human_age, rows_excerpt
from releasegate.redis.engine import describe_error
from releasegate.redis.facts import memory_of, p95, shell_arg, without_userinfo

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def result(columns, rows, truncated=False):
    return QueryResult("SELECT …", columns=list(columns), rows=[tuple(r) for r in rows], truncated=truncated)


@pytest.mark.parametrize(("expect", "columns", "rows", "broken"), [
    ({"min_rows": 2}, ["id"], [[1]], "1 rows, expected at least 2"),
    ({"max_rows": 1}, ["id"], [[1], [2]], "2 rows, expected at most 1"),
    ({"no_rows": True}, ["id", "x"], [[7, "a"]], "1 rows, expected none (first: id=7, x=a)"),
    ({"equals": 0}, ["count"], [[3]], "count is 3, expected 0"),
    ({"equals": "ok"}, ["s"], [["error"]], "s is error, expected ok"),
    ({"at_least": 10}, ["n"], [[Decimal("9.5")]], "n is 9.5, expected at least 10"),
    ({"at_most": 10, "column": "b"}, ["a", "b"], [[1, 11]], "b is 11, expected at most 10"),
    ({"at_most": 1}, ["n"], [["many"]], "n is many, not a number to compare with 1"),
    ({"max_age_s": 3600}, ["t"], [[NOW - timedelta(hours=2)]],
     "t = 2026-11-24 10:00:00+00:00 is 2h 0m old, expected at most 1h 0m"),
    ({"max_age_s": 3600}, ["t"], [[None]], "t is empty (NULL): nothing was ever recorded"),
    ({"max_age_s": 60}, ["d"], [[date(2026, 11, 23)]],
     "d = 2026-11-23 00:00:00+00:00 is 1d 12h old, expected at most 1m"),
    ({"max_age_s": 60}, ["t"], [["yesterday"]], "t is not a timestamp (yesterday)"),
    ({"equals": 1, "column": "nope"}, ["a"], [[1]], "no column 'nope' in the result (columns: a)"),
    ({"equals": 1}, ["a"], [], "no rows, so no value of a to compare"),
])
def test_each_expectation_names_what_it_saw(expect, columns, rows, broken):
    assert evaluate(expect, result(columns, rows), NOW) == [broken]


def test_expectations_that_hold_break_nothing():
    rows = [[NOW - timedelta(minutes=5), 3], [NOW - timedelta(days=3), 1]]
    expect = {"min_rows": 1, "max_rows": 2, "max_age_s": 600, "equals": NOW - timedelta(minutes=5)}
    assert evaluate({k: v for k, v in expect.items() if k != "equals"}, result(["t", "n"], rows), NOW) == []
    assert evaluate({"equals": 3, "column": "n"}, result(["t", "n"], rows), NOW) == []
    assert evaluate({"equals": True}, result(["b"], [[True]]), NOW) == []
    assert evaluate({"no_rows": True}, result(["x"], []), NOW) == []


def test_a_truncated_result_counts_as_over_max_rows():
    assert evaluate({"max_rows": 1000}, result(["id"], [[i] for i in range(1000)], truncated=True), NOW) \
        == ["1000+ rows, expected at most 1000"]


def test_rows_excerpt_shows_count_and_first_rows():
    text = rows_excerpt(result(["a", "t"], [[i, NOW] for i in range(7)]))
    assert text.splitlines()[0] == "7 rows"
    assert "a=0, t=2026-11-24 12:00:00+00:00" in text and text.endswith("… 2 more")


@pytest.mark.parametrize(("seconds", "text"), [(50, "50s"), (125, "2m 5s"), (3725, "1h 2m"),
                                               (200000, "2d 7h"), (-3, "0s")])
def test_human_age(seconds, text):
    assert human_age(seconds) == text


def test_write_privileges_in_one_line():
    rows = [("table", "core.a", "INSERT, UPDATE"), ("table", "core.b", "INSERT, UPDATE"),
            ("schema", "public", "CREATE"), ("default privileges", "core", "INSERT on future objects of x"),
            ("role membership", "pg_write_all_data", "member (writes every table)")]
    assert summarize_write_privileges(rows) == (
        "member of pg_write_all_data; CREATE on schema public; INSERT, UPDATE on 2 tables core.a, core.b; "
        "INSERT on future objects of x on default privileges in core")
    superuser = [("role attribute", "p", "SUPERUSER"), ("role attribute", "p", "CREATEDB"), *rows]
    assert summarize_write_privileges(superuser) == "SUPERUSER, CREATEDB (every privilege)"


@pytest.mark.parametrize(("dsn", "host"), [
    ("postgresql://u:p@db.internal:6432/app", "db.internal:6432"),
    ("host=10.0.0.5 dbname=app user=u", "10.0.0.5:5432"),
    ("postgresql:///app", "localhost:5432"),
])
def test_endpoint_of_dsn(dsn, host):
    assert endpoint_of(dsn) == host


def test_jsonable_turns_database_values_into_json_types():
    assert jsonable({"t": NOW, "d": Decimal("1.5"), "b": b"x", "s": {1}}) == \
        {"t": "2026-11-24T12:00:00+00:00", "d": 1.5, "b": "x", "s": [1]}


def test_p95_and_memory():
    assert p95([1.0]) == 1.0
    assert p95([float(i) for i in range(1, 21)]) == pytest.approx(19.05)
    capped = memory_of({"used_memory": 90, "maxmemory": 100, "maxmemory_policy": "allkeys-lru"})
    assert (capped.ratio, capped.limit_kind) == (0.9, "maxmemory")
    unlimited = memory_of({"used_memory": 10, "maxmemory": 0, "total_system_memory": 1000})
    assert (unlimited.ratio, unlimited.limit_kind) == (0.01, "total_system_memory")
    assert memory_of({"used_memory": 1}).ratio is None


def test_shell_arg_and_urls():
    assert shell_arg("celery\x06\x163") == "$'celery\\x06\\x163'"
    assert shell_arg("it's") == "'it'\"'\"'s'"
    assert without_userinfo("redis://:pw@h:6379/0") == "redis://h:6379/0"
    assert without_userinfo("rediss://user:pw@h/1") == "rediss://h/1"


def test_redis_errors_are_classified():
    assert describe_error(redis.AuthenticationError("Authentication required."), "h:1")[2]
    text, unreachable, _ = describe_error(redis.ConnectionError("Error 111 connecting to h:1. Connection "
                                                                "refused."), "h:1")
    assert unreachable and text.startswith("Error 111")
    assert describe_error(redis.TimeoutError("Timeout reading"), "h:1")[0].startswith("no answer from h:1")


def test_port_probe_tells_open_from_refused():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert probe_port("127.0.0.1", port, 1).outcome == OPEN
        assert probe_port("127.0.0.2", port, 1).outcome == REFUSED  # bound to 127.0.0.1 only
    assert probe_port("no-such-host.invalid", 5432, 1).outcome == UNRESOLVED

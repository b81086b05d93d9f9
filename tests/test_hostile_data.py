"""Unreachable, silent, malformed and hostile Postgres and Redis give failed checks with one line
each — never a hang, a crash or an INTERNALERROR — and one bad query fails only its own check.

The suites run in a subprocess as a user would run them; the bound on each run is computed from
the profile's limits: the first query or command that goes unanswered marks the server dead for
the run, so a silent server costs one deadline, not one per check.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from releasegate.redis.engine import RedisLimits, RedisTarget
from releasegate.reference.stack import running_stack
from tests import hostile, hostile_data
from tests.hostile import MB, HostileServer
from tests.support import SuiteRun, run_suites, write_profile

CONNECT_S, STATEMENT_S = 1, 1
PG_DEADLINE_S = STATEMENT_S + 2  # releasegate.postgres.session.PgLimits.deadline_s
REDIS_COMMAND_S = 1
STARTUP_S = 10  # interpreter, pytest, plugin and report start-up, with margin for a busy machine
RUN_BOUND_S = STARTUP_S + PG_DEADLINE_S + CONNECT_S + 2 * (CONNECT_S + REDIS_COMMAND_S)
# Bounds on the checks' own time (junit.xml), which the limits above govern; the wall clock with
# interpreter start-up only sizes the subprocess's timeout (a busy runner's start-up is not ours).
CHECKS_BOUND_S = RUN_BOUND_S - STARTUP_S + 2
REFUSED_BOUND_S = 3  # a refused connection answers at once: every check together, with slack


def profile(tmp_path: Path, dsn: str, redis_url: str) -> Path:
    return write_profile(tmp_path / "hostile.yaml", {
        "name": "hostile",
        "database": {"dsn": dsn, "connect_timeout_s": CONNECT_S, "statement_timeout_s": STATEMENT_S,
                     "raw": {"max_age_s": {"/fixtures": 3600}}, "coverage": {},
                     "assertions": [{"name": "anything", "sql": "SELECT 1", "expect": {"equals": 1}}]},
        "redis": {"url": redis_url, "connect_timeout_s": CONNECT_S, "command_timeout_s": REDIS_COMMAND_S,
                  "latency": {"samples": 5}, "celery": {"queues": ["celery"]}, "auth_required": True},
    })


def run_bounded(path: Path, tmp_path: Path) -> tuple[SuiteRun, float]:
    started = time.monotonic()
    run = run_suites(path, tmp_path / "reports", "-m", "data or redis", timeout=RUN_BOUND_S * 3)
    return run, time.monotonic() - started


def assert_all_failed_one_line(run: SuiteRun, area: str, reason: str) -> None:
    assert "INTERNALERROR" not in run.stdout + run.stderr, run.stdout[-2000:]
    checks = [c for c in run.summary["checks"] if c["area"] == area and c["outcome"] != "skipped"]
    assert checks, run.stdout[-2000:]
    for check in checks:
        assert check["outcome"] == "failed", check
        assert "\n" not in check["message"]
        assert reason in check["message"], check


@pytest.fixture
def silent():
    with HostileServer(hostile.silent) as server:
        yield server


def test_silent_servers_fail_every_check_within_the_bound(tmp_path, silent):
    url = f"127.0.0.1:{silent.port}"
    run, _ = run_bounded(profile(tmp_path, f"postgresql://u@{url}/db", f"redis://{url}/0"), tmp_path)
    assert run.checks_s() < CHECKS_BOUND_S, f"{run.checks_s():.1f}s"
    assert run.summary["verdict"] == "ROLLBACK" and run.returncode == 2
    assert_all_failed_one_line(run, "data", "no answer within the connect timeout")
    assert_all_failed_one_line(run, "redis", "in time")


def test_postgres_that_stalls_after_the_handshake_is_cut_off_by_the_client_deadline(tmp_path):
    with HostileServer(hostile_data.pg_stalls_after_handshake) as pg:
        path = profile(tmp_path, f"postgresql://u@127.0.0.1:{pg.port}/db?sslmode=disable",
                       "redis://127.0.0.1:1/0")
        run, _ = run_bounded(path, tmp_path)
    assert run.checks_s() < CHECKS_BOUND_S, f"{run.checks_s():.1f}s"
    assert_all_failed_one_line(run, "data", f"gave no answer within {PG_DEADLINE_S}s (client deadline")


def test_postgres_port_answering_http_fails_with_the_protocol_error(tmp_path):
    with HostileServer(hostile_data.answers_http) as web:
        run, _ = run_bounded(profile(tmp_path, f"postgresql://u@127.0.0.1:{web.port}/db",
                                     "redis://127.0.0.1:1/0"), tmp_path)
    assert_all_failed_one_line(run, "data", "received invalid response to SSL negotiation: H")
    assert_all_failed_one_line(run, "redis", "Connection refused")


def test_refused_connections_fail_fast(tmp_path):
    run, _ = run_bounded(profile(tmp_path, "postgresql://u@127.0.0.1:1/db", "redis://127.0.0.1:1/0"),
                         tmp_path)
    # the checks' own time, not the wall clock with interpreter start-up (a busy runner's)
    assert run.checks_s() < REFUSED_BOUND_S, run.checks_s()
    assert_all_failed_one_line(run, "data", "Connection refused")
    assert_all_failed_one_line(run, "redis", "Connection refused")


@pytest.mark.parametrize("handler", [hostile_data.redis_flood(64 * MB), hostile_data.redis_trickle(0.1)],
                         ids=["flood", "trickle"])
def test_redis_reply_is_capped_and_bounded(handler):
    with HostileServer(handler) as server:
        target = RedisTarget(f"redis://127.0.0.1:{server.port}/0",
                             RedisLimits(connect_s=1, command_s=1, reply_bytes=MB))
        started = time.monotonic()
        reply = target.ping()
        took = time.monotonic() - started
        again = target.info()
    assert not reply.ok and reply.cut_off, reply
    assert took < 1 + 1 + 1, took  # connect + command deadline, one read interval of slack
    assert server.bytes_sent < 16 * MB  # the client stopped reading: the flood was not swallowed
    assert again.error == reply.error and again.latency_ms == 0  # not asked again


def test_a_broken_query_fails_only_its_own_check(tmp_path):
    with running_stack(only=("data",)) as stack:
        data = yaml.safe_load(stack.profile_path.read_text())
        data["database"]["statement_timeout_s"] = 0.5
        data["database"]["assertions"] += [
            {"name": "missing_table", "sql": "SELECT count(*) FROM core.nope", "expect": {"equals": 0}},
            {"name": "missing_column", "sql": "SELECT nope FROM core.fixtures", "expect": {"min_rows": 1}},
            {"name": "too_slow", "sql": "SELECT pg_sleep(3)", "expect": {"min_rows": 1}},
            # a plain DELETE stops at load (profile_checks); one hidden in a WITH reaches the server
            {"name": "a_write", "sql": "WITH gone AS (DELETE FROM core.fixtures RETURNING 1) "
                                       "SELECT count(*) FROM gone", "expect": {"no_rows": True}},
        ]
        run = run_suites(write_profile(tmp_path / "broken.yaml", data), tmp_path / "reports", "-m", "data")
    failed = run.failed()
    assert set(failed) == {f"test_declared_assertion[{n}]"
                           for n in ("missing_table", "missing_column", "too_slow", "a_write")}, failed
    assert 'relation "core.nope" does not exist' in failed["test_declared_assertion[missing_table]"]
    assert 'column "nope" does not exist' in failed["test_declared_assertion[missing_column]"]
    assert "canceling statement due to statement timeout" in failed["test_declared_assertion[too_slow]"]
    assert "must not contain data-modifying statements" in failed["test_declared_assertion[a_write]"]
    assert sum(o == "passed" for o in run.outcomes().values()) == 30

"""Fixtures of the data area: one read-only Postgres session per run, verified before any check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target
from releasegate.gate.stash import state
from releasegate.postgres.session import PgSession
from releasegate.postgres.view import DataView, session_for


@pytest.fixture(scope="session")
def pg_session(target: Target) -> Iterator[PgSession]:
    session = session_for(target)  # N/A when the profile has no database section
    yield session
    session.close()


@pytest.fixture
def db(pg_session: PgSession, evidence: Evidence) -> DataView:
    """The session for this check, once it is known to be reachable and read-only.

    Nothing is queried before the session has shown, from inside a transaction, that the
    transaction is read-only: a check never runs on a session that could write. The role's
    write privileges are read from the catalogs at the same time, before any check's own query
    (test_role_cannot_write judges them); the checks still run, each in a READ ONLY transaction.
    """
    view = DataView(pg_session, evidence)
    facts = pg_session.session_facts()
    if not facts.ok:
        ex = view.exchange(facts)
        raise CheckFailed(f"database not usable: {facts.error}", cause=ex.key)
    read_only = facts.first("transaction_read_only")
    if read_only != "on":
        ex = view.exchange(facts)
        raise CheckFailed(f"refusing to query {pg_session.host}: the transaction is not read-only "
                          f"(transaction_read_only={read_only}) although it began READ ONLY",
                          cause=ex.key)
    pg_session.write_privileges()  # once per run, before anything else is asked
    return view


BASELINE_ENV = "RELEASEGATE_BASELINE_SUMMARY"


@pytest.fixture(scope="session")
def previous_summary(request: pytest.FixtureRequest) -> Path | None:
    """The summary.json the previous run left in this run's report directory (replaced only
    when this run ends): the baseline of checks that judge a change, such as 000 §5.3's drop.
    ``releasegate run --baseline`` puts this target's part of the run it names first
    (RELEASEGATE_BASELINE_SUMMARY, set by the command line; docs/fleet.md)."""
    given = os.environ.get(BASELINE_ENV)
    if given and Path(given).is_file():
        return Path(given)
    run = state(request.config)
    path = run.report_dir / "summary.json" if run else None
    return path if path and path.is_file() else None

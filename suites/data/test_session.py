"""Runbook 000 §1.1 / §2 / §5.5: the database is reachable, the session read-only, the role minimal."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.postgres.privileges import WRITE_PRIVILEGES, summarize_write_privileges
from releasegate.postgres.session import SESSION_FACTS

pytestmark = pytest.mark.data


@pytest.mark.smoke
@pytest.mark.runbook("000", "§2", "database reachable; releasegate's session is read-only with timeouts")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.1: DB access must work — check the DSN, that the server is up and the "
                    "network path to it (VPN or SSH tunnel, 000 §5.5)")
def test_database_reachable_and_read_only(db, evidence, record_fact):
    facts = db.query(SESSION_FACTS, what="session check").dicts()[0]
    evidence.note(**{k: v for k, v in facts.items() if k != "db_clock"})
    record_fact(database=f"{facts['role']}@{facts['database']} (PostgreSQL {facts['server_version']})")
    unset = [name for name in ("statement_timeout", "lock_timeout") if facts[name] in ("0", "0ms")]
    if unset:
        raise CheckFailed(f"{' and '.join(unset)} did not take effect inside the transaction "
                          f"({', '.join(f'{n}={facts[n]}' for n in unset)}): a query could run unbounded")
    if facts["application_name"] != "releasegate":
        raise CheckFailed(f"application_name is {facts['application_name']!r} inside the transaction, "
                          "expected 'releasegate': its sessions would not be recognisable in "
                          "pg_stat_activity")


@pytest.mark.runbook("000", "§5.5", "the DB user has minimum privileges: it cannot write")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §5.5: keep the DB user to the least privileges — give releasegate a role with "
                    "SELECT only: REVOKE INSERT, UPDATE, DELETE, TRUNCATE (and ownership, CREATE, "
                    "superuser) from it")
def test_role_cannot_write(db, target, evidence):
    if not target.section("database").get("expect_read_only_role", True):
        pytest.skip("database.expect_read_only_role is false: the role may write in this target")
    found = db.query(WRITE_PRIVILEGES, what="privilege check")
    evidence.note(write_privileges=len(found.rows))
    if found.rows:
        role = db.session.session_facts().first("role")
        raise CheckFailed(f"role {role} can write ({summarize_write_privileges(found.rows)}), read from "
                          "the catalogs without trying: only the read-only transaction stands between "
                          "the gate and the data")

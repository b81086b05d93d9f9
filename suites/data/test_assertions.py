"""Declared SQL assertions (profile: database.assertions), in the spirit of dbt's tests and source
freshness: a team adds its own checks without code, each its own item in the checklist."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.gate.stash import target_of
from releasegate.postgres.view import evaluate

pytestmark = pytest.mark.data


def _param(assertion):
    file, _, section = str(assertion.get("runbook", "000 §2")).partition(" ")
    marks = [pytest.mark.severity(assertion.get("severity", "warning")),
             pytest.mark.runbook(file, section or "§2",
                                 assertion.get("description") or "declared SQL assertion holds")]
    if assertion.get("remedy"):
        marks.append(pytest.mark.remedy(assertion["remedy"]))
    return pytest.param(assertion, id=assertion["name"], marks=marks)


def pytest_generate_tests(metafunc):
    if "assertion" in metafunc.fixturenames:
        target = target_of(metafunc.config)
        declared = (target.section("database.assertions") if target else None) or []
        metafunc.parametrize("assertion", [_param(a) for a in declared])


@pytest.mark.runbook("000", "§2", "declared SQL assertion holds")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §2: run the assertion's query by hand (the reproduce command in the evidence) "
                    "and follow the incident section it belongs to (000 §5)")
def test_declared_assertion(db, assertion, evidence):
    sql = assertion["sql"].strip().rstrip(";")
    result = db.query(sql, what=f"assertion {assertion['name']}", cursor_name="releasegate_assertion")
    broken = evaluate(assertion["expect"], result, db.session.now())
    evidence.note(assertion=assertion["name"], expect=dict(assertion["expect"]), rows=len(result.rows))
    if broken:
        raise CheckFailed(f"{assertion['name']}: {'; '.join(broken)}")

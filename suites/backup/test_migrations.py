"""Runbook 004 "Alembic Migration", rehearsed on the restored replica — never on the target."""

from __future__ import annotations

import pytest

from releasegate.backup.migrations import AlembicResult
from releasegate.core.errors import CheckFailed
from releasegate.core.profile import require_section

pytestmark = pytest.mark.backup


def _alembic(backup, target) -> tuple[AlembicResult, str]:
    __tracebackhide__ = True
    require_section(target, "backup.alembic")
    kind = backup.plan.alembic_on
    result = backup.restored(kind)
    if result.alembic is None:  # pragma: no cover - the plan always rehearses on this kind
        raise CheckFailed(f"no alembic rehearsal was made on the {kind} replica")
    alembic = AlembicResult.from_dict(result.alembic)
    backup.evidence.note(replica=kind, heads=alembic.heads, expected=alembic.expected,
                         current=alembic.current, alembic_version_table=alembic.stored)
    if alembic.error:
        raise CheckFailed(f"on the restored {kind} replica: {alembic.error}")
    return alembic, kind


@pytest.mark.runbook("004", "Alembic Migration", "alembic current equals the expected head")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("004 Alembic Migration: run the migrations (kubectl exec -it api-pod -- "
                    "alembic upgrade head), then check `alembic current`")
def test_alembic_current_is_head(backup, target):
    alembic, kind = _alembic(backup, target)
    if alembic.current != alembic.expected:
        raise CheckFailed(f"alembic current on the restored {kind} replica is "
                          f"{', '.join(alembic.current) or 'no revision'}, expected "
                          f"{', '.join(alembic.expected)}: the database is not at the head "
                          "this release expects")


@pytest.mark.runbook("004", "Alembic Migration", "alembic downgrade -1 then upgrade head both "
                                                 "succeed (on a restored replica)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("004 Alembic Migration 'Rollback (if needed)': fix the migration's downgrade() "
                    "before relying on `alembic downgrade -1` to roll back")
def test_alembic_downgrade_and_upgrade(backup, target):
    alembic, kind = _alembic(backup, target)
    for step in (alembic.downgrade, alembic.upgrade):
        if step is None:
            continue
        backup.evidence.note(**{" ".join(step.command[-2:]): {
            "ok": step.ok, "alembic_version_after": step.version_after, "error": step.error}})
        if not step.ok:
            raise CheckFailed(f"`alembic {' '.join(step.command[-2:])}` on the restored {kind} "
                              f"replica failed: {step.error}")

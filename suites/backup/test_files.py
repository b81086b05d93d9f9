"""Runbook 001 §6.3 "Backup Verification" and 004 "Database Backup": the backup files themselves."""

from __future__ import annotations

import pytest

from releasegate.backup.files import retention
from releasegate.core.errors import CheckFailed
from releasegate.core.profile import require_section

pytestmark = pytest.mark.backup

FRESH_BACKUP = ("001 §6.3 Backup Command: take a backup now (pg_dump --no-owner --no-acl -F c -f "
                "backups/backup_pre_v1.0_$(date +%Y%m%d_%H%M%S).dump) and fix the daily job "
                "(004 Database Backup cron)")


@pytest.mark.smoke
@pytest.mark.runbook("001", "§6.3", "the backup file exists and is not empty")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(FRESH_BACKUP)
def test_latest_backup_exists_and_not_empty(backup):
    latest = backup.latest_file()
    if latest.size == 0:
        raise CheckFailed(f"the newest backup {latest.path.name} is empty (0 bytes): the dump "
                          "wrote nothing")


@pytest.mark.smoke
@pytest.mark.runbook("004", "Database Backup", "the daily backup ran: the newest is within max age")
@pytest.mark.severity("blocker")
@pytest.mark.remedy(FRESH_BACKUP)
def test_latest_backup_is_recent(backup):
    latest = backup.latest_file()
    max_age_h = float(backup.plan.get("files.max_age_h", 26))
    backup.evidence.note(age_h=round(latest.age_s / 3600, 2), max_age_h=max_age_h)
    if latest.age_s > max_age_h * 3600:
        raise CheckFailed(f"the newest backup {latest.path.name} is {latest.age_s / 3600:.1f} h old, "
                          f"over the {max_age_h:g} h limit: the backup job has not run")


@pytest.mark.runbook("001", "§6.3", "the backup is a valid, complete dump (header and footer, "
                                    "or an archive that reads through)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("001 §6.3 Backup Verification: the dump is unusable — take a new one (Backup "
                    "Command) and find why the job cut it short (disk space, job timeout)")
def test_latest_backup_is_complete(backup):
    latest = backup.latest_file()
    result = backup.completeness(latest)
    if not result.ok:
        what = f" ({latest.format}, {latest.size} bytes)" if latest.size else ""
        raise CheckFailed(f"{latest.path.name}{what} {result.detail}")


@pytest.mark.runbook("001", "§6.3", "backup automation keeps the last N days "
                                    "(find -mtime +7 -delete)")
@pytest.mark.severity("warning")
@pytest.mark.remedy("001 §6.3 Backup Automation: fix the cleanup step of the backup script "
                    '(find "$BACKUP_DIR" -name "backup_*" -mtime +7 -delete) and the schedule')
def test_backup_retention_kept(backup, target):
    require_section(target, "backup.files")
    policy = backup.plan.get("files.retention", {})
    found = backup.plan.backups()
    kept = retention(found, float(policy.get("max_days", 7)), int(policy.get("min_count", 1)))
    backup.evidence.note(kept=kept.kept, max_days=kept.max_days, min_count=kept.min_count,
                         too_old=[b.path.name for b in kept.too_old])
    if kept.violations:
        raise CheckFailed(f"retention violated: {'; '.join(kept.violations)}")

"""Runbook 002 §9.1 "Deploy Öncesi": the DB snapshot of the pilot tables, taken before deploying."""

from __future__ import annotations

import pytest

from releasegate.backup.files import (
    archive_tables,
    check_plain,
    find_backups,
    list_archive,
    parse_time,
    plain_tables,
)
from releasegate.backup.tools import PgTools, newest_client_major
from releasegate.core.errors import CheckFailed
from releasegate.core.evidence import Exchange
from releasegate.core.profile import require_section

pytestmark = pytest.mark.backup


def _qualified(name: str) -> str:
    return name if "." in name else f"public.{name}"


@pytest.mark.runbook("002", "§9.1", "DB snapshot before deploy holds exactly the named tables "
                                    "(pg_dump -t incidents -t jobs)")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("002 §9.1: take the snapshot before deploying: pg_dump -t incidents -t jobs "
                    "> backup.sql (every table the rollback in §9.2 needs)")
def test_pre_deploy_dump_holds_named_tables(backup, target):
    section = require_section(target, "backup.pre_deploy")
    found = find_backups(backup.plan.path(section["path"]))
    if not found:
        raise CheckFailed(f"no pre-deploy dump at {section['path']}: nothing to roll the pilot "
                          "data back to")
    dump = found[0]
    if dump.format in ("plain", "plain-gzip"):
        whole = check_plain(dump.path, gz=dump.format == "plain-gzip")
        if not whole.ok:
            raise CheckFailed(f"pre-deploy dump {dump.path.name} {whole.detail}")
        tables = plain_tables(dump.path, gz=dump.format == "plain-gzip")
        taken = dump.mtime
        argv = ["grep", "^CREATE TABLE", str(dump.path)]
    else:
        tools = PgTools.for_server(newest_client_major())
        code, lines, error = list_archive(tools.pg_restore, dump.path, 120)
        if code != 0:
            raise CheckFailed(f"pre-deploy dump {dump.path.name}: pg_restore --list failed: {error}")
        tables = archive_tables(lines)
        created = next((ln.split("Archive created at", 1)[1].strip() for ln in lines
                        if "Archive created at" in ln), None)
        taken = parse_time(created) if created else dump.mtime
        argv = ["pg_restore", "--list", str(dump.path)]
    wanted = {_qualified(t) for t in section["tables"]}
    backup.evidence.exchange(Exchange(request=" ".join(argv[:2]) + f" {dump.path.name}",
                                      host="backup file", status="ok",
                                      excerpt=", ".join(sorted(tables)),
                                      reproduce=backup.evidence.command(argv)))
    backup.evidence.note(dump=dump.as_dict(), expected_tables=sorted(wanted),
                         dumped_tables=sorted(tables))
    missing, extra = sorted(wanted - tables), sorted(tables - wanted)
    if missing or extra:
        said = "; ".join(filter(None, [f"missing {', '.join(missing)}" if missing else "",
                                       f"not asked for {', '.join(extra)}" if extra else ""]))
        raise CheckFailed(f"pre-deploy dump {dump.path.name} does not hold exactly "
                          f"{', '.join(sorted(wanted))}: {said}")
    started = section.get("deploy_started_at")
    if started:
        deploy = parse_time(str(started))  # its format was checked when the profile loaded
        backup.evidence.note(dump_taken=taken, deploy_started=deploy)
        if taken > deploy:
            raise CheckFailed(f"pre-deploy dump {dump.path.name} was taken "
                              f"{(taken - deploy) / 60:.1f} min after the deploy started: it holds "
                              "post-deploy data, not the state to roll back to")

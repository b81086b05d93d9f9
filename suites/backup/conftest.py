"""Fixtures of the backup area: one plan per run; each rehearsal made once and shared (also
between pytest-xdist workers), its throwaway servers gone before any check judges it."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from releasegate.backup.plan import BackupPlan
from releasegate.backup.view import BackupView
from releasegate.core.evidence import Evidence
from releasegate.core.profile import Target, require_section


def _progress_writer(config: pytest.Config) -> Callable[[str], None]:
    """Progress lines reach the terminal while pytest captures output (on an xdist worker they
    go to its stderr)."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def write(line: str) -> None:
        if capture is None:
            print(line, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():
            print(line, file=sys.stderr, flush=True)

    return write


@pytest.fixture(scope="session")
def backup_plan(target: Target, pytestconfig: pytest.Config,
                tmp_path_factory: pytest.TempPathFactory) -> BackupPlan:
    require_section(target, "backup")
    worker = getattr(pytestconfig, "workerinput", None)
    shared = tmp_path_factory.getbasetemp().parent / "releasegate-backup" if worker else None
    return BackupPlan(target, shared, _progress_writer(pytestconfig))


@pytest.fixture
def backup(backup_plan: BackupPlan, evidence: Evidence, record_fact, record_note) -> BackupView:
    return BackupView(backup_plan, evidence, record_fact, record_note)

"""The backup profile section: strict, documented defaults, resolved into rehearsal options."""

from __future__ import annotations

import pytest

from releasegate.backup.plan import BackupPlan
from releasegate.core.errors import ProfileError
from releasegate.core.profile import load_target
from releasegate.servers.local import LocalProvider
from tests.support import write_profile


def profile(tmp_path, backup: dict, **env: str):
    path = write_profile(tmp_path / "t.yaml", {"name": "t", "backup": backup})
    return load_target(path, env=env)


@pytest.mark.parametrize("backup,where", [
    ({"files": {"path": "b", "max_age": 3}}, "backup.files: unknown key 'max_age'"),
    ({"restore": {"rto_min": 0}}, "backup.restore.rto_min: 0 is less than or equal to the minimum"),
    ({"restore": {"provider": "kubernetes"}}, "backup.restore.provider: 'kubernetes' is not one of"),
    ({"pre_deploy": {"path": "x.sql", "tables": []}}, "backup.pre_deploy.tables: [] should be non-empty"),
    ({"source": {}}, "backup.source: 'dsn' is a required property"),
    ({"alembic": {"config": "a.ini", "url_env": "not a var"}},
     "backup.alembic.url_env: 'not a var' does not match"),
])
def test_the_section_is_strict(tmp_path, backup, where):
    with pytest.raises(ProfileError) as caught:
        profile(tmp_path, backup)
    assert where in str(caught.value) and "\n" not in str(caught.value)


def test_defaults_and_paths_relative_to_the_profile(tmp_path):
    target = profile(tmp_path, {
        "source": {"dsn": "${RG_DSN}"}, "files": {"path": "backups"}, "fresh": {},
        "restore": {"provider": "local", "queries": [{"sql": "SELECT 1", "equals": 1}]},
        "alembic": {"config": "app/alembic.ini"}},
        RG_DSN="postgresql://u:pw-for-the-test@db:5432/app")
    plan = BackupPlan(target)
    assert plan.source_dsn == "postgresql://u:pw-for-the-test@db:5432/app"
    assert plan.fresh_enabled and plan.rto_s == 900 and plan.alembic_on == "fresh"
    assert plan.path("backups") == str(tmp_path / "backups")
    assert isinstance(plan.provider(), LocalProvider)
    fresh, latest = plan.options("fresh"), plan.options("latest")
    assert (fresh.jobs, fresh.timeout_s, fresh.lock_wait_timeout_s, fresh.count_tolerance_pct) == \
        (2, 3600, 60, 10)
    assert fresh.queries[0].equals == "1" and fresh.queries[0].min_rows == 1
    assert fresh.alembic is not None and latest.alembic is None  # migrations on one replica only
    assert str(fresh.alembic.config) == str(tmp_path / "app" / "alembic.ini")
    assert "pw-for-the-test" in target.secrets


def test_fresh_off_and_latest_only(tmp_path):
    plan = BackupPlan(profile(tmp_path, {"files": {"path": "/b"}, "fresh": {"enabled": False},
                                         "alembic": {"config": "a.ini"}}))
    assert not plan.fresh_enabled and plan.alembic_on == "latest"

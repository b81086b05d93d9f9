"""The team's own check: it counts in the verdict and shows in the report like a built-in one."""

import pytest

from releasegate.core.profile import require_section


@pytest.mark.health  # the area it belongs to (pytest --markers lists them)
@pytest.mark.smoke
@pytest.mark.runbook("team-runbook", "§2", "/version names a released commit")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("redeploy from a tagged commit; /version must name it")
def test_version_names_a_commit(target, http_target_factory, evidence):
    fetch = evidence.http(http_target_factory(require_section(target, "health")).fetch("/version"))
    commit = fetch.expect_status(200).json().get("commit", "")
    evidence.note(expected="a 7-40 hex commit", seen=commit)
    assert len(commit) >= 7, f"/version reports commit {commit!r}, not a released one"

"""Plain pytest from a team's own directory (issue 16 §2, §3, §8): the installed suites and the
team's own checks run together; help, markers and fixtures need no target; usage errors are 64.

The directory is examples/team-service (profile + schemas/ + checks/), copied out of the
repository, run against a small service this test serves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import REPO, SuiteRun, run_measured

EXAMPLE = REPO / "examples" / "team-service"
TOKEN = "svc-tok-5e4d3c2b1a"


class Service(BaseHTTPRequestHandler):
    """Healthy unless the class attribute ``commit`` says otherwise."""

    commit = "0123456789abcdef0123456789abcdef01234567"

    def do_GET(self) -> None:  # http.server calls do_<METHOD>
        bodies = {"/healthz/live": {"status": "alive"},
                  "/healthz/ready": {"status": "ready", "environment": "production",
                                     "db": {"status": "ok"}, "redis": {"status": "ok"}},
                  "/version": {"version": "1.4.2", "commit": type(self).commit},
                  "/health/ready": {"status": "ready", "build_id": f"git:{type(self).commit}"}}
        body = bodies.get(self.path.split("?")[0])
        data = json.dumps(body or {"error": "not found"}).encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def team_dir(tmp_path: Path) -> Path:
    """The example directory, outside the repository: no pyproject, no conftest of ours."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "team"))


def pytest_in(cwd: Path, *args: str, env: dict[str, str] | None = None) -> SuiteRun:
    """`pytest ARGS` typed in ``cwd``: the environment a shell there would give it."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("PYTEST_", "RELEASEGATE_TARGET", "GITHUB_STEP_SUMMARY"))}
    code, out, err, peak = run_measured([sys.executable, "-m", "pytest", *args], cwd=cwd,
                                        env={**inherited, **(env or {})}, timeout=120)
    return SuiteRun(code, out, err, cwd / "reports", peak)


def _env(service: str) -> dict[str, str]:
    return {"SERVICE_URL": service, "SERVICE_TOKEN": TOKEN, "DEPLOY_ENV": "production"}


def test_smoke_from_a_team_directory_runs_the_suites_and_the_teams_own_checks(service, team_dir):
    run = pytest_in(team_dir, "-m", "smoke", "--target", "profile.yaml", "--verdict-exit-codes",
                    env=_env(service))
    assert run.returncode == 0, run.stdout[-3000:]
    outcomes = run.outcomes()
    assert outcomes["test_version_names_a_commit"] == "passed"  # the team's own, in the verdict
    assert outcomes["test_live_returns_200"] == "passed"  # an installed suite's
    own = next(c for c in run.summary["checks"] if c["id"].endswith("test_version_names_a_commit"))
    assert own["runbook"].startswith("team-runbook") and own["severity"] == "blocker"
    assert TOKEN not in run.outputs()
    assert "team-runbook" in (team_dir / "reports" / "report.html").read_text()


def test_the_teams_own_check_and_contract_count_in_the_verdict(service, team_dir, monkeypatch):
    monkeypatch.setattr(Service, "commit", "HEAD")
    run = pytest_in(team_dir, "-m", "health or readapi", "--target", "profile.yaml",
                    "--verdict-exit-codes", env=_env(service))
    failed = run.failed()
    assert run.summary["verdict"] == "ROLLBACK", run.stdout[-3000:]
    assert "not a released one" in failed["test_version_names_a_commit"]
    schema_fail = failed["test_endpoint_body_matches_schema[version]"]
    assert f"does not match {(team_dir / 'schemas' / 'version.schema.json').resolve()}" in schema_fail


@pytest.mark.parametrize("args", [["--markers"], ["--fixtures"], ["--help"]])
def test_help_markers_and_fixtures_need_no_target(tmp_path, args):
    run = pytest_in(tmp_path, *args)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback (most recent call last)" not in run.stdout + run.stderr
    if args == ["--markers"]:
        assert "@pytest.mark.smoke:" in run.stdout


def test_collect_only_lists_the_teams_checks_without_a_target(team_dir):
    run = pytest_in(team_dir, "--collect-only", "-q", "checks")
    assert run.returncode == 0, run.stdout[-2000:]
    assert "test_version_names_a_commit" in run.stdout


@pytest.mark.parametrize("with_target", [True, False], ids=["target", "no-target"])
def test_an_unknown_marker_is_a_usage_error(service, team_dir, with_target):
    target = ["--target", "profile.yaml"] if with_target else []
    run = pytest_in(team_dir, "-m", "smok", *target, "--verdict-exit-codes", env=_env(service))
    assert run.returncode == 64, run.stdout[-2000:]
    assert "did you mean 'smoke'?" in run.stdout + run.stderr


def test_a_second_target_is_refused_not_dropped(service, team_dir):
    run = pytest_in(team_dir, "-m", "smoke", "--target", "profile.yaml", "--target", "other.yaml",
                    "--verdict-exit-codes", env=_env(service))
    assert run.returncode == 64
    lines = [ln for ln in (run.stdout + run.stderr).splitlines() if "--target given 2 times" in ln]
    assert len(lines) == 1, run.stdout + run.stderr


def test_releasegate_run_passes_other_pytest_arguments_such_as_lf(service, team_dir, monkeypatch):
    monkeypatch.setattr(Service, "commit", "HEAD")
    cmd = [sys.executable, "-m", "releasegate.cli", "run", "--target", "profile.yaml", "-m", "health",
           "--report-dir", "reports", "checks"]
    env = {**os.environ, **_env(service)}
    first = subprocess.run(cmd, cwd=team_dir, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 2, first.stdout[-2000:] + first.stderr[-2000:]
    again = subprocess.run([*cmd, "--lf"], cwd=team_dir, env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 2, again.stdout[-2000:] + again.stderr[-2000:]
    assert "run-last-failure: rerun previous 1 failure" in again.stdout


@pytest.mark.parametrize(("given", "code"), [("git:0123456", 0), ("git:0123457", 2)])
def test_expect_build_matches_a_full_sha_by_its_prefix(service, team_dir, given, code):
    """Issue 16 §8: the pipeline passes the short SHA, the service reports the full one."""
    run = pytest_in(team_dir, "-m", "smoke", "--target", "profile.yaml", f"--expect-build={given}",
                    "--verdict-exit-codes", env=_env(service))
    assert run.returncode == code, run.stdout[-2000:]
    assert run.outcomes()["test_release_build_id_is_expected"] == ("passed" if code == 0 else "failed")

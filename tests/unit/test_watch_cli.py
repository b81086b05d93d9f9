"""The command line of the watch: usage errors are one line and exit 64; `stack fault` switches
only the faults the app reads per request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from releasegate.cli import main
from releasegate.reference.app import Settings, create_app
from releasegate.reference.faults import FAULTS, LIVE

EXIT_UNUSABLE = 64


def last_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("argv", [["watch"], ["stack", "fault"]], ids=" ".join)
def test_help(capsys, argv):
    assert main([*argv, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: releasegate {' '.join(argv)}")


def profile(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "t", **data}))
    return str(path)


@pytest.mark.parametrize(("data", "args", "needle"), [
    ({}, ["--for", "1s", "--every", "5s"], "must be at least one interval"),
    ({}, ["--every", "soon"], "not a duration"),
    ({"watch": {"for": "5 minutes"}}, [], "watch.for"),
    ({"watch": {"observations": [{"name": "x", "source": {"sql": "SELECT 1", "promql": "up"},
                                  "assert": {"above": 0}}]}}, [], "watch.observations"),
    ({}, [], "nothing to watch"),
], ids=["window-shorter-than-interval", "bad-duration", "bad-duration-in-profile",
        "two-sources", "nothing-to-watch"])
def test_watch_usage_errors_are_one_line_exit_64(capsys, tmp_path, data, args, needle):
    assert main(["watch", "--target", profile(tmp_path, data), "--report-dir", str(tmp_path), *args]) \
        == EXIT_UNUSABLE
    assert needle in last_line(capsys)


def test_resume_without_a_summary_is_exit_64(capsys, tmp_path):
    target = profile(tmp_path, {"health": {"base_url": "http://127.0.0.1:9"}})
    assert main(["watch", "--target", target, "--resume", "--report-dir", str(tmp_path / "none")]) \
        == EXIT_UNUSABLE
    assert "--resume: cannot read" in last_line(capsys)


def test_stack_fault_without_a_running_stack_is_one_line(capsys, tmp_path):
    target = profile(tmp_path, {"health": {"base_url": "http://127.0.0.1:9"}})
    assert main(["stack", "fault", "error_5xx_burst", "on", "--target", target]) == EXIT_UNUSABLE
    assert "does not answer" in last_line(capsys)


def test_live_faults_exist_and_the_app_switches_only_those():
    assert set(FAULTS) >= LIVE
    app = create_app(Settings(dsn="postgresql://nobody@127.0.0.1:9/x", redis_url="redis://127.0.0.1:9",
                              environment="staging", build_id="git:0", faults=frozenset()))
    client = TestClient(app)  # no lifespan: the switch needs no database
    on = client.post("/__reference/faults", json={"name": "error_5xx_burst", "on": True})
    assert on.status_code == 200 and on.json()["on"] == ["error_5xx_burst"]
    assert app.state.context.faults == {"error_5xx_burst"}  # the set every route reads
    refused = client.post("/__reference/faults", json={"name": "db_down", "on": True})
    assert refused.status_code == 409 and "cannot be switched" in refused.json()["detail"]
    off = client.post("/__reference/faults", json={"name": "error_5xx_burst", "on": False})
    assert off.json()["on"] == [] and client.get("/__reference/faults").json()["on"] == []


def test_resume_with_a_changed_profile_is_exit_64(capsys, tmp_path):
    from releasegate.watch.window import WindowState

    out = tmp_path / "out"
    out.mkdir()
    state = WindowState("t", 10.0, 1.0, 0.0)
    (out / "summary.json").write_text(json.dumps(state.to_dict()))
    target = profile(tmp_path, {"watch": {"observations": [
        {"name": "new_one", "source": {"promql": "up"}, "assert": {"above": 0}}]},
        "metrics": {"prometheus": {"base_url": "http://127.0.0.1:9"}}})
    assert main(["watch", "--target", target, "--resume", "--report-dir", str(out)]) == EXIT_UNUSABLE
    assert "new_one is new" in last_line(capsys)

"""Fleets end to end against the reference stack (issue 19): three targets — one healthy, one with
a fault, one unreachable — in one run and one report; the same fleet merged from three one-target
runs; a run compared with the previous healthy one lists exactly the check its fault broke."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from releasegate.reference.stack import running_stack
from tests import hostile
from tests.test_report_browser import CHROMIUM, render, text_of
from tests.unit.conftest import clean_env

RELEASEGATE = Path(sys.executable).with_name("releasegate")
FAULT = "wrong_environment"
BROKEN = "suites/health/test_probes.py::test_ready_reports_expected_environment"
# what differs between two runs of the same checks: times, and how many polls a wait took
VARYING = ("started_at", "duration_s", "evidence", "run_url")


def releasegate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(RELEASEGATE), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=clean_env())


@pytest.fixture(scope="module")
def stacks() -> Iterator[dict[str, Path]]:
    """A healthy stack, one with a fault, and a port nothing listens on (health parts only)."""
    with running_stack(only=("health",)) as healthy, \
            running_stack(FAULT, only=("health",)) as faulty, hostile.refused_port() as port:
        yield {"healthy": Path(healthy.profile_path), "faulty": Path(faulty.profile_path),
               "dead_url": f"http://127.0.0.1:{port}"}


def named(stacks: dict[str, Any], directory: Path) -> dict[str, Path]:
    """Each target as its own profile file under its own name."""
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, source in (("healthy", stacks["healthy"]), ("faulty", stacks["faulty"]),
                         ("dead", stacks["healthy"])):
        data = yaml.safe_load(source.read_text())
        data["name"] = name
        if name == "dead":
            data["health"]["base_url"] = stacks["dead_url"]
        out[name] = directory / f"{name}.yaml"
        out[name].write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def stable(node: Any) -> Any:
    """A summary without what differs between two runs of the same checks (times, latencies)."""
    if isinstance(node, dict):
        return {k: stable(v) for k, v in node.items() if k not in VARYING}
    if isinstance(node, list):
        return [stable(v) for v in node]
    if isinstance(node, str):
        return re.sub(r"after \d+ polls", "after N polls", node)
    return node


def test_three_targets_one_report_by_the_policy_the_dead_one_not_checked(tmp_path, stacks):
    profiles = named(stacks, tmp_path / "profiles")
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump({"name": "trio", "waves": [
        {"name": "canary", "targets": [str(profiles["healthy"])]},
        {"name": "rest", "targets": [str(profiles["faulty"]), str(profiles["dead"])]}]}))
    run = releasegate("run", f"--fleet={fleet}", "-m", "health", "-n", "2",
                      f"--report-dir={tmp_path / 'fleet'}", cwd=tmp_path)
    summary = json.loads((tmp_path / "fleet" / "summary.json").read_text())
    verdicts = {t["target"]: t["fleet_verdict"] for t in summary["targets"]}
    assert verdicts == {"healthy": "GO", "faulty": "ROLLBACK", "dead": "NOT CHECKED"}, run.stderr
    assert (summary["verdict"], run.returncode) == ("ROLLBACK", summary["exit_code"])
    assert [(w["name"], w["verdict"]) for w in summary["waves"]] == [("canary", "GO"), ("rest", "ROLLBACK")]
    faulty = next(t for t in summary["targets"] if t["target"] == "faulty")
    assert [c["id"] for c in faulty["checks"] if c["outcome"] == "failed"] == [BROKEN]
    assert summary["matrix"]["faulty"]["health"]["check"] == BROKEN
    assert summary["matrix"]["dead"]["health"]["outcome"] == "not_checked"
    assert summary["matrix"]["healthy"]["health"]["outcome"] == "passed"
    assert run.stdout.strip().splitlines()[-2].strip("= ").startswith("releasegate fleet trio: ROLLBACK")
    junit = (tmp_path / "fleet" / "junit.xml").read_text()
    assert junit.count("<testsuite ") == 3
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: the DOM half of this test needs it")
    dom = render(tmp_path / "fleet" / "report.html", tmp_path / "chromium")
    matrix = dom[dom.index('id="rg-matrix"'):]
    matrix = matrix[:matrix.index("</table>")]
    rows = {name: text_of(matrix[matrix.index(f'<tr data-target="{name}"'):]).split(" ")[:3]
            for name in ("healthy", "faulty", "dead")}
    assert rows["healthy"][:2] == ["healthy", "canary"] and rows["healthy"][2] == "GO"
    assert rows["faulty"][2] == "ROLLBACK" and rows["dead"][2] == "NOT"
    dead_row = matrix[matrix.index('<tr data-target="dead"'):]
    assert "not checked" in text_of(dead_row[:dead_row.index("</tr>")])
    deciding = f'href="#t-faulty-c{[c["id"] for c in faulty["checks"]].index(BROKEN)}"'
    assert deciding in matrix and deciding.split("#")[1].rstrip('"') in dom  # one click away


def test_merge_of_three_one_target_runs_is_the_fleet_run(tmp_path, stacks):
    profiles = named(stacks, tmp_path / "profiles")
    fleet = releasegate("run", *[f"--target={p}" for p in profiles.values()], "-m", "health",
                        "-n", "2", f"--report-dir={tmp_path / 'fleet'}", cwd=tmp_path)
    for name, profile in profiles.items():  # as three CI jobs would, each its own artifact
        releasegate("run", f"--target={profile}", "-m", "health",
                    f"--report-dir={tmp_path / 'artifacts' / name}", cwd=tmp_path)
    merged = releasegate("merge", str(tmp_path / "artifacts"), f"--report-dir={tmp_path / 'merged'}",
                         cwd=tmp_path)
    assert merged.returncode == fleet.returncode == 2, merged.stderr + fleet.stderr
    a = json.loads((tmp_path / "fleet" / "summary.json").read_text())
    b = json.loads((tmp_path / "merged" / "summary.json").read_text())
    order = {t["target"]: t for t in b["targets"]}  # merge reads the artifacts in name order
    b["targets"] = [order[t["target"]] for t in a["targets"]]
    b["matrix"] = {t["target"]: b["matrix"][t["target"]] for t in a["targets"]}
    assert stable(a) == stable(b)


def test_a_baseline_run_lists_exactly_the_check_the_fault_broke_as_new(tmp_path, stacks):
    profiles = named(stacks, tmp_path / "profiles")
    for name in ("healthy", "faulty"):  # the same service before and after the fault
        data = yaml.safe_load(profiles[name].read_text())
        data["name"] = "svc"
        profiles[name].write_text(yaml.safe_dump(data))
    before = releasegate("run", f"--target={profiles['healthy']}", "-m", "health",
                         f"--report-dir={tmp_path / 'runs' / '1'}", cwd=tmp_path)
    assert before.returncode == 0, before.stdout[-2000:]
    after = releasegate("run", f"--target={profiles['faulty']}", "-m", "health",
                        f"--baseline={tmp_path / 'runs'}", f"--report-dir={tmp_path / 'runs' / '2'}",
                        cwd=tmp_path)
    assert after.returncode == 2
    summary = json.loads((tmp_path / "runs" / "2" / "summary.json").read_text())
    [compared] = summary["baseline"]["targets"]
    assert compared["new_failures"] == [BROKEN]
    assert compared["fixed"] == compared["still_failing"] == compared["flapping"] == []
    assert f"NEW FAILURE: {BROKEN}" in after.stdout
    assert after.stdout.strip().splitlines()[-1].startswith("releasegate: ROLLBACK (exit 2)")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: the DOM half of this test needs it")
    dom = render(tmp_path / "runs" / "2" / "report.html", tmp_path / "chromium")
    marker = 'class="rg-new-failure" data-target="svc" data-check="'
    new = [part.split('"')[0] for part in dom.split(marker)[1:]]
    assert new == [BROKEN]
    assert dom.index('id="rg-baseline"') < dom.index('id="rg-failures"')  # first, under the verdict

"""Fleets without a target: the fleet file, the merge and its policy, the comparison with the last
run, the fleet's report, JUnit and history — from summaries as one-target runs write them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from releasegate.core.errors import ProfileError
from releasegate.fleet.compare import compare, lines, past_runs
from releasegate.fleet.history import history_html
from releasegate.fleet.merge import merge, summary_files
from releasegate.fleet.spec import load_fleet, write_profiles
from releasegate.gate.fleet import split_workers
from releasegate.gate.fleet_report import fleet_html, fleet_junit, fleet_markdown


def check(name: str, outcome: str = "passed", area: str = "health", latency: float = 5.0,
          unreachable: bool = False, **observed: float) -> dict[str, Any]:
    exchange: dict[str, Any] = {"request": f"GET http://h:1/{name}", "host": "h:1", "latency_ms": latency}
    if unreachable:
        exchange = {**exchange, "unreachable": True, "error": "connection refused", "latency_ms": None}
    return {"id": f"suites/{area}/test_x.py::{name}", "area": area, "runbook": "001 §6.1",
            "item": name, "severity": "blocker", "outcome": outcome, "message": "" if outcome ==
            "passed" else f"{name} broke", "evidence": {"requests": [exchange],
                                                        **({"observed": observed} if observed else {})}}


def summary(target: str, checks: list[dict[str, Any]], verdict: str = "GO", code: int = 0,
            started: str = "2026-12-06T09:00:00+00:00") -> dict[str, Any]:
    failed = [c for c in checks if c["outcome"] in ("failed", "error")]
    return {"target": target, "verdict": verdict, "exit_code": code,
            "reason": "all passed" if not failed else f"a blocker failed — {failed[0]['item']}",
            "deciding_check": failed[0]["id"] if failed else None,
            "counts": {"blockers_failed": len(failed), "passed": len(checks) - len(failed)},
            "started_at": started, "duration_s": 1.0, "suite_version": "0.1.0", "target_facts": {},
            "notes": [], "checks": checks}


HEALTHY = summary("healthy", [check("live"), check("ready"), check("leads", area="versioning")])
FAULTY = summary("faulty", [check("live"), check("ready", "failed"),
                            check("leads", area="versioning")], "ROLLBACK", 2)
DEAD = summary("dead", [check("live", "failed", unreachable=True),
                        check("ready", "failed", unreachable=True)], "ROLLBACK", 1)


# --- the fleet file --------------------------------------------------------------------------------


def test_a_fleet_file_merges_defaults_profile_and_overrides_into_each_target(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({"name": "base", "environment": "staging",
                                                        "health": {"base_url": "http://a:1"}}))
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump({
        "name": "rollout",
        "defaults": {"defaults": {"timeouts": {"connect": 1}}, "health": {"probes": {
            "live": {"path": "/healthz/live", "timeout_s": 1}}}},
        "waves": [{"name": "canary", "targets": [{"name": "eu", "profile": "base.yaml",
                                                  "expect_build": "git:abc1234"}]},
                  {"name": "rest", "targets": [{"name": "us", "profile": "base.yaml",
                                                "health": {"base_url": "${US_URL:-http://b:2}"}}]}]}))
    fleet = load_fleet(tmp_path / "fleet.yaml")
    assert [t.name for t in fleet.targets] == ["eu", "us"] and fleet.waves == ("canary", "rest")
    eu, us = fleet.targets
    assert eu.wave == "canary" and eu.expect_build == "git:abc1234"
    assert eu.data["health"] == {"base_url": "http://a:1", "probes": {
        "live": {"path": "/healthz/live", "timeout_s": 1}}}
    assert us.data["health"]["base_url"] == "${US_URL:-http://b:2}"  # expanded per target, later
    paths = write_profiles(fleet, tmp_path / "private")
    assert yaml.safe_load(paths["us"].read_text())["environment"] == "staging"
    assert paths["us"].parent == tmp_path  # beside its profile: relative paths resolve as before


@pytest.mark.parametrize(("content", "needle"), [
    ({"targets": []}, "targets: [] should be non-empty"),
    ({"name": "x"}, "(top level)"),
    ({"targets": [{"name": "a", "health": {"base_url": "http://a"}},
                  {"name": "a", "health": {"base_url": "http://b"}}]}, "two targets named 'a'"),
    ({"targets": [{"name": "a", "helth": {}}]}, "target 'a': (top level): unknown key 'helth'"),
    ({"targets": [{"name": "a", "health": {"base_url": "${NOPE_UNSET_VAR}"}}]},
     "environment variable NOPE_UNSET_VAR is not set"),
    ({"targets": [{"name": "bad name", "health": {"headers": {"Authorization": "Bearer s3cret"}}}]},
     "targets.0.name: 'bad name' does not match"),
    ({"targets": [{"profile": 7, "health": {"headers": {"Authorization": "Bearer s3cret"}}}]},
     "targets.0"),
])
def test_a_bad_fleet_file_is_one_line(tmp_path, content, needle):
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(ProfileError) as err:
        write_profiles(load_fleet(path), tmp_path / "private")
    assert needle in str(err.value) and "\n" not in str(err.value) and "s3cret" not in str(err.value)


@pytest.mark.parametrize(("args", "workers", "rest"), [
    (["-n", "3", "-m", "smoke"], 3, ["-m", "smoke"]),
    (["-n4", "--dist", "loadgroup"], 4, []),
    (["--numprocesses=2", "-k", "x"], 2, ["-k", "x"]),
    (["-m", "health"], 1, ["-m", "health"]),
])
def test_n_is_how_many_targets_run_at_once(args, workers, rest):
    assert split_workers(args) == (workers, rest)


# --- merge and the policy ----------------------------------------------------------------------------


def test_the_policy_any_rollback_and_an_unreachable_target_not_checked():
    fleet = merge([HEALTHY, FAULTY, DEAD], name="f")
    by = {t["target"]: t["fleet_verdict"] for t in fleet["targets"]}
    assert by == {"healthy": "GO", "faulty": "ROLLBACK", "dead": "NOT CHECKED"}
    assert (fleet["verdict"], fleet["exit_code"]) == ("ROLLBACK", 2)
    assert fleet["reason"].startswith("2 of 3 targets not GO — faulty ROLLBACK")
    assert fleet["matrix"]["faulty"]["health"] == {
        "outcome": "failed", "count": 1, "check": "suites/health/test_x.py::ready", "total": 2}
    assert fleet["matrix"]["dead"]["health"]["outcome"] == "not_checked"
    assert fleet["areas"] == ["health", "versioning"]
    blind = dict(DEAD, target="blind", verdict=None, exit_code=68, reason="no verdict: the runner "
                 "reached no host of the target")
    assert merge([HEALTHY, blind])["targets"][1]["fleet_verdict"] == "NOT CHECKED"
    without = merge([HEALTHY, DEAD])
    assert (without["verdict"], without["exit_code"]) == ("INVESTIGATE", 4)  # not verified ≠ GO


def test_waves_are_decided_each_and_the_first_bad_wave_names_the_reason():
    fleet = merge([HEALTHY, FAULTY], waves={"healthy": "canary", "faulty": "wave-2"},
                  wave_order=("canary", "wave-2"))
    assert [(w["name"], w["verdict"]) for w in fleet["waves"]] == [("canary", "GO"), ("wave-2", "ROLLBACK")]
    assert fleet["reason"].startswith("wave wave-2: ROLLBACK")


def test_merge_takes_directories_of_ci_artifacts_and_refuses_one_target_twice(tmp_path):
    for s in (HEALTHY, FAULTY):
        (tmp_path / s["target"]).mkdir()
        (tmp_path / s["target"] / "summary.json").write_text(json.dumps(s))
    files = summary_files([tmp_path])
    assert len(files) == 2
    again = merge([json.loads(f.read_text()) for f in files])
    assert merge([merge([HEALTHY]), FAULTY])["matrix"] == again["matrix"]  # a fleet summary merges too
    with pytest.raises(ProfileError, match="two summaries for target 'healthy'"):
        merge([HEALTHY, HEALTHY])


# --- compared with the last run ----------------------------------------------------------------------


def test_the_comparison_lists_new_fixed_still_failing_flapping_slower_and_values():
    older = summary("t", [check("a"), check("b", "failed"), check("c", "failed"), check("d", latency=40),
                          check("e", ratio=90.0)], "ROLLBACK", 2, "2026-12-04T00:00:00+00:00")
    before = summary("t", [check("a"), check("b", "failed"), check("c"), check("d", latency=40),
                           check("e", ratio=90.0)], "ROLLBACK", 2, "2026-12-05T00:00:00+00:00")
    now = summary("t", [check("a", "failed"), check("b", "failed"), check("c", "failed"),
                        check("d", latency=120), check("e", ratio=42.5)], "ROLLBACK", 2)
    result = compare(now, [older, before], path="runs/")
    t = result["targets"][0]
    ids = lambda names: [f"suites/health/test_x.py::{n}" for n in names]  # noqa: E731
    assert t["new_failures"] == ids("ac") and t["still_failing"] == ids("b")
    assert t["flapping"] == ids("c")  # failed, passed, failed again
    assert [s["id"] for s in t["slower"]] == ids("d") and t["slower"][0]["factor"] == 3.0
    assert t["values"] == [{"key": "suites/health/test_x.py::e: ratio", "before": 90.0, "after": 42.5}]
    assert "2 new failures" in lines(result)[0]
    fixed = compare(before, [older])["targets"][0]
    assert fixed["fixed"] == ids("c") and fixed["new_failures"] == []


def test_the_baseline_is_the_latest_run_in_a_directory(tmp_path):
    for day in ("04", "06", "05"):
        (tmp_path / day).mkdir()
        (tmp_path / day / "summary.json").write_text(json.dumps(
            summary("t", [check("a")], started=f"2026-12-{day}T00:00:00+00:00")))
    assert [r["started_at"][:10] for r in past_runs(tmp_path)] == ["2026-12-04", "2026-12-05", "2026-12-06"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProfileError, match=r"no summary\.json"):
        past_runs(tmp_path / "empty")


# --- the fleet's outputs -------------------------------------------------------------------------------


def test_the_report_starts_with_the_comparison_then_the_matrix_linked_to_the_deciding_check():
    fleet = merge([HEALTHY, FAULTY, DEAD], name="f")
    comparison = compare(fleet, [merge([HEALTHY, summary("faulty", [*FAULTY["checks"][:1], check("ready")]),
                                        DEAD])])
    page = fleet_html(fleet, comparison)
    assert page.index('id="rg-baseline"') < page.index('id="rg-matrix"') < page.index('id="t-healthy"')
    assert 'data-check="suites/health/test_x.py::ready"' in page
    row = page[page.index('<tr data-target="faulty"'):]
    row = row[:row.index("</tr>")]
    assert 'href="#t-faulty-c1"' in row and "FAIL" in row  # the cell links to the failed check
    assert 'id="t-faulty-c1"' in page
    dead = page[page.index('<tr data-target="dead"'):]
    assert "not checked" in dead[:dead.index("</tr>")]
    markdown = fleet_markdown(fleet, comparison)
    assert markdown.startswith("## releasegate fleet f: ROLLBACK (exit 2)")
    assert "NEW faulty: suites/health/test_x.py::ready" in markdown and "| faulty | ROLLBACK |" in markdown


def test_junit_has_one_suite_per_target():
    root = ElementTree.fromstring(fleet_junit(merge([HEALTHY, FAULTY, DEAD])))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["healthy", "faulty", "dead"]
    assert suites["faulty"].get("failures") == "1" and suites["healthy"].get("failures") == "0"
    assert suites["faulty"].find("testcase[@name='ready']/failure").get("message") == "ready broke"


def test_history_draws_each_targets_verdicts_as_inline_svg():
    runs = [merge([HEALTHY, FAULTY]), merge([HEALTHY, summary("faulty", HEALTHY["checks"])])]
    page = history_html(runs)
    row = page[page.index('<tr data-target="faulty"'):]
    assert row.count("<rect") == 2 and 'data-verdict="ROLLBACK"' in row and 'data-verdict="GO"' in row
    assert "<polyline" in row


def test_a_hundred_targets_merge_fast_into_a_report_under_5_mb():
    import time

    many = [dict(FAULTY, target=f"t{i:03d}") for i in range(100)]
    started = time.perf_counter()
    fleet = merge(many)
    page = fleet_html(fleet)
    assert time.perf_counter() - started < 2
    assert len(page.encode()) < 5_000_000 and len(fleet["targets"]) == 100


def test_write_profiles_are_private_and_removed(tmp_path):
    from releasegate.fleet.spec import remove_profiles

    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump({"targets": [
        {"name": "a", "health": {"base_url": "http://a:1", "headers": {"Authorization": "Bearer s3cret"}}}]}))
    paths = write_profiles(load_fleet(tmp_path / "fleet.yaml"), tmp_path / "fallback")
    assert paths["a"].parent == tmp_path and paths["a"].name.startswith(".releasegate-fleet-")
    assert oct(paths["a"].stat().st_mode)[-3:] == "600"
    remove_profiles(paths)
    assert not paths["a"].exists()


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch):
    import signal

    from releasegate.cli import main

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.delenv("RELEASEGATE_TARGET", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    yield main
    signal.signal(signal.SIGTERM, previous)


def test_merge_diff_and_history_on_the_command_line(tmp_path, cli, capsys):
    runs = tmp_path / "runs"
    for name, content in (("1", merge([HEALTHY, dict(FAULTY, checks=HEALTHY["checks"], verdict="GO",
                                                      exit_code=0, target="faulty")])),
                          ("2", merge([HEALTHY, FAULTY]))):
        (runs / name).mkdir(parents=True)
        content["started_at"] = f"2026-12-0{name}T00:00:00+00:00"
        (runs / name / "summary.json").write_text(json.dumps(content))
    (tmp_path / "jobs" / "a").mkdir(parents=True)
    (tmp_path / "jobs" / "b").mkdir(parents=True)
    (tmp_path / "jobs" / "a" / "summary.json").write_text(json.dumps(HEALTHY))
    (tmp_path / "jobs" / "b" / "summary.json").write_text(json.dumps(FAULTY))
    code = cli(["merge", str(tmp_path / "jobs"), f"--report-dir={tmp_path / 'fleet'}",
                f"--baseline={runs / '1' / 'summary.json'}"])
    out = capsys.readouterr().out
    assert code == 2
    assert out.strip().splitlines()[-2].strip("= ").startswith("releasegate fleet fleet: ROLLBACK")
    merged = json.loads((tmp_path / "fleet" / "summary.json").read_text())
    [faulty] = [t for t in merged["baseline"]["targets"] if t["target"] == "faulty"]
    assert faulty["new_failures"] == ["suites/health/test_x.py::ready"]
    assert {p.name for p in (tmp_path / "fleet").iterdir()} >= {"report.html", "junit.xml", "summary.json"}
    assert cli(["diff", str(runs / "1" / "summary.json"), str(runs / "2" / "summary.json")]) == 0
    assert "NEW FAILURE: suites/health/test_x.py::ready" in capsys.readouterr().out
    assert cli(["history", str(runs)]) == 0
    assert (runs / "history.html").read_text().count('<tr data-target="') == 2


def test_a_bad_fleet_or_missing_summary_is_one_line_and_exit_64(tmp_path, cli, capsys):
    (tmp_path / "fleet.yaml").write_text("targets: nope\n")
    assert cli(["run", f"--fleet={tmp_path / 'fleet.yaml'}", f"--report-dir={tmp_path / 'r'}"]) == 64
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fleet file" in err[0] and "targets" in err[0]
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["verdict"] is None
    assert cli(["merge", str(tmp_path / "nothing")]) == 64
    assert capsys.readouterr().err.strip() == f"releasegate: {tmp_path / 'nothing'} does not exist"
    assert cli(["run", f"--target={tmp_path / 'fleet.yaml'}", f"--baseline={tmp_path / 'none'}",
                f"--report-dir={tmp_path / 'r'}"]) == 64


def test_a_slow_target_holds_only_its_own_worker(tmp_path):
    """The scheduler: with 2 workers, three quick targets all finish while a slow one runs."""
    import time

    from releasegate.fleet.spec import Fleet, FleetTarget
    from releasegate.gate.fleet import run_targets

    targets = tuple(FleetTarget(n, {"name": n}) for n in ("slow", "a", "b", "c"))
    done: list[str] = []

    def run_one(profile: Path, out: str, extra: list[str]) -> int:
        time.sleep(1.5 if profile.name == "slow" else 0.05)
        return 4 if profile.name == "c" else 0

    codes = run_targets(Fleet("f", targets), {t.name: tmp_path / t.name for t in targets}, tmp_path,
                        [], 2, run_one, lambda line: done.append(line.split(":")[0]))
    assert codes == {"slow": 0, "a": 0, "b": 0, "c": 4}
    assert done[-1] == "slow"  # a, b and c went through the other worker meanwhile
    assert (tmp_path / "targets" / "c" / "output.txt").is_file()  # each child's own output


def test_the_example_fleet_loads():
    fleet = load_fleet(Path(__file__).resolve().parents[2] / "fixtures" / "fleets" / "hunter-rollout.yaml")
    assert [(t.name, t.wave) for t in fleet.targets] == [
        ("staging", "staging"), ("prod-eu", "canary"), ("prod-us", "everywhere")]
    us = fleet.targets[2].data
    assert us["health"]["base_url"] == "${HUNTER_PROD_US_URL}" and us["environment"] == "production"
    assert us["health"]["headers"] == {"Authorization": "Bearer ${HUNTER_PROBE_TOKEN}"}  # its profile's


def test_baseline_reaches_the_checks_that_judge_a_change(tmp_path, monkeypatch):
    """--baseline gives 000 §5.3's drop this target's part of the baseline run, for the run only."""
    from releasegate.gate.fleet import BASELINE_ENV
    from releasegate.gate.fleet_commands import one

    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({"name": "healthy", "health": {"base_url": "http://h:1"}}))
    seen: dict[str, Any] = {}

    def run_one(target: Path, report_dir: str, extra: list[str]) -> int:
        seen.update(json.loads(Path(os.environ[BASELINE_ENV]).read_text()))
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        (Path(report_dir) / "summary.json").write_text(json.dumps(FAULTY | {"target": "healthy"}))
        return 2

    assert one(str(profile), str(tmp_path / "r"), [], run_one, [merge([HEALTHY, FAULTY])], "b") == 2
    assert seen["target"] == "healthy" and seen["checks"] == HEALTHY["checks"]
    assert BASELINE_ENV not in os.environ
    compared = json.loads((tmp_path / "r" / "summary.json").read_text())["baseline"]["targets"][0]
    assert compared["new_failures"] == ["suites/health/test_x.py::ready"]

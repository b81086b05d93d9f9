"""releasegate.cli: the command line in-process, and the installed console script once for real."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from releasegate.cli import main
from releasegate.gate.plugin import EXIT_UNUSABLE
from releasegate.reference.faults import FAULTS
from tests.unit.conftest import clean_env
from tests.unit.summary_schema import validate_summary

CONSOLE_SCRIPT = Path(sys.executable).with_name("releasegate")


@pytest.fixture(autouse=True)
def _restore_sigterm(monkeypatch):
    """main() installs a SIGTERM handler; keep this test process's own."""
    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.delenv("RELEASEGATE_TARGET", raising=False)
    yield
    signal.signal(signal.SIGTERM, previous)


def stderr_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("releasegate: ")
    return lines[0]


def test_stack_faults_lists_every_fault(capsys):
    assert main(["stack", "faults"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert listed == list(FAULTS)
    for fault in FAULTS.values():
        assert fault.breaks in out
        assert f"[{fault.runbook}]" in out


def test_a_reader_that_goes_away_is_not_a_crash():
    """`releasegate stack faults | head -1`: no traceback, exit 0 (the listing did its job)."""
    proc = subprocess.Popen([str(CONSOLE_SCRIPT), "stack", "faults"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=clean_env(), bufsize=0)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the console script has started: its first write finds no reader
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_stack_faults_are_described_in_english():
    turkish = re.compile(r"[çğışöüÇĞİŞÖÜ]|\b(Beklenen|Kontrol|Amaç|Durum)\b")
    for fault in FAULTS.values():
        assert not turkish.search(f"{fault.breaks} {fault.runbook}"), fault


def test_run_without_target(capsys):
    assert main(["run"]) == EXIT_UNUSABLE
    line = stderr_line(capsys)
    assert "--target" in line and "RELEASEGATE_TARGET" in line


def test_run_with_target_from_environment_is_validated(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("RELEASEGATE_TARGET", str(tmp_path / "missing.yaml"))
    assert main(["run"]) == EXIT_UNUSABLE
    assert "missing.yaml" in stderr_line(capsys)


@pytest.mark.parametrize(("text", "expect"), [
    ("name: unit\nhelth: {}\n", "unknown key 'helth'"),
    ("name: unit\nhealth:\n  base_url: ${RG_CLI_UNSET}\n", "RG_CLI_UNSET"),
    ("name: unit\n  bad: indent\n", "line 2"),
])
def test_run_with_bad_profile(capsys, tmp_path, text, expect):
    profile = tmp_path / "bad.yaml"
    profile.write_text(text)
    assert main(["run", "--target", str(profile)]) == EXIT_UNUSABLE
    line = stderr_line(capsys)
    assert str(profile) in line
    assert expect in line


def test_demo_with_unknown_fault(capsys):
    assert main(["demo", "--faults", "db_down,nope"]) == EXIT_UNUSABLE
    line = stderr_line(capsys)
    assert "nope" in line
    for name in FAULTS:
        assert name in line


def test_stack_up_with_unknown_fault(capsys):
    assert main(["stack", "up", "--faults", "nope"]) == EXIT_UNUSABLE
    assert "unknown fault nope" in stderr_line(capsys)


@pytest.mark.parametrize("argv", [[], ["demo"], ["run"], ["stack"], ["stack", "up"], ["stack", "faults"]],
                         ids=lambda a: " ".join(a) or "top")
def test_help_of_each_command(capsys, argv):
    assert main([*argv, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: releasegate {' '.join(argv)}".rstrip())


@pytest.mark.parametrize("command", ["run", "demo"])
def test_run_and_demo_help_list_releasegates_own_options(capsys, command):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--report-dir", "--expect-build", "--allow-mutations", "-m EXPR", "-n auto"):
        assert option in out, option


def test_top_level_help_explains_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for code in ("0 GO", "1 ROLLBACK", "2 ROLLBACK", "3 INVESTIGATE", "4 INVESTIGATE", "64", "69",
                 "70", "130"):
        assert code in out
    for command in ("demo", "stack", "run"):
        assert command in out


@pytest.mark.parametrize("argv", [["stack", "faults", "--bogus"], [], ["frobnicate"],
                                  ["demo", "--report-dir"], ["run", "--target"]],
                         ids=["extra-arg", "no-command", "unknown-command", "missing-value-demo",
                              "missing-value-run"])
def test_usage_errors_exit_64_with_one_line_naming_the_fix(capsys, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == EXIT_UNUSABLE
    line = stderr_line(capsys)
    assert "--help" in line


def test_bogus_provider_is_a_usage_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("RELEASEGATE_PROVIDER", "kubernetes")
    assert main(["demo", "--report-dir", str(tmp_path)]) == EXIT_UNUSABLE
    assert "RELEASEGATE_PROVIDER='kubernetes'" in stderr_line(capsys)
    assert json.loads((tmp_path / "summary.json").read_text())["exit_code"] == EXIT_UNUSABLE


# --- the installed console script, end to end --------------------------------------------------


def demo(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    report_dir = tmp_path / "reports"
    proc = subprocess.run([str(CONSOLE_SCRIPT), "demo", "--report-dir", str(report_dir), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180,
                          env=clean_env())
    return proc, report_dir


def test_demo_healthy_stack_is_go(tmp_path):
    proc, report_dir = demo(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((report_dir / "summary.json").read_text())
    validate_summary(summary)
    assert (summary["verdict"], summary["exit_code"]) == ("GO", 0)
    assert summary["checks"] and all(c["outcome"] == "passed" for c in summary["checks"])
    assert (report_dir / "report.html").is_file() and (report_dir / "junit.xml").is_file()
    assert "stack torn down" in proc.stderr


def test_demo_db_down_is_rollback(tmp_path):
    proc, report_dir = demo(tmp_path, "--faults", "db_down")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((report_dir / "summary.json").read_text())
    validate_summary(summary)
    assert (summary["verdict"], summary["exit_code"]) == ("ROLLBACK", 1)
    item = "/healthz/ready returns 200 (DB + Redis OK)"
    ready = [c for c in summary["checks"] if c["item"] == item]
    assert len(ready) == 1 and ready[0]["outcome"] == "failed"
    assert "503" in ready[0]["message"]
    assert item in summary["reason"]
    html = (report_dir / "report.html").read_text()
    assert re.search(r'rg-b-failed">FAIL</span><span class="rg-sev">blocker</span>' + re.escape(item), html)
    assert 'ROLLBACK<small>exit 1</small>' in html
    assert html.index('id="rg-verdict"') < html.index('id="environment"')  # the verdict comes first
    assert proc.stderr.splitlines()[-1].endswith("verdict ROLLBACK (exit 1)")


@pytest.mark.parametrize(("args", "folders"), [
    (["-m", "data or redis"], ["data", "redis"]),
    (["-m", "mcp"], ["mcp"]),
    (["-m", "mcp", "--expect-build=git:abc"], ["health", "mcp"]),
    (["-m", "rollback or observability"], ["observability", "rollback"]),
    (["-m", "smoke"], None),
    (["-m", "health and not smoke"], None),
    (["-m", "nosuch"], None),
    ([], None),
])
def test_a_one_area_run_collects_only_that_area(args, folders):
    from releasegate.cli import suites_for
    from releasegate.core.paths import SUITES

    expected = [SUITES] if folders is None else [SUITES / f for f in folders]
    assert suites_for(args) == expected

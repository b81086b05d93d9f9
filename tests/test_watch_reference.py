"""``releasegate watch`` against the reference stack on a compressed clock (seconds, not minutes).

The stack's own watch section (releasegate/reference/watch.py) holds the runbook's observations.
A short healthy window is GO; a window that starts healthy and has ``error_5xx_burst`` switched
on mid-way (``releasegate stack fault``) ends ROLLBACK naming the 5xx observation, at a cycle
after the switch; headless Chromium renders its report with the chart's series and the failed
sample marked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from releasegate.reference.stack import running_stack
from tests.test_report_browser import CHROMIUM, render
from tests.unit.conftest import clean_env

# Prometheus, run_summary lines, MCP, read-only SQL (+ health)
PARTS = ("observability", "rollback", "mcp", "data", "watch")


def releasegate(*args: str) -> list[str]:
    return [sys.executable, "-m", "releasegate.cli", *args]


def summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())


def test_window_starts_go_and_degrades_to_rollback_when_a_fault_is_switched_on(tmp_path, monkeypatch):
    monkeypatch.setenv("RG_TRAFFIC_INTERVAL_S", "0.5")  # live traffic every half second
    with running_stack(only=PARTS) as stack:
        env = clean_env()  # with the stack's credentials, exported while it runs
        profile = str(stack.profile_path)
        healthy = subprocess.run(releasegate("watch", "--target", profile, "--for", "4s", "--every",
                                             "1s", "-m", "health", "--report-dir", str(tmp_path / "go")),
                                 env=env, capture_output=True, text=True, timeout=120)
        assert healthy.returncode == 0, healthy.stderr
        go = summary(tmp_path / "go")
        assert go["decision"] == "GO" and go["complete"]
        assert set(go["trackers"]) >= {"api_5xx", "minute_remaining", "s1_rate", "ready_latency_ms",
                                       "core_fixtures", "ready", "live"}

        out = tmp_path / "degrade"
        proc = subprocess.Popen(releasegate("watch", "--target", profile, "--for", "90s", "--every",
                                            "1s", "-m", "health", "--report-dir", str(out)),
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if summary(out)["cycles_done"] >= 3:
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.1)
            before = summary(out)
            assert before["decision"] is None and before["cycles_done"] >= 3, proc.stderr
            assert all(p == "Successful" for c in before["cycles"] for p in c["phases"].values())
            switched = subprocess.run(releasegate("stack", "fault", "error_5xx_burst", "on", "--target",
                                                  profile), env=env, capture_output=True, text=True,
                                      timeout=30)
            assert switched.returncode == 0, switched.stderr
            switched_at = summary(out)["cycles_done"]
            code = proc.wait(80)
        finally:
            if proc.poll() is None:
                proc.kill()
    s = summary(out)
    assert code == 2 and s["decision"] == "ROLLBACK" and s["stopped_early"], s["decided_by"]
    by = s["decided_by"]
    assert by["name"] == "api_5xx" and by["cycle"] >= switched_at, by
    assert "rose above" in by["reason"]
    assert "ROLLBACK" in proc.stderr.read() if proc.stderr else True
    page = out / "report.html"
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: the report's DOM was not rendered")
    dom = render(page, tmp_path / "chromium")
    chart = dom[dom.index('<svg class="chart" data-name="api_5xx"'):]
    chart = chart[:chart.index("</svg>")]
    assert '<polyline class="series"' in chart and 'class="threshold"' in chart
    assert f'class="sample failed" data-cycle="{by["cycle"]}"' in chart
    assert chart.count('class="sample successful"') >= 3
    assert 'data-decision="ROLLBACK"' in dom and "http-equiv" not in dom


def test_rollback_triggers_repeat_with_002_clocks(tmp_path):
    """-m rollback repeats the 002 §6.1 triggers as checks: a 5xx spike rolls back at once
    (002 §6.3 "hemen rollback"), an S1 spike only opens a 15-minute investigation."""
    with running_stack("error_5xx_burst,s1_spike", only=("observability", "rollback", "watch")) as stack:
        proc = subprocess.run(releasegate("watch", "--target", str(stack.profile_path), "--for", "5s",
                                          "--every", "1s", "-m", "rollback", "--report-dir",
                                          str(tmp_path / "out")),
                              env=clean_env(), capture_output=True, text=True, timeout=120)
    s = summary(tmp_path / "out")
    assert proc.returncode == 2 and s["decision"] == "ROLLBACK", (proc.stderr, s["decided_by"])
    assert (s["decided_by"]["name"], s["decided_by"]["cycle"]) == ("error_5xx", 0)
    assert "5xx rate" in s["decided_by"]["reason"] and s["cycles_done"] == 1
    s1 = s["trackers"]["s1_spike"]
    assert s1["decision"] == "INVESTIGATE" and "ROLLBACK if it still holds after 15m" in \
        s1["decided_by"]["reason"]
    assert {"ready", "live"}.isdisjoint(s["trackers"])  # -m rollback: no probes

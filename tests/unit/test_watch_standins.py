"""``releasegate watch`` end to end against stand-ins, on a compressed clock (tenths of seconds).

A Prometheus that stops answering is Inconclusive, never GO; a breach mid-window is ROLLBACK at
the breaching cycle; SIGTERM ends the window with the decision so far; SIGKILL + --resume gives
the same decision; the Argo CD wait (003 §4.2) holds the window until Synced + Healthy and stops
it with the health message when the application is Degraded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from releasegate.cli import build_parser
from tests.unit.conftest import clean_env
from tests.unit.watch_standins import argocd, argocd_app, prometheus, serve

TOKEN = "argocd-token-0123456789"


def profile(tmp: Path, prom: str, *, deploy: dict[str, Any] | None = None) -> Path:
    data: dict[str, Any] = {
        "name": "standin",
        "defaults": {"timeouts": {"connect": 0.5, "read": 0.5, "total": 1}},
        "metrics": {"prometheus": {"base_url": prom}},
        "watch": {"observations": [{
            "name": "error_rate", "runbook": "002 §6.1 5xx > 5 % in 10 min",
            "source": {"promql": 'sum(rate(http_requests_total{status=~"5.."}[1m]))'},
            "assert": {"below": 0.05}}]},
    }
    if deploy:
        data["watch"]["deploy"] = deploy
    path = tmp / "target.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def watch(*args: str) -> int:
    ns, extra = build_parser().parse_known_args(["watch", "--quiet", *args])
    return int(ns.func(ns, extra))


def summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())


def test_prometheus_that_stops_answering_is_inconclusive_never_go(tmp_path: Path) -> None:
    with serve(prometheus(lambda n: 0.01 if n < 3 else None)) as url:
        code = watch("--target", str(profile(tmp_path, url)), "--for", "2s", "--every", "0.2s",
                     "--report-dir", str(tmp_path / "out"))
    s = summary(tmp_path / "out")
    assert code == 4 and s["decision"] == "INCONCLUSIVE"
    assert s["decided_by"]["name"] == "error_rate" and "consecutive" in s["decided_by"]["reason"]
    assert s["trackers"]["error_rate"]["errors"] >= 5


def test_breach_mid_window_is_rollback_at_the_breaching_cycle(tmp_path: Path) -> None:
    with serve(prometheus(lambda n: 0.01 if n < 4 else 0.2)) as url:
        started = time.perf_counter()
        code = watch("--target", str(profile(tmp_path, url)), "--for", "20s", "--every", "0.2s",
                     "--report-dir", str(tmp_path / "out"))
        spent = time.perf_counter() - started
    s = summary(tmp_path / "out")
    assert code == 2 and s["decision"] == "ROLLBACK" and s["stopped_early"]
    assert (s["decided_by"]["name"], s["decided_by"]["cycle"]) == ("error_rate", 4)
    assert spent < 10, "a ROLLBACK stops the watch at once, not at the end of the window"
    rows = (tmp_path / "out" / "cycles.jsonl").read_text().splitlines()
    assert [json.loads(r)["phases"]["error_rate"] for r in rows][-2:] == ["Successful", "Failed"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert 'class="sample failed" data-cycle="4"' in page and "http-equiv" not in page


def _spawn(args: list[str], out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "releasegate.cli", "watch", "--quiet", *args,
                             "--report-dir", str(out)], env=clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_cycles(out: Path, cycles: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if summary(out)["cycles_done"] >= cycles:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"no {cycles} cycles: {proc.poll()} {proc.stderr.read() if proc.stderr else ''}")


def test_sigterm_ends_with_the_decision_so_far_marked_incomplete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with serve(prometheus(lambda n: 0.01)) as url:
        proc = _spawn(["--target", str(profile(tmp_path, url)), "--for", "60s", "--every", "0.2s"], out)
        _wait_cycles(out, 3, proc)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    s = summary(out)
    assert code == 4 and s["interrupted"] and not s["complete"]
    assert s["decision"] == "INCONCLUSIVE" and s["decided_by"]["reason"].startswith("window incomplete")
    assert b"window incomplete" in proc.stderr.read()  # type: ignore[union-attr]


def test_resume_after_sigkill_gives_the_same_decision(tmp_path: Path) -> None:
    def values(n: int) -> float:
        return 0.01 if n < 8 else 0.2

    with serve(prometheus(values)) as url:
        target = str(profile(tmp_path, url))
        whole = watch("--target", target, "--for", "8s", "--every", "0.4s",
                      "--report-dir", str(tmp_path / "whole"))
    out = tmp_path / "killed"
    with serve(prometheus(values)) as url:
        target = str(profile(tmp_path, url))
        proc = _spawn(["--target", target, "--for", "8s", "--every", "0.4s"], out)
        _wait_cycles(out, 3, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert summary(out)["decision"] is None  # killed: no decision was written
        resumed = watch("--target", target, "--resume", "--report-dir", str(out))
    a, b = summary(tmp_path / "whole"), summary(out)
    assert (whole, a["decision"], a["decided_by"]["name"]) == (2, "ROLLBACK", "error_rate")
    assert (resumed, b["decision"], b["decided_by"]["name"]) == (whole, a["decision"], "error_rate")
    assert b["resumed"] == 1
    lines = [json.loads(r)["cycle"] for r in (out / "cycles.jsonl").read_text().splitlines()]
    assert lines == sorted(set(lines)), "every cycle once in cycles.jsonl across the kill"


def _deploy(url: str, **extra: Any) -> dict[str, Any]:
    return {"argocd": {"server": url, "application": "api", "token": "${ARGOCD_TOKEN}",
                       "wait": "5s", "poll": "0.1s", **extra}}


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOCD_TOKEN", TOKEN)


@pytest.mark.usefixtures("token")
def test_window_starts_once_argo_cd_reports_synced_and_healthy(tmp_path: Path) -> None:
    states = [argocd_app("api", "OutOfSync", "Progressing"),
              argocd_app("api", "Synced", "Progressing", phase="Running"),
              argocd_app("api", "Synced", "Healthy")]
    with serve(argocd(states, TOKEN)) as argo, serve(prometheus(lambda n: 0.01)) as prom:
        code = watch("--target", str(profile(tmp_path, prom, deploy=_deploy(argo))),
                     "--for", "0.4s", "--every", "0.2s", "--report-dir", str(tmp_path / "out"))
    s = summary(tmp_path / "out")
    assert code == 0 and s["decision"] == "GO"
    assert s["deploy"]["settled"] and s["deploy"]["polls"] == 3
    assert "sync Synced, health Healthy" in s["deploy"]["summary"]
    assert TOKEN not in (tmp_path / "out" / "summary.json").read_text()
    assert TOKEN not in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.usefixtures("token")
def test_degraded_application_stops_before_the_window_with_its_message(tmp_path: Path) -> None:
    states = [argocd_app("api", "Synced", "Degraded",
                         message="Deployment \"api\" exceeded its progress deadline")]
    with serve(argocd(states, TOKEN)) as argo, serve(prometheus(lambda n: 0.01)) as prom:
        code = watch("--target", str(profile(tmp_path, prom, deploy=_deploy(argo))),
                     "--report-dir", str(tmp_path / "out"))
    s = summary(tmp_path / "out")
    assert code == 2 and s["decision"] == "ROLLBACK" and s["cycles_done"] == 0
    assert "exceeded its progress deadline" in s["decided_by"]["reason"]
    assert "003 §4.2" in s["decided_by"]["reason"]


@pytest.mark.usefixtures("token")
def test_application_that_never_settles_is_inconclusive_within_the_wait(tmp_path: Path) -> None:
    states = [argocd_app("api", "OutOfSync", "Progressing", phase="Running")]
    with serve(argocd(states, TOKEN)) as argo, serve(prometheus(lambda n: 0.01)) as prom:
        started = time.perf_counter()
        code = watch("--target", str(profile(tmp_path, prom, deploy=_deploy(argo, wait="0.5s"))),
                     "--report-dir", str(tmp_path / "out"))
        spent = time.perf_counter() - started
    s = summary(tmp_path / "out")
    assert code == 4 and "did not settle" in s["decided_by"]["reason"]
    assert spent < 5


def test_wrong_token_is_refused_not_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOCD_TOKEN", "wrong")
    with serve(argocd([argocd_app("api", "Synced", "Healthy")], TOKEN)) as argo, \
            serve(prometheus(lambda n: 0.01)) as prom:
        code = watch("--target", str(profile(tmp_path, prom, deploy=_deploy(argo))),
                     "--report-dir", str(tmp_path / "out"))
    s = summary(tmp_path / "out")
    assert code == 4 and "401" in s["decided_by"]["reason"] and s["deploy"]["polls"] == 1
    assert os.environ["ARGOCD_TOKEN"] not in json.dumps(s)


def _s1_profile(tmp: Path, url: str) -> Path:
    path = profile(tmp, url)
    data = yaml.safe_load(path.read_text())
    data["watch"]["observations"] = [{
        "name": "s1_rate", "runbook": "002 §6.3 S1 spike: investigate, roll back if not recovered",
        "source": {"promql": "s1_rate"}, "assert": {"below": 0.30},
        "action": "investigate", "grace": "1s"}]
    path.write_text(yaml.safe_dump(data))
    return path


def test_s1_breach_that_recovers_within_its_grace_is_not_rollback(tmp_path: Path, monkeypatch) -> None:
    step = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    with serve(prometheus(lambda n: 0.5 if 2 <= n < 4 else 0.1)) as url:  # 0.4 s of breach
        code = watch("--target", str(_s1_profile(tmp_path, url)), "--for", "2s", "--every", "0.2s",
                     "--report-dir", str(tmp_path / "out"))
    s = summary(tmp_path / "out")
    assert code == 0 and s["decision"] == "GO", s["decided_by"]
    assert s["trackers"]["s1_rate"]["episodes"][0]["recovered"] is True
    text = step.read_text()
    assert text.startswith("### releasegate watch — standin: GO") and "| s1_rate | observation | GO |" in text


def test_s1_breach_that_outlasts_its_grace_is_rollback_after_it(tmp_path: Path) -> None:
    with serve(prometheus(lambda n: 0.5 if n >= 2 else 0.1)) as url:
        code = watch("--target", str(_s1_profile(tmp_path, url)), "--for", "10s", "--every", "0.2s",
                     "--report-dir", str(tmp_path / "out"))
    s = summary(tmp_path / "out")
    by = s["decided_by"]
    assert code == 2 and s["decision"] == "ROLLBACK" and by["name"] == "s1_rate"
    breach = s["trackers"]["s1_rate"]["episodes"][0]["start_t"]
    # not before the 1 s grace ran out (the decision's t is kept to 0.1 s, the episode's is not)
    assert round(by["t"] - breach, 1) >= 1.0 and by["cycle"] >= 7, by
    assert "grace 1s" in by["reason"]


@pytest.mark.usefixtures("token")
def test_sigterm_while_waiting_for_argo_cd_is_inconclusive_and_not_resumable(tmp_path: Path) -> None:
    states = [argocd_app("api", "OutOfSync", "Progressing", phase="Running")]
    out = tmp_path / "out"
    with serve(argocd(states, TOKEN)) as argo, serve(prometheus(lambda n: 0.01)) as prom:
        target = str(profile(tmp_path, prom, deploy=_deploy(argo, wait="60s", poll="0.1s")))
        proc = subprocess.Popen([sys.executable, "-m", "releasegate.cli", "watch", "--target", target,
                                 "--report-dir", str(out)], env=clean_env(ARGOCD_TOKEN=TOKEN),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for _ in range(20):  # the first poll's line: the wait has started
            if "Argo CD api" in proc.stderr.readline():
                break
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        resumed = watch("--target", target, "--resume", "--report-dir", str(out))
    s = summary(out)
    assert code == 4 and s["decision"] == "INCONCLUSIVE" and s["cycles_done"] == 0
    assert "window incomplete" in s["decided_by"]["reason"] and s["interrupted"]
    assert resumed == 4  # the ended window answers its decision again

"""A runner that reaches nothing is not a verdict (issue 16 §7): exit 68, a one-line reason.

Host names under .invalid never resolve (RFC 6761 §6.4), so the run's every connection fails on
the runner's side. A refused connection is the target's own answer and keeps its verdict.
"""

from __future__ import annotations

import pytest

from tests.support import run_suites, write_profile

NO_HOST = "rg-runner-blind.invalid"


def _profile(tmp_path, host: str):
    return write_profile(tmp_path / "blind.yaml", {
        "name": "blind",
        "health": {"base_url": f"http://{host}", "probes": {"live": {"path": "/healthz/live"},
                                                            "ready": {"path": "/healthz/ready"}}},
        "redis": {"url": f"redis://{host}/0", "connect_timeout_s": 1},
        "database": {"dsn": f"postgresql://app@{host}/app", "connect_timeout_s": 1},
    })


def test_a_host_that_does_not_resolve_is_no_verdict(tmp_path):
    run = run_suites(_profile(tmp_path, NO_HOST), tmp_path / "reports", "-m", "smoke")
    assert run.returncode == 68, run.stdout[-3000:]
    summary = run.summary
    assert summary["verdict"] is None and summary["exit_code"] == 68
    assert summary["reason"].startswith("no verdict: the runner reached no host of the target")
    assert "does not resolve" in summary["reason"] or "translate host name" in summary["reason"]
    reason_lines = [ln for ln in run.stderr.splitlines() if "the runner reached no host" in ln]
    assert len(reason_lines) == 1, run.stderr


@pytest.mark.parametrize("host", ["127.0.0.1:1"], ids=["refused"])
def test_a_refused_connection_keeps_its_verdict(tmp_path, host):
    run = run_suites(_profile(tmp_path, host), tmp_path / "reports", "-m", "smoke")
    assert run.summary["verdict"] == "ROLLBACK", run.stdout[-3000:]
    assert run.returncode in (1, 2)

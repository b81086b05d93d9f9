"""`releasegate init` writes a profile from the running reference stack that gives GO with the
areas it found checked, not N/A (issue 16 §4); credentials stay ${VARS}; read-only probes only."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys

import pytest
import yaml

from releasegate.core.profile import load_target
from releasegate.reference.stack import running_stack
from tests.support import REPO

TOKEN_VAR = "RG_REF_MCP_HEADERS_AUTHORIZATION_SECRET"  # the stack exports its MCP bearer here


def releasegate(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "releasegate.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=240, env=dict(os.environ))


@pytest.fixture(scope="module")
def stack():
    with running_stack(only=("health", "mcp", "versioning", "observability")) as running:
        yield running


def test_init_writes_a_profile_that_gives_go_with_the_areas_it_found(stack, tmp_path):
    mcp_url = yaml.safe_load(stack.profile_path.read_text())["mcp"]["url"]
    out = tmp_path / "profile.yaml"
    made = releasegate("init", stack.base_url, mcp_url, "--header", f"Authorization: ${{{TOKEN_VAR}}}",
                       "-o", str(out), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = out.read_text()
    token = os.environ[TOKEN_VAR]
    assert token.split()[-1] not in text and f"${{{TOKEN_VAR}}}" in text  # never a value it saw
    assert "build_id:" not in text and "config_hash:" not in text  # volatile: left out
    assert "# TODO mcp.calls" in text
    target = load_target(out)
    assert {"health", "mcp", "versioning", "metrics"} <= set(target.data)
    assert target.data["environment"] == "staging"

    run = releasegate("run", "--target", str(out), "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert run.returncode == 0 and summary["verdict"] == "GO", run.stdout[-3000:]
    passed = collections.Counter(c["area"] for c in summary["checks"] if c["outcome"] == "passed")
    for area in ("health", "mcp", "versioning", "observability"):
        assert passed[area] >= 2, (area, passed)


def test_init_refuses_a_credential_written_literally(tmp_path):
    made = releasegate("init", "http://127.0.0.1:9", "--header", "Authorization: Bearer abc123",
                       cwd=tmp_path)
    assert made.returncode == 64
    assert "credentials as ${VAR}" in made.stderr and "abc123" not in made.stderr


def test_init_imports_no_pytest():
    probe = "import sys, releasegate.init.probe, releasegate.init.render; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "False", out.stderr

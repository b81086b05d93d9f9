"""The shipped GitHub Actions gate (.github/workflows/post-deploy-gate.yml) does what it says: its
gate step, run here with the environment the workflow sets, checks the deployed commit against
the build serving and exits with the verdict."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from releasegate.reference.stack import running_stack
from tests.support import REPO
from tests.unit.conftest import clean_env

WORKFLOW = REPO / ".github" / "workflows" / "post-deploy-gate.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def gate_step() -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    return next(step for step in steps if step.get("id") == "gate")


def evaluate(expression: str, context: dict[str, str]) -> str:
    """The part of GitHub's expression language the step uses: a || b || 'literal'."""
    for operand in (o.strip() for o in expression.split("||")):
        if operand.startswith("'") and operand.endswith("'"):
            return operand[1:-1]
        if operand not in context:
            raise AssertionError(f"the workflow uses {operand!r}; teach this test what it is")
        if context[operand]:
            return context[operand]
    return ""


def run_gate_step(tmp_path: Path, context: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    step = gate_step()
    env = {name: EXPRESSION.sub(lambda m: evaluate(m.group(1), context), str(value))
           for name, value in step["env"].items()}
    outputs = tmp_path / "github_output"
    outputs.touch()
    env.update(GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    script = EXPRESSION.sub(lambda m: evaluate(m.group(1), context), step["run"])
    checkout = tmp_path / "checkout"  # the job's working directory: a checkout with fixtures/
    checkout.mkdir()
    (checkout / "fixtures").symlink_to(REPO / "fixtures")
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=checkout, capture_output=True, text=True,
                          env=clean_env(**env), timeout=180)
    return proc, outputs


@pytest.fixture(scope="module")
def stack():
    with running_stack(only=("health",)) as running:
        yield running


def context_for(stack: Any, deployed_sha: str) -> dict[str, str]:
    release = yaml.safe_load(stack.profile_path.read_text())["health"]["release"]
    return {"vars.INVOICE_API_URL": stack.base_url, "vars.CONFIG_HASH": release["config_hash"],
            "inputs.target": "", "inputs.markers": "", "inputs.deployed_sha": "",
            "github.event.workflow_run.head_sha": deployed_sha, "github.sha": "f" * 40}


def test_the_gate_step_passes_when_the_deployed_commit_is_serving(tmp_path, stack):
    proc, outputs = run_gate_step(tmp_path, context_for(stack, "ref1234" + "0" * 33))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert outputs.read_text() == "exit_code=0\n"
    summary = (tmp_path / "checkout" / "reports" / "summary.json").read_text()
    assert '"outcome": "passed"' in summary and "test_release_build_id_is_expected" in summary
    assert "## releasegate: GO (exit 0)" in (tmp_path / "summary.md").read_text()


def test_the_gate_step_rolls_back_when_another_build_is_serving(tmp_path, stack):
    proc, outputs = run_gate_step(tmp_path, context_for(stack, "abcdef1" + "0" * 33))
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert outputs.read_text() == "exit_code=2\n"
    assert "reports build_id 'git:ref1234', expected 'git:abcdef1'" in proc.stdout


def test_the_workflow_checks_out_and_compares_the_deployed_commit_not_github_sha():
    text = WORKFLOW.read_text()
    step = gate_step()
    assert "github.event.workflow_run.head_sha" in step["env"]["DEPLOYED_SHA"]
    assert "--expect-build" in step["run"] and "DEPLOYED_SHA" in step["run"]
    assert "GITHUB_SHA::7" not in text
    target = yaml.safe_load((REPO / evaluate(EXPRESSION.search(step["env"]["TARGET"]).group(1),
                                             {"inputs.target": ""})).read_text())
    assert "release" in target["health"], "the gate's profile must have a release section"

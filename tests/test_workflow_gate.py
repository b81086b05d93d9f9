"""The GitHub Action (action.yml) and the example workflow that uses it do what they say.

The action's run steps are run here with the environment GitHub gives a step (GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY, its ``env:`` with ``${{ }}`` expressions evaluated) against the reference
stack, with the inputs the workflow passes: the artifact path, the annotations and the outputs
are what a later step sees. The two ``uses:`` steps (setup-python, upload-artifact) are GitHub's
own and are not run; their inputs are checked. The pip install step is not run either: this
test runs inside an installed releasegate. Both files validate against SchemaStore's published
schemas (tests/data/schemastore, README there names the source).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from releasegate.reference.stack import running_stack
from tests.support import REPO
from tests.unit.conftest import clean_env

ACTION = REPO / "action.yml"
WORKFLOW = REPO / ".github" / "workflows" / "post-deploy-gate.yml"
SCHEMAS = Path(__file__).parent / "data" / "schemastore"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def evaluate(expression: str, context: dict[str, str]) -> str:
    """The part of GitHub's expression language these files use: a || b || 'literal'."""
    for operand in (o.strip() for o in expression.split("||")):
        if operand.startswith("'") and operand.endswith("'"):
            return operand[1:-1]
        if operand not in context:
            raise AssertionError(f"the YAML uses {operand!r}; teach this test what it is")
        if context[operand]:
            return context[operand]
    return ""


def substitute(value: Any, context: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: evaluate(m.group(1), context), str(value))


def condition(expression: str, context: dict[str, str], failed: bool) -> bool:
    """`failure() && steps.x.outputs.y == 'Z'`: && of failure(), always() and == comparisons."""
    result = True
    for part in (p.strip() for p in EXPRESSION.sub(r"\1", expression).split("&&")):
        if part in ("failure()", "always()"):
            result &= failed if part == "failure()" else True
        else:
            left, right = (s.strip() for s in part.split("=="))
            result &= evaluate(left, context) == right.strip("'")
    return result


@dataclass
class ActionRun:
    """What the job sees after the action: outputs, log, the artifact's folder, the exit code."""

    outputs: dict[str, str]
    log: str
    artifact: Path | None
    exit_code: int
    summary_md: str
    steps: list[str] = field(default_factory=list)

    def annotations(self, kind: str) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith(f"::{kind} ")]


def _read_outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def run_action(workspace: Path, inputs: dict[str, str], env: dict[str, str]) -> ActionRun:
    """Run action.yml's steps in ``workspace`` as a runner would, with the caller's ``with:``
    (``inputs``) and ``env:`` (``env``)."""
    action = yaml.safe_load(ACTION.read_text())
    given = {f"inputs.{name}": str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    given.update({f"inputs.{name}": value for name, value in inputs.items()})
    context = {**given, "github.action_path": str(REPO)}
    home = workspace.parent / "runner"
    home.mkdir(exist_ok=True)
    output, summary = home / "github_output", home / "step_summary.md"
    summary.touch()
    log, artifact, failed, ran, last = [], None, False, [], 0
    for step in action["runs"]["steps"]:
        ran.append(step.get("name", step.get("uses", "")))
        if ("if" not in step and failed) or ("if" in step and not condition(step["if"], context, failed)):
            continue  # a step without if: runs only while nothing failed
        if step.get("uses", "").startswith("actions/upload-artifact"):
            artifact = workspace / substitute(step["with"]["path"], context)
            continue
        if "uses" in step or step.get("name") == "Install releasegate":
            continue  # GitHub's own actions; the install is this test's own environment
        output.write_text("")
        step_env = {k: substitute(v, context) for k, v in step.get("env", {}).items()}
        step_env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary),
                        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=workspace, capture_output=True, text=True, timeout=240,
                              env=clean_env(**env, **step_env))
        log.append(proc.stdout + proc.stderr)
        failed = failed or proc.returncode != 0
        if step.get("id"):
            context.update({f"steps.{step['id']}.outputs.{k}": v for k, v in _read_outputs(output).items()})
        last = proc.returncode
    outputs = {name: substitute(spec["value"], context) for name, spec in action["outputs"].items()}
    return ActionRun(outputs, "\n".join(log), artifact, last, summary.read_text(), ran)


@pytest.fixture(scope="module")
def stack():
    with running_stack(only=("health",)) as running:
        yield running


def workflow_step(workflow: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in workflow["jobs"]["gate"]["steps"] if s.get("id") == step_id)


def run_workflow_gate(tmp_path: Path, stack: Any, deployed_sha: str, url: str | None = None) -> tuple[
        ActionRun, bool]:
    """The workflow's gate step (the action, with the workflow's with: and env:) for a deploy of
    ``deployed_sha``; and whether the workflow's rollback step would then run."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    release = yaml.safe_load(stack.profile_path.read_text())["health"]["release"]
    context = {"vars.INVOICE_API_URL": url or stack.base_url, "vars.CONFIG_HASH": release["config_hash"],
               "inputs.target": "", "inputs.markers": "", "inputs.deployed_sha": "",
               "inputs.environment": "", "github.event.workflow_run.head_sha": deployed_sha,
               "github.sha": "f" * 40}
    gate = workflow_step(workflow, "gate")
    workspace = tmp_path / "checkout"  # the job's working directory: a checkout with fixtures/
    workspace.mkdir()
    (workspace / "fixtures").symlink_to(REPO / "fixtures")
    run = run_action(workspace, {k: substitute(v, context) for k, v in gate["with"].items()},
                     {k: substitute(v, context) for k, v in gate["env"].items()})
    rollback = next(s for s in workflow["jobs"]["gate"]["steps"] if s.get("name") == "Roll back on ROLLBACK")
    context.update({f"steps.gate.outputs.{k}": v for k, v in run.outputs.items()})
    return run, condition(rollback["if"], context, failed=run.exit_code != 0)


def test_go_when_the_deployed_commit_is_serving(tmp_path, stack):
    run, rollback = run_workflow_gate(tmp_path, stack, "ref1234")
    assert run.exit_code == 0, run.log[-3000:]
    assert run.outputs["verdict"] == "GO" and run.outputs["exit-code"] == "0"
    assert run.artifact == tmp_path / "checkout" / "reports"
    assert {p.name for p in run.artifact.iterdir()} >= {"report.html", "junit.xml", "summary.json"}
    assert not run.annotations("error") and not rollback
    assert "## releasegate: GO (exit 0)" in run.summary_md


def test_rollback_annotates_the_failed_check_and_fires_the_rollback_step(tmp_path, stack):
    run, rollback = run_workflow_gate(tmp_path, stack, "abcdef1" + "0" * 33)
    assert run.exit_code == 2 and run.outputs["verdict"] == "ROLLBACK", run.log[-3000:]
    errors = run.annotations("error")
    assert len(errors) == 1, errors
    assert "reports build_id 'git:ref1234', expected 'git:abcdef1" in errors[0]
    title = "FAILED blocker%3A /health/ready reports the expected build_id"
    assert errors[0].startswith(f"::error title={title}::")
    assert rollback
    assert json.loads((run.artifact / "summary.json").read_text())["verdict"] == "ROLLBACK"


def test_a_runner_that_reaches_nothing_gets_no_verdict_and_no_rollback(tmp_path, stack):
    run, rollback = run_workflow_gate(tmp_path, stack, "ref1234", url="http://rg-gate-runner.invalid")
    assert run.exit_code == 68, run.log[-3000:]
    assert run.outputs["verdict"] == "NONE" and run.outputs["exit-code"] == "68"
    assert "the runner reached no host" in run.outputs["reason"]
    assert len(run.annotations("error")) == 1 and not rollback


def test_annotations_stop_at_ten_per_kind_with_a_notice():
    from releasegate.ci.github import annotations

    checks = [{"id": f"c{i}", "item": f"line {i}", "severity": "blocker", "outcome": "failed",
               "message": "50% down,\nreally"} for i in range(12)]
    lines = list(annotations({"verdict": "ROLLBACK", "checks": checks}, 2))
    assert len([x for x in lines if x.startswith("::error ")]) == 10
    assert lines[-1].startswith("::notice ") and "2 more failed checks" in lines[-1]
    assert "::50%25 down,%0Areally" in lines[0]


def _load(path: Path) -> Any:
    data = yaml.safe_load(path.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as true; GitHub reads it as "on"
        data["on"] = data.pop(True)
    return data


@pytest.mark.parametrize(("path", "schema"), [(ACTION, "github-action.json"),
                                              (WORKFLOW, "github-workflow.json")],
                         ids=["action", "workflow"])
def test_validates_against_the_published_schema(path, schema):
    validator = jsonschema.Draft7Validator(json.loads((SCHEMAS / schema).read_text()))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(_load(path))]
    assert not errors, errors


def test_third_party_actions_are_pinned_by_commit_and_the_workflow_is_least_privilege():
    action, workflow = _load(ACTION), _load(WORKFLOW)
    uses = [s["uses"] for s in action["runs"]["steps"] if "uses" in s]
    uses += [s["uses"] for s in workflow["jobs"]["gate"]["steps"] if "uses" in s and s["uses"] != "./"]
    assert uses and all(PINNED.match(u) for u in uses), uses
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["jobs"]["gate"]["environment"]
    assert "workflow_run.conclusion == 'success'" in workflow["jobs"]["gate"]["if"]
    setup = next(s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"
    gate = workflow_step(workflow, "gate")
    assert "github.event.workflow_run.head_sha" in gate["with"]["expect-build"]
    assert "GITHUB_SHA::7" not in WORKFLOW.read_text()


def test_the_action_merges_a_matrix_of_runs_and_decides_for_the_fleet(tmp_path):
    """The last job of a matrix: `merge:` on the downloaded artifacts gives the fleet's verdict,
    outputs and one annotation per failed check, named with its target (docs/fleet.md)."""
    from tests.unit.test_fleet import FAULTY, HEALTHY

    workspace = tmp_path / "checkout"
    for summary in (HEALTHY, FAULTY):  # what actions/download-artifact leaves: a folder per artifact
        folder = workspace / "runs" / f"releasegate-{summary['target']}"
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps(summary))
    run = run_action(workspace, {"merge": "runs", "report-dir": "fleet"}, {})
    assert run.exit_code == 2 and run.outputs["verdict"] == "ROLLBACK", run.log[-3000:]
    assert run.outputs["reason"].startswith("1 of 2 targets not GO — faulty ROLLBACK")
    [error] = run.annotations("error")
    assert error.startswith("::error title=FAILED blocker%3A faulty%3A ready::")
    assert "## releasegate fleet fleet: ROLLBACK (exit 2)" in run.summary_md
    fleet = json.loads((workspace / "fleet" / "summary.json").read_text())
    assert [t["target"] for t in fleet["targets"]] == ["faulty", "healthy"]  # artifacts by name

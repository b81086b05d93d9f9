"""Installable without a checkout: a wheel built from the repo, installed into a fresh virtualenv,
carries the suites, schemas, fixtures and reference stack, and runs from any directory."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from filelock import FileLock

from releasegate.reference.stack import running_stack
from tests.support import REPO
from tests.unit.conftest import clean_env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel (and its core dependencies: no extra) installed; its bin/."""
    root = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the checkout's build/: two xdist workers building at once clobber it
    with FileLock(Path(tempfile.gettempdir()) / f"releasegate-wheel-{REPO.name}.lock"):
        build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(root / "dist"),
                                str(REPO)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    assert "deprecat" not in (build.stdout + build.stderr).lower()  # e.g. a TOML-table license
    wheel = next((root / "dist").glob("releasegate-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("releasegate/_bundle/suites/health/test_probes.py",
                   "releasegate/_bundle/schemas/profile.schema.json",
                   "releasegate/_bundle/fixtures/seed/schema.sql", "releasegate/reference/stack.py"):
        assert needed in names, needed
    # one top-level package (and its metadata): nothing that collides with a user's `reference`
    tops = {n.split("/")[0] for n in names}
    assert tops == {"releasegate", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}, tops
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    install = subprocess.run([str(root / "venv" / "bin" / "pip"), "install", "-q",
                              "--disable-pip-version-check", str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    return root / "venv" / "bin"


def test_the_installed_wheel_runs_a_target_profile_from_elsewhere(installed, tmp_path):
    with running_stack(only=("health",)) as stack:
        proc = subprocess.run([str(installed / "releasegate"), "run", f"--target={stack.profile_path}",
                               "-m", "health"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300, env=clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert json.loads((tmp_path / "reports" / "summary.json").read_text())["verdict"] == "GO"
    # plain pytest from that directory, with the lean core install only (issue 16 §1, §2)
    with running_stack(only=("health",)) as stack:
        plain = subprocess.run([str(installed / "pytest"), "-m", "smoke", f"--target={stack.profile_path}",
                                "--verdict-exit-codes", "--report-dir=plain"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=300, env=clean_env())
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
    markers = subprocess.run([str(installed / "pytest"), "--markers"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, env=clean_env())
    assert markers.returncode == 0 and "@pytest.mark.smoke:" in markers.stdout, markers.stderr[-2000:]


def test_the_installed_wheel_runs_the_demo_from_elsewhere_to_go(installed, tmp_path):
    """Last: it adds the demo extra to the core install the tests above used."""
    lean = subprocess.run([str(installed / "releasegate"), "demo"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=clean_env())
    assert lean.returncode == 64 and "pip install 'releasegate[demo]'" in lean.stderr, lean.stderr
    wheel = next(installed.parent.parent.glob("dist/releasegate-*.whl"))
    extra = subprocess.run([str(installed / "pip"), "install", "-q", "--disable-pip-version-check",
                            f"releasegate[demo] @ {wheel.as_uri()}"], capture_output=True, text=True,
                           timeout=600)
    assert extra.returncode == 0, extra.stderr[-3000:]
    proc = subprocess.run([str(installed / "releasegate"), "demo", "--report-dir", "out"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["verdict"] == "GO" and summary["checks"]
    assert "/_bundle/suites/" in proc.stdout  # the checks ran from the wheel, not this checkout
    assert str(REPO) not in proc.stdout

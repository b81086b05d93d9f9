"""Install benchmark (issue 16): the core install and the full one, as a new user gets them.

Usage: .venv/bin/python benches/bench_install.py [--output PATH]

Builds the wheel once (`pip wheel --no-deps .`), then for `releasegate` (core) and
`releasegate[all]`: a fresh venv in a temporary directory outside the repository, `pip install
WHEEL[extras]` timed as a whole process, and counted — packages (`pip list` less the bare venv's
pip), size of site-packages in MB, whole and over the bare venv's pip — plus whether
`pytest --markers` there lists `smoke`. pip's cache is the machine's (warm: every package was
installed before), so the seconds are install and resolution, not download. The issue's floor:
74 s, 165 MB, 64 packages for the old wheel; the target for the core: at most 35 packages and
60 MB. Writes benches/results/install.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLOOR = {"seconds": 74.0, "mb": 165.0, "packages": 64}  # issue 16, the wheel before this work
TARGET = {"mb": 60.0, "packages": 35}


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def measure(wheel: Path, extras: str, work: Path) -> dict[str, object]:
    venv = work / f"venv{extras or '-core'}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    bare = json.loads(subprocess.run([str(py), "-m", "pip", "list", "--format=json"], check=True,
                                     capture_output=True, text=True).stdout)
    site = next((venv / "lib").glob("python3*/site-packages"))
    bare_mb = _size_mb(site)  # the venv's own pip (and setuptools before Python 3.12)
    started = time.perf_counter()
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"releasegate{extras} @ {wheel.as_uri()}"], check=True, cwd=work)
    seconds = time.perf_counter() - started
    listed = json.loads(subprocess.run([str(py), "-m", "pip", "list", "--format=json"], check=True,
                                       capture_output=True, text=True).stdout)
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    markers = subprocess.run([str(venv / "bin" / "pytest"), "--markers"], cwd=empty, capture_output=True,
                             text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return {"extras": extras or "(core)", "seconds": round(seconds, 1),
            "packages": len(listed) - len(bare), "site_packages_mb": round(_size_mb(site), 1),
            "added_mb": round(_size_mb(site) - bare_mb, 1), "bare_venv_mb": round(bare_mb, 1),
            "names": sorted(p["name"] for p in listed if p["name"] not in {b["name"] for b in bare}),
            "markers_exit": markers.returncode, "lists_smoke": "@pytest.mark.smoke:" in markers.stdout}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default=str(REPO / "benches" / "results" / "install.json"))
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rg-bench-install-") as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work), str(REPO)],
                       check=True, capture_output=True)
        wheel = next(work.glob("releasegate-*.whl"))
        rows = [measure(wheel, extras, work) for extras in ("", "[all]")]
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "python": platform.python_version(), "load_avg": os.getloadavg(),
              "cpus": os.cpu_count(), "floor": FLOOR, "target_core": TARGET, "rows": rows}
    Path(ns.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'install':<10} {'s':>6} {'pkgs':>5} {'MB':>7} {'+MB':>6}   (floor {FLOOR['seconds']} s, "
          f"{FLOOR['packages']} pkgs, {FLOOR['mb']} MB; core target <= {TARGET['packages']} pkgs, "
          f"{TARGET['mb']} MB)")
    for row in rows:
        print(f"{row['extras']:<10} {row['seconds']:>6} {row['packages']:>5} {row['site_packages_mb']:>7}"
              f" {row['added_mb']:>6}"
              f"   pytest --markers exit {row['markers_exit']}, lists smoke: {row['lists_smoke']}")
    print(f"load average {result['load_avg']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""report.html as a release manager sees it: rendered by a real browser (Debian's chromium,
headless), not read as source. The verdict, its counts and the first failure's evidence must be
in the rendered page, above pytest-html's own report, and pytest-html's script must still draw
its results table."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from releasegate.reference.stack import running_stack
from tests.support import run_suites

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What this machine's closed network needs (see the env notes): no background networking.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed and could not be "
                                "(scripts/ensure-system.sh installs it as root: apt-get install chromium)")


def render(page: Path, profile_dir: Path) -> str:
    """The DOM after the page's scripts ran."""
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile_dir}", "--virtual-time-budget=5000",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def text_of(dom: str) -> str:
    """What a reader sees: the text, without style sheets, scripts and the head."""
    dom = re.sub(r"<(style|script|head)\b.*?</\1>", " ", dom, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", dom)).split())


def test_rollback_report_renders_verdict_counts_and_first_failure_evidence(tmp_path):
    with running_stack("db_down", only=("health",)) as stack:
        run = run_suites(stack.profile_path, tmp_path / "reports", "-m", "health")
    summary = run.summary
    dom = render(run.report_dir / "report.html", tmp_path / "chromium")
    view = dom[dom.index('<section class="rg" id="releasegate"'):dom.index('id="title"')]  # above pytest-html
    text = text_of(view)
    assert text.startswith("ROLLBACK exit 1 readiness failed — /healthz/ready returns 200")
    counts = summary["counts"]
    assert f"{counts['blockers_failed']} blockers failed" in text
    assert f"{counts['passed']} passed" in text and "0 waived" in text
    assert "serving build_id git:ref1234" in text
    first = next(c for c in summary["checks"] if c["id"] == summary["deciding_check"])
    exchange = first["evidence"]["requests"][0]
    opened = view[view.index('<details class="rg-check rg-deciding"'):]
    opened_text = text_of(opened[:opened.index("</details>")])
    for shown in (exchange["request"], "→ 503", f"in {exchange['latency_ms']:g} ms",
                  "What to do: 001 §6.1 Failure Scenarios", "curl -sS -i --max-time 1",
                  '"status":"not_ready"'):
        assert shown in opened_text, shown
    assert " open" in opened[:opened.index(">")]  # expanded inline, no click, no new tab
    assert "data:" not in view
    rows = re.findall(r'<tbody class="results-table-row', dom)
    assert len(rows) >= len(summary["checks"])  # pytest-html's script drew its table below


def test_go_report_renders_the_go_banner_first(tmp_path):
    with running_stack(only=("health",)) as stack:
        run = run_suites(stack.profile_path, tmp_path / "reports", "-m", "smoke")
    text = text_of(render(run.report_dir / "report.html", tmp_path / "chromium"))
    assert text.startswith("GO exit 0 all blocker and warning checks passed")
    assert "0 blockers failed · " not in text and "0 blockers failed" in text

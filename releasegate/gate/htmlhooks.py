"""pytest-html hooks: the checks' area, runbook, item and severity as columns; skips in words and
evidence in each row's log. Registered only for a releasegate run, on the controller."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from releasegate.gate.run import RunState


class HtmlHooks:
    """pytest-html hooks, registered only for a releasegate run on the controller."""

    COLUMNS = (("Area", "area"), ("Runbook", "runbook"), ("Check", "item"), ("Severity", "severity"))

    def __init__(self, run: RunState) -> None:
        self.run = run

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"releasegate — {self.run.target.name}"

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        for offset, (title, key) in enumerate(self.COLUMNS):
            cells.insert(1 + offset, f'<th class="sortable" data-column-type="{key}">{title}</th>')

    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        meta = (getattr(report, "releasegate", None) or {}).get("meta", {})
        for offset, (_, key) in enumerate(self.COLUMNS):
            cells.insert(1 + offset, f'<td class="col-{key}">{escape(str(meta.get(key, "")))}</td>')

    def pytest_html_results_table_html(self, report: Any, data: list[str]) -> None:
        """The log cell: a skip's reason in words (not pytest's raw tuple), then the evidence."""
        info = getattr(report, "releasegate", None) or {}
        if report.skipped and isinstance(report.longrepr, tuple):
            data[:] = [escape(info.get("message") or str(report.longrepr[2])) + "\n"]
        evidence = info.get("evidence")
        if evidence:
            data.insert(0, escape("evidence: " + json.dumps(evidence, indent=2, ensure_ascii=False))
                        + "\n\n")

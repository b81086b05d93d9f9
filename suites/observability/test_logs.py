"""Runbook 004 "Logging & Observability — PII Policy": no personal data in the structured logs."""

from __future__ import annotations

import pytest

from releasegate.core.errors import CheckFailed, Inconclusive
from releasegate.logs import pii

pytestmark = pytest.mark.observability


@pytest.mark.runbook("004", "PII Policy",
                     "logs carry no email, company_name, contact_emails or e-mail addresses")
@pytest.mark.severity("warning")
@pytest.mark.remedy("004 PII Policy: log a hash or an id instead of email / company_name / "
                    "contact_emails; have the log store purge the lines already written")
def test_logs_free_of_pii(target, logs, evidence):
    sample = logs.sample("metrics.logs")
    if not sample.lines:  # an empty log holds no PII and proves nothing: absent is not clean
        raise Inconclusive(f"{sample.where} has no line to scan: the service logs elsewhere or not at all")
    cfg = target.section("metrics.logs") or {}
    findings = pii.scan(sample, cfg.get("forbidden_fields") or pii.FORBIDDEN_FIELDS,
                        emails=cfg.get("email_values", True))
    evidence.note(findings=len(findings), first=[str(f) for f in findings[:5]])
    if findings:
        lines = len({f.line_no for f in findings})
        raise CheckFailed(f"{len(findings)} PII finding(s) on {lines} of the last {len(sample.lines)} "
                          f"lines of {sample.where}; first: {findings[0]}")

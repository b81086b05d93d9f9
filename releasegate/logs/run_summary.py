"""run_summary log lines (002 §5.1) and the §5.3 targets and alarm thresholds.

Every pipeline run ends with one JSON line `{"event": "run_summary", …}`. The lines are found in
a log sample (releasegate/logs/source.py), each is validated against schemas/logs/run_summary.json,
and the latest valid line of each tenant is judged against §5.3's table.

§5.3 names rates the line does not carry directly; they are derived the way the runbook's own
example line adds up (150 invoices, 23 incidents, 3 S1, 20 S2, 12 accept-rounding):
s1_rate and ocr_suspect_rate per incident (as in `rates`), s2_rate and accept_rounding_rate per
invoice (20/150 = 13 % against the "< 20 %" target; 12/150 = 8 % inside "5-15 %"), and the 5xx
rate per submission: errors.5xx / (total_invoices + errors.4xx + errors.5xx).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from releasegate.core.schema_check import validator_for
from releasegate.logs.source import LogSample, json_records

SCHEMA = "logs/run_summary.json"

# §5.3 "Alarm Eşiği": above / below which a metric alarms.
ALARMS: dict[str, dict[str, float]] = {
    "s1_rate": {"above": 0.30},
    "s2_rate": {"above": 0.40},
    "ocr_suspect_rate": {"above": 0.30},
    "accept_rounding_rate": {"below": 0.02, "above": 0.25},
    "feedback_coverage": {"below": 0.10},
    "p95_pipeline_total_ms": {"above": 6000},
    "queue_max_depth": {"above": 50},
    "error_5xx_rate": {"above": 0.05},
}
# §5.3 "Hedef": where a metric should be. Missed targets are reported, not failed.
TARGETS: dict[str, dict[str, float]] = {
    "s1_rate": {"above": 0.10},
    "s2_rate": {"above": 0.20},
    "ocr_suspect_rate": {"above": 0.15},
    "accept_rounding_rate": {"below": 0.05, "above": 0.15},
    "feedback_coverage": {"below": 0.50},
    "p95_pipeline_total_ms": {"above": 3000},
    "queue_max_depth": {"above": 10},
    "error_5xx_rate": {"above": 0.0},
}
RATE_METRICS = {"s1_rate", "s2_rate", "ocr_suspect_rate", "accept_rounding_rate",
                "feedback_coverage", "error_5xx_rate"}


@dataclass
class SummaryLine:
    line_no: int
    raw: str
    record: dict[str, Any] | None
    error: str | None  # None when it matches the schema

    @property
    def tenant(self) -> str:
        return str((self.record or {}).get("tenant_id", "?"))


def find(sample: LogSample) -> list[SummaryLine]:
    """Every run_summary line of the sample, valid or not."""
    validator = validator_for(SCHEMA)
    found: list[SummaryLine] = []
    for no, record, raw in json_records(sample):
        if record is None:
            if "run_summary" in raw:
                found.append(SummaryLine(no, raw, None, "not valid JSON"))
            continue
        if record.get("event") != "run_summary":
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(record))
        problem = None
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            problem = f"at {where}: {error.message[:160]}"
        found.append(SummaryLine(no, raw, record, problem))
    return found


def derive(record: Mapping[str, Any]) -> dict[str, float]:
    """§5.3's metrics from one valid line."""
    counts, rates, errors = record["counts"], record["rates"], record["errors"]
    invoices = counts["total_invoices"]
    submissions = invoices + errors["4xx"] + errors["5xx"]
    return {
        "s1_rate": rates["s1_rate"],
        "s2_rate": counts["s2_count"] / invoices if invoices else 0.0,
        "ocr_suspect_rate": rates["ocr_suspect_rate"],
        "accept_rounding_rate": counts["accept_rounding_count"] / invoices if invoices else 0.0,
        "feedback_coverage": rates["feedback_coverage"],
        "p95_pipeline_total_ms": record["latency"]["p95_pipeline_total_ms"],
        "queue_max_depth": record["queue"]["max_depth"],
        "error_5xx_rate": errors["5xx"] / submissions if submissions else 0.0,
    }


def outside(metrics: Mapping[str, float], limits: Mapping[str, Mapping[str, float]]) -> list[str]:
    """'s1_rate 45 % > 30 %' for every metric beyond its limit."""
    out = []
    for name, limit in limits.items():
        if name not in metrics:
            continue
        value = metrics[name]
        if "above" in limit and value > limit["above"]:
            out.append(f"{name} {show(name, value)} > {show(name, limit['above'])}")
        elif "below" in limit and value < limit["below"]:
            out.append(f"{name} {show(name, value)} < {show(name, limit['below'])}")
    return out


def show(name: str, value: float) -> str:
    return f"{value * 100:.3g} %" if name in RATE_METRICS else f"{value:g}"


def latest_per_tenant(lines: list[SummaryLine]) -> dict[str, SummaryLine]:
    """The newest valid line of each tenant (the log is in time order)."""
    latest: dict[str, SummaryLine] = {}
    for line in lines:
        if line.error is None:
            latest[line.tenant] = line
    return latest


def merged(defaults: Mapping[str, Mapping[str, float]],
           overrides: Mapping[str, Mapping[str, float]] | None) -> dict[str, dict[str, float]]:
    out = {k: dict(v) for k, v in defaults.items()}
    for name, limit in (overrides or {}).items():
        out[name] = dict(limit)
    return out

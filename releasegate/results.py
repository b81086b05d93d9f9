"""One check's result as the report, summary.json and the verdict see it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from releasegate.verdict import Judged

AREAS = ("health", "mcp", "readapi", "versioning", "data", "redis", "backup", "rollback",
         "observability")
AREA_TITLES = {
    "health": "Health probes", "mcp": "MCP server", "readapi": "Read API",
    "versioning": "API versioning", "data": "Postgres data", "redis": "Redis",
    "backup": "Backup restorability", "rollback": "Rollback criteria",
    "observability": "Metrics & observability",
}


@dataclass
class CheckMeta:
    """What the markers of a check say: where it comes from and how much its failure weighs."""

    area: str
    runbook: str  # "001 §6.1"
    item: str  # the checklist line, in words
    severity: str  # blocker | warning
    gate: str | None = None  # readiness | feedback | None
    smoke: bool = False
    remedy: str | None = None  # what to do when it fails (the runbook's step)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    id: str
    meta: CheckMeta
    outcome: str = "passed"  # passed | failed | skipped | error
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def judged(self) -> Judged:
        return Judged(self.meta.severity, self.meta.gate, self.outcome, self.meta.item)

    def as_summary(self) -> dict[str, Any]:
        """The entry of summary.json's ``checks`` list (DESIGN: Outputs)."""
        return {
            "id": self.id,
            "area": self.meta.area,
            "runbook": self.meta.runbook,
            "item": self.meta.item,
            "severity": self.meta.severity,
            "outcome": self.outcome,
            "message": self.message,
            "evidence": self.evidence,
        }

"""One check's result as the report, summary.json and the verdict see it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from releasegate.gate.verdict import FAILED_OUTCOMES, Judged, kind_of

AREAS = ("health", "mcp", "readapi", "versioning", "data", "redis", "backup", "rollback",
         "observability")
AREA_TITLES = {
    "health": "Health probes", "mcp": "MCP server", "readapi": "Read API",
    "versioning": "API versioning", "data": "Postgres data", "redis": "Redis",
    "backup": "Backup restorability", "rollback": "Rollback criteria",
    "observability": "Metrics & observability",
}
# What each outcome is called wherever a person reads it.
OUTCOME_LABEL = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "N/A",
                 "inconclusive": "INCONCLUSIVE", "waived": "WAIVED"}


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
    name: str = ""  # the check's function name, as severity overrides and waivers name it
    remedies: dict[str, str] = field(default_factory=dict)  # failure kind -> its own remedy

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    id: str
    meta: CheckMeta
    outcome: str = "passed"  # passed | failed | error | inconclusive | waived | skipped
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    remedy: str | None = None  # a remedy specific to how it failed; else meta.remedy
    cause: str | None = None  # the key of the wrong answer this failure is about
    follows: str | None = None  # the id of the check whose failure this one follows from
    kind: str | None = None  # how it failed (core.errors.FAILURE_KINDS), as the check said
    waiver: dict[str, Any] | None = None  # {check, justification, expires, state}

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES

    @property
    def what_to_do(self) -> str | None:
        if self.remedy or self.outcome != "inconclusive":
            return self.remedy or self.meta.remedies.get(self.failure_kind or "") or self.meta.remedy
        # Nothing was judged: the failure's remedy ("roll back now") would contradict the verdict.
        after = f"; should it fail then: {self.meta.remedy}" if self.meta.remedy else ""
        return ("not judged, so not a failure: give the check what the reason says it lacks, "
                f"then re-run{after}")

    @property
    def failure_kind(self) -> str | None:
        """How it failed: the kind the check named, else read from its reason (verdict.kind_of)."""
        return kind_of(self.kind, self.message) if self.failed else None

    def exchanges(self) -> list[dict[str, Any]]:
        return list(self.evidence.get("requests", []))

    def judged(self) -> Judged:
        return Judged(self.meta.severity, self.meta.gate, self.outcome, self.meta.item, self.id,
                      self.meta.area, self.meta.runbook, self.message, self.follows is not None,
                      self.failure_kind)

    def as_summary(self) -> dict[str, Any]:
        """The entry of summary.json's ``checks`` list (DESIGN: Outputs, plus what issue 7 adds)."""
        entry: dict[str, Any] = {
            "id": self.id,
            "area": self.meta.area,
            "runbook": self.meta.runbook,
            "item": self.meta.item,
            "severity": self.meta.severity,
            "outcome": self.outcome,
            "message": self.message,
            "evidence": self.evidence,
        }
        if self.failed or self.outcome in ("waived", "inconclusive"):
            entry["remedy"] = self.what_to_do
        if self.follows:
            entry["follows_from"] = self.follows
        if self.failure_kind:
            entry["kind"] = self.failure_kind
        if self.waiver:
            entry["waiver"] = self.waiver
        return entry

"""The reference MCP tools' outputs (their outputSchema), after runbook 000 §1.2's examples.

These are the reference stack's own field names: the built-in contracts require only what the
runbook defines, so a service naming its fields otherwise still passes.
"""

from __future__ import annotations

from pydantic import BaseModel


class RateLimitStatus(BaseModel):
    ok: bool
    daily_remaining: int | None = None
    minute_remaining: int | None = None
    observed_at: str | None = None
    error: str | None = None


class DatabaseStats(BaseModel):
    ok: bool
    raw: dict[str, int] = {}
    core: dict[str, int] = {}
    mart: dict[str, int] = {}
    error: str | None = None


class SeasonCoverage(BaseModel):
    season: int
    rows: int
    avg_coverage: float
    min_coverage: float
    last_calculated: str | None


class CoverageSummary(BaseModel):
    ok: bool
    summary: list[SeasonCoverage] | None = None
    error: str | None = None


class EndpointCoverage(BaseModel):
    endpoint: str
    season: int
    overall_coverage: float
    calculated_at: str | None


class CoverageStatus(BaseModel):
    ok: bool
    league_id: int
    endpoints: list[EndpointCoverage] = []
    error: str | None = None


class Job(BaseModel):
    job_id: str
    enabled: bool
    schedule: str
    status: str | None = None
    last_run_at: str | None = None
    last_error: str | None = None


class JobStatus(BaseModel):
    ok: bool
    jobs: list[Job] = []
    error: str | None = None


class Fixture(BaseModel):
    id: int
    league_id: int
    date_utc: str
    status: str
    home_team: str
    away_team: str


class DriftedFixture(BaseModel):
    """mcp_schema_drift: a refactor renamed the team fields (and the schema went with them)."""

    id: int
    league_id: int
    date_utc: str
    status: str
    home_team_name: str
    away_team_name: str


class BackfillJob(BaseModel):
    job_id: str
    total: int
    completed: int


class PendingTask(BaseModel):
    job_id: str
    task_key: str
    last_error: str | None
    updated_at: str | None


class BackfillProgress(BaseModel):
    ok: bool
    jobs: list[BackfillJob] = []
    pending: list[PendingTask] = []
    error: str | None = None


class EndpointErrors(BaseModel):
    endpoint: str
    status_code: int
    count: int


class RawErrorSummary(BaseModel):
    ok: bool
    since_minutes: int
    total_responses: int = 0
    errors: list[EndpointErrors] = []
    error: str | None = None


class LogError(BaseModel):
    logged_at: str
    job_id: str | None
    event: str
    message: str


class RecentLogErrors(BaseModel):
    ok: bool
    errors: list[LogError] = []
    error: str | None = None


class EndpointSync(BaseModel):
    endpoint: str
    last_fetched: str | None
    responses: int


class LastSyncTime(BaseModel):
    ok: bool
    endpoints: list[EndpointSync] = []
    error: str | None = None


# --- the server ------------------------------------------------------------------------------

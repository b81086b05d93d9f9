"""The observation layer another Python team wrote behind its MCP tools (runbook 000 §1.2).

Tool names, arguments and the fields 000 §1.2 names (ok, daily_remaining, minute_remaining,
summary; a fixture's id, league_id, date_utc, status, home_team, away_team) follow the runbook;
every other name is this team's own. Faults (``FAULTS``, comma-separated) break one thing each.
"""

from __future__ import annotations

import os
from typing import Any

FAULTS = frozenset(f for f in os.environ.get("FAULTS", "").split(",") if f)

FIXTURES = [
    {"id": "fx-5101", "league_id": 140, "date_utc": "2026-12-06T20:00:00+00:00", "status": "scheduled",
     "home_team": "Costa Azul", "away_team": "Sierra Norte", "round_label": "Matchday 15"},
    {"id": "fx-5102", "league_id": 140, "date_utc": "2026-12-06T18:15:00+00:00", "status": "live",
     "home_team": "Puerto Viejo", "away_team": "Valle Alto", "round_label": "Matchday 15"},
]


def quota() -> dict[str, Any]:
    return {"ok": True, "daily_remaining": None, "minute_remaining": 55, "source_header_seen": False}


def database() -> dict[str, Any]:
    return {"ok": True, "layers": [{"layer": "raw", "rows": 10234}, {"layer": "core", "rows": 4410}]}


def coverage(season: int | None = None) -> dict[str, Any]:
    return {"ok": True, "summary": {"season": season or 2026, "mean_pct": 91.5}}


def jobs() -> dict[str, Any]:
    return {"ok": True, "jobs": [{"name": "fixtures_daily", "last_state": "ok"},
                                 {"name": "standings_daily", "last_state": None}]}


def fixtures(limit: int = 10) -> list[dict[str, Any]]:
    rows = FIXTURES[:limit]
    if "fixtures_renamed" in FAULTS:  # a refactor renamed date_utc
        return [{("kickoff" if k == "date_utc" else k): v for k, v in row.items()} for row in rows]
    return rows


def answer(tool: str, arguments: dict[str, Any]) -> Any:
    """What each tool returns, by the runbook's tool name."""
    table: dict[str, Any] = {
        "get_rate_limit_status": quota,
        "get_database_stats": database,
        "get_coverage_summary": lambda: coverage(arguments.get("season")),
        "get_job_status": jobs,
        "query_fixtures": lambda: fixtures(int(arguments.get("limit", 10))),
        "get_backfill_progress": lambda: {"ok": True, "progress": {"fixtures_2025": 0.62}},
        "get_raw_error_summary": lambda: {"ok": True, "errors": {"rate_limited": 1, "server": 0},
                                          "window": arguments.get("since_minutes", 60)},
        "get_recent_log_errors": lambda: {"ok": True, "entries": []},
        "get_coverage_status": lambda: {"ok": True, "per_endpoint": {}},
        "get_last_sync_time": lambda: {"ok": True, "synced": {"fixtures": "2026-12-06T08:00:00Z"}},
        "trigger_backfill": lambda: {"ok": True, "queued": 1},
    }
    return table[tool]()


TOOLS = ["get_rate_limit_status", "get_database_stats", "get_coverage_summary", "get_job_status",
         "query_fixtures", "get_backfill_progress", "get_raw_error_summary", "get_recent_log_errors",
         "get_coverage_status", "get_last_sync_time"]
if "write_tool" in FAULTS:
    TOOLS.append("trigger_backfill")

"""The named faults of the reference stack and what each one breaks.

A fault is either applied by the orchestrator (stop a server after boot) or read by the app at
start from RG_FAULTS. Names are snake_case; ``releasegate stack faults`` prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: str
    runbook: str


FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("db_down", "Postgres is stopped after boot: readiness must report 503 and db error",
          "001 §6.1, 002 §2.2"),
    Fault("redis_down", "Redis is stopped after boot: readiness must report 503 and redis error",
          "001 §6.1, 001 §6.4"),
    Fault("ready_200_while_db_down", "Postgres is stopped but /healthz/ready still answers 200",
          "004 Readiness Probe"),
    Fault("live_depends_on_db", "/healthz/live queries the database and reports it",
          "001 §6.1 Liveness, 004 Liveness Probe"),
    Fault("wrong_environment", "the service reports environment 'development'",
          "001 §6.1 checklist"),
    Fault("build_id_missing", "/health/ready has no build_id", "002 §2.1"),
    Fault("build_id_stale", "/health/ready reports an older build than the one deployed",
          "002 §2.1"),
    Fault("config_hash_malformed", "/health/ready config_hash is not sha256:<hex>", "002 §2.1"),
    Fault("ready_slow", "/healthz/ready answers after its probe timeoutSeconds", "004 Readiness Probe"),
    Fault("probes_slow", "/healthz/live, /ready and /startup all answer after their timeoutSeconds",
          "004 Kubernetes probe config"),
    Fault("health_body_malformed", "the /healthz probes answer 200 with a body missing status",
          "001 §6.1 Beklenen Response"),
    Fault("config_invalid", "/health/ready reports checks.config error (validate_config failed)",
          "002 §2.2, §2.3"),
    Fault("ready_flapping", "/healthz/ready alternates 200 and 503", "002 §1.3"),
    Fault("startup_stuck", "/healthz/startup answers 503 forever", "001 §6.1, 004 Startup Probe"),
    Fault("legacy_healthz_gone", "legacy /healthz answers 404", "004 Legacy Health Check"),
)}

# Faults the orchestrator applies by stopping a server once the app is up.
STOP_POSTGRES = frozenset({"db_down", "ready_200_while_db_down"})
STOP_REDIS = frozenset({"redis_down"})


def parse_faults(text: str | None) -> tuple[str, ...]:
    """'a,b' → ('a', 'b'); an unknown name raises ValueError naming the known ones."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {', '.join(unknown)}; known faults: {', '.join(FAULTS)}"
                         " (see: releasegate stack faults)")
    return names

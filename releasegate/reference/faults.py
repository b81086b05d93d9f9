"""The named faults of the reference stack: every part's, in one table.

``releasegate stack faults`` prints it; the fault matrix (tests/fault_matrix/) proves each one.
"""

from __future__ import annotations

from pathlib import Path

from releasegate.reference.parts import Fault, parts

FAULTS: dict[str, Fault] = {f.name: f for part in parts() for f in part.faults}
# Faults the app's routes read per request: `releasegate stack fault NAME on|off` switches them
# while the stack runs. The others act at start (a stopped server, a route left out, a
# Prometheus rule file, the MCP server's own process) and only come with --faults.
LIVE = frozenset({
    "ready_flapping", "config_invalid", "build_id_stale", "build_id_missing",
    "config_hash_malformed", "legacy_healthz_gone", "startup_stuck", "probes_slow", "ready_slow",
    "health_body_malformed", "live_depends_on_db",
    "error_5xx_burst", "latency_spike", "s1_spike", "task_failures", "run_summary_malformed",
    "feedback_stats_down", "system_health_down", "kill_switch_ignored", "rate_limit_never_429",
    "pilot_data_leaks",
})


def parse_faults(text: str | None) -> tuple[str, ...]:
    """'a,b' → ('a', 'b'); an unknown name raises ValueError naming the known ones."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {', '.join(unknown)}; known faults: {', '.join(FAULTS)}"
                         " (see: releasegate stack faults)")
    return names


def switch(profile_path: str, name: str, on: bool) -> list[str]:
    """Switch live fault ``name`` of the running stack whose profile is ``profile_path``; return
    the faults on. ValueError (one line) when the stack does not answer or refuses."""
    import httpx
    import yaml

    try:
        profile = yaml.safe_load(Path(profile_path).read_text(encoding="utf-8"))
        base_url = profile["health"]["base_url"]
    except (OSError, TypeError, KeyError, yaml.YAMLError) as exc:
        raise ValueError(f"{profile_path}: not the profile of a running reference stack "
                         f"({type(exc).__name__}); start one with: releasegate stack up") from None
    try:
        answer = httpx.post(f"{base_url}/__reference/faults", json={"name": name, "on": on},
                            timeout=5, trust_env=False)
    except httpx.HTTPError as exc:
        raise ValueError(f"the reference stack at {base_url} does not answer ({exc}); "
                         "is `releasegate stack up` still running?") from None
    if answer.status_code != 200:
        raise ValueError(str(answer.json().get("detail", answer.text))[:300])
    return list(answer.json()["on"])


__all__ = ["FAULTS", "LIVE", "Fault", "parse_faults", "switch"]

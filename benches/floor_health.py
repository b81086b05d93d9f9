"""The floor for a health run: the requests `releasegate run -m health` makes, by bare httpx.

Usage: python benches/floor_health.py PROFILE     (the reference stack's written profile)

GET of every health path the profile names, once each: the live, ready and startup probes
(001 §6.1), the legacy /healthz (004) and /health/ready (002 §2.2). Each is checked for the
answer the health checks need (200 and a JSON object). No pytest, no report: the least a script
doing the same job must spend. Exit 0 when every answer was as expected, 1 otherwise.
"""

from __future__ import annotations

import sys

import httpx
import yaml


def paths(health: dict) -> list[str]:
    found = [probe["path"] for probe in health.get("probes", {}).values()]
    if health.get("legacy", {}).get("path"):
        found.append(health["legacy"]["path"])
    found.append((health.get("release") or {}).get("path", "/health/ready"))
    return list(dict.fromkeys(found))


def main(profile_path: str) -> int:
    with open(profile_path, encoding="utf-8") as fh:
        health = yaml.safe_load(fh)["health"]
    problems = []
    with httpx.Client(base_url=health["base_url"], timeout=5.0, trust_env=False) as client:
        for path in paths(health):
            answer = client.get(path)
            if answer.status_code != 200 or not isinstance(answer.json(), dict):
                problems.append(f"{path}: {answer.status_code}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

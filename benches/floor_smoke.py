"""The floor for the smoke run: the same HTTP requests as `releasegate run -m smoke`, nothing else.

Usage: python benches/floor_smoke.py BASE_URL

One httpx.Client (trust_env=False, like the suite's HttpTarget), four checks, status 200 each:
GET /healthz/live, GET /healthz/ready, GET /healthz/startup (polled until 200 as the suite does,
for at most 1.5 s every 0.25 s, the reference profile's wait_s/period_s), GET /health/ready.
Exit 0 when all four answer 200, 1 otherwise. Only httpx is imported beyond the standard library,
so timing this script as a subprocess gives interpreter start + httpx import + the requests.
"""

from __future__ import annotations

import sys
import time

import httpx

PATHS = ("/healthz/live", "/healthz/ready", "/healthz/startup", "/health/ready")
STARTUP_WAIT_S = 1.5
STARTUP_PERIOD_S = 0.25
TIMEOUT = httpx.Timeout(connect=1.0, read=3.0, write=3.0, pool=1.0)


def smoke(client: httpx.Client) -> list[str]:
    """Make the smoke requests; return one line per request that did not answer 200."""
    failures = []
    for path in PATHS:
        response = client.get(path)
        if path == "/healthz/startup":
            deadline = time.perf_counter() + STARTUP_WAIT_S
            while response.status_code != 200 and time.perf_counter() + STARTUP_PERIOD_S <= deadline:
                time.sleep(STARTUP_PERIOD_S)
                response = client.get(path)
        if response.status_code != 200:
            failures.append(f"GET {path}: {response.status_code}")
    return failures


def make_client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=TIMEOUT, trust_env=False, follow_redirects=False)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: floor_smoke.py BASE_URL", file=sys.stderr)
        return 2
    with make_client(argv[0]) as client:
        failures = smoke(client)
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

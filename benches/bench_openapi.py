"""What `schema: openapi` costs: loading a service's OpenAPI document, and judging one answer by it.

Usage: .venv/bin/python benches/bench_openapi.py [--repeat N] [--output PATH]

The document is FastAPI's own (3.1.0) for the independent Read API of tests/independent/; the
answers are the ones its teams and fixtures endpoints give. In-process, no network: the numbers
are openapi-core's work that a run adds per endpoint (the document is loaded once per run).
Informational: issue 17 names no floor for it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from releasegate.http.client import Fetch  # noqa: E402
from releasegate.readapi.openapi import OpenApiContract  # noqa: E402
from tests.independent.readapi_app import MATCHES, TEAMS, create_app  # noqa: E402

JSON = {"content-type": "application/json"}


def timed(action, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--output", default=str(REPO / "benches/results/openapi.json"))
    args = parser.parse_args(argv)
    document = create_app().openapi()
    load = timed(lambda: OpenApiContract(document, "GET /openapi.json"), max(5, args.repeat // 20))
    contract = OpenApiContract(document, "GET /openapi.json")
    teams = Fetch("GET", "http://127.0.0.1:1/v1/teams?league_id=39", status=200, headers=JSON,
                  body=json.dumps({"results": TEAMS}).encode())
    fixtures = [{**m, "date_utc": m["date_utc"].isoformat()} for m in MATCHES[:20]]
    page = Fetch("GET", "http://127.0.0.1:1/v1/fixtures?limit=20", status=200, headers=JSON,
                 body=json.dumps({"data": fixtures, "meta": {"returned": 20, "page_size": 20}}).encode())
    assert contract.problem(teams) is None and contract.problem(page) is None
    judge_teams = timed(lambda: contract.problem(teams), args.repeat)
    judge_page = timed(lambda: contract.problem(page), args.repeat)
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average": list(os.getloadavg()),
        "repeat": args.repeat,
        "document_load_ms": {"median": 1000 * statistics.median(load), "max": 1000 * max(load)},
        "judge_teams_10_items_ms": {"median": 1000 * statistics.median(judge_teams)},
        "judge_fixtures_20_items_ms": {"median": 1000 * statistics.median(judge_page)},
    }
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

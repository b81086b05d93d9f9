"""The floor for the smoke run: the same requests as `releasegate run -m smoke`, by bare libraries.

Usage: python benches/floor_smoke.py PROFILE     (the reference stack's written profile)

What the 21 smoke checks ask the reference stack, without the gate around them, each request
once and checked only for the answer the check needs:
- health (001 §6.1, 002 §2.2): GET /healthz/live, /healthz/ready, /healthz/startup (polled until
  200 for at most wait_s, every period_s, as the suite does) and /health/ready;
- Read API and versioning (000 §3, 001 §6.4): GET /v1/health, /v1/quota with basic auth, the
  system_status SSE stream until its first event, GET /api/v1/leads;
- MCP (000 §1): initialize, notifications/initialized, tools/list through every page,
  server/discover, and the calls A, B, D (SSE answers read until the response);
- data (000 §2): the read-only session facts and the write-privilege query (releasegate.postgres.session's SQL
  texts, imported as strings) on a psycopg connection;
- Redis (001 §6.4): PING, SET NX EX / GET / DEL of one key;
- backup (001 §6.3): the newest file in the backups directory, its size and age;
- observability (004): GET /metrics parsed by prometheus_client, the Sentry DSN parsed.
Exit 0 when everything answered as expected, 1 otherwise (one line per problem on stderr).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import redis
import yaml
from prometheus_client.parser import text_string_to_metric_families

from releasegate.postgres.session import SESSION_FACTS, WRITE_PRIVILEGES

TIMEOUT = httpx.Timeout(connect=1.0, read=3.0, write=3.0, pool=1.0)
MCP_ACCEPT = "application/json, text/event-stream"
SMOKE_CALLS = ("get_rate_limit_status", "get_database_stats", "get_job_status")  # 000 §1.2 A, B, D


class Floor:
    """Connections made once (as the suite's engines make theirs), then the smoke requests."""

    def __init__(self, profile: dict[str, Any]) -> None:
        self.profile = profile
        self.http = httpx.Client(timeout=TIMEOUT, trust_env=False, follow_redirects=False)
        # the Read API lets only its allowlist in: requests leave from the listed address
        self.listed = httpx.Client(timeout=TIMEOUT, trust_env=False, follow_redirects=False,
                                   transport=httpx.HTTPTransport(
                                       local_address=profile["read_api"].get("source_address")))

    def close(self) -> None:
        self.http.close()
        self.listed.close()

    def smoke(self) -> list[str]:
        problems: list[str] = []
        for part in (self.health, self.read_api, self.mcp, self.data, self.redis_, self.backup,
                     self.observability):
            try:
                problems += part()
            except Exception as exc:  # a bench floor: name the part that broke, keep going
                problems.append(f"{part.__name__}: {type(exc).__name__}: {exc}")
        return problems

    def _get(self, url: str, want: int = 200, client: httpx.Client | None = None,
             **kw: Any) -> list[str]:
        status = (client or self.http).get(url, **kw).status_code
        return [] if status == want else [f"GET {url}: {status}"]

    def health(self) -> list[str]:
        cfg = self.profile["health"]
        base, probes = cfg["base_url"], cfg["probes"]
        problems = self._get(base + probes["live"]["path"]) + self._get(base + probes["ready"]["path"])
        startup = probes["startup"]
        deadline = time.perf_counter() + startup["wait_s"]
        while (status := self.http.get(base + startup["path"]).status_code) != 200 \
                and time.perf_counter() + startup["period_s"] <= deadline:
            time.sleep(startup["period_s"])
        problems += [] if status == 200 else [f"startup: {status}"]
        return problems + self._get(base + cfg["release"]["path"])

    def read_api(self) -> list[str]:
        cfg = self.profile["read_api"]
        base, auth = cfg["base_url"], (cfg["auth"]["username"], cfg["auth"]["password"])
        problems = self._get(base + cfg["endpoints"]["health"]["path"], client=self.listed)
        problems += self._get(base + cfg["endpoints"]["quota"]["path"], auth=auth, client=self.listed)
        stream = next(iter(cfg["streams"].values()))
        with self.listed.stream("GET", base + stream["path"], auth=auth,
                              headers={"Accept": "text/event-stream"}) as response:
            seen = False
            for line in response.iter_lines():
                if line == f"event: {stream['event']}":
                    seen = True
                elif seen and line.startswith("data:"):
                    json.loads(line[5:])
                    break
        problems += [] if seen else [f"{stream['path']}: no {stream['event']}"]
        versioning = self.profile["versioning"]
        leads = versioning["endpoints"]["leads"]
        status = self.http.get(versioning["base_url"] + leads["path"]).status_code
        return problems + ([] if status in leads["allowed_status"] else [f"{leads['path']}: {status}"])

    def mcp(self) -> list[str]:
        cfg = self.profile["mcp"]
        headers = {"Accept": MCP_ACCEPT, **cfg.get("headers", {})}
        version = "2025-11-25"

        def rpc(method: str, params: dict[str, Any] | None, ident: int | None, **extra: str) -> Any:
            body: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
            if params is not None:
                body["params"] = params
            if ident is not None:
                body["id"] = ident
            response = self.http.post(cfg["url"], json=body, headers={**headers, **extra})
            if ident is None:
                return response
            if "event-stream" in response.headers.get("content-type", ""):
                for line in response.text.splitlines():
                    if line.startswith("data:") and line[5:].strip():
                        message = json.loads(line[5:])
                        if message.get("id") == ident:
                            return response, message
            return response, response.json()

        response, init = rpc("initialize", {"protocolVersion": version, "capabilities": {},
                                            "clientInfo": {"name": "floor", "version": "0"}}, 1)
        session = {"mcp-session-id": response.headers.get("mcp-session-id", ""),
                   "mcp-protocol-version": init["result"]["protocolVersion"]}
        rpc("notifications/initialized", None, None, **session)
        cursor, ident, problems = None, 2, []
        while True:
            _, listed = rpc("tools/list", {"cursor": cursor} if cursor else {}, ident, **session)
            ident += 1
            cursor = listed["result"].get("nextCursor")
            if not cursor:
                break
        discover = self.http.post(cfg["url"], headers={**headers, "Mcp-Method": "server/discover"},
                                  json={"jsonrpc": "2.0", "id": ident, "method": "server/discover",
                                        "params": {"_meta": {"protocolVersion": "2026-07-28"}}})
        ident += 1
        problems += [] if discover.status_code < 500 else [f"server/discover: {discover.status_code}"]
        for tool in SMOKE_CALLS:
            _, called = rpc("tools/call", {"name": tool, "arguments": {}}, ident, **session)
            ident += 1
            if called.get("result", {}).get("isError", True):
                problems.append(f"tools/call {tool}: {called}")
        self.http.delete(cfg["url"], headers={**headers, **session})
        return problems

    def data(self) -> list[str]:
        with psycopg.connect(self.profile["database"]["dsn"], autocommit=True) as conn:
            conn.execute(SESSION_FACTS).fetchall()
            conn.execute(WRITE_PRIVILEGES).fetchall()
        return []

    def redis_(self) -> list[str]:
        with redis.Redis.from_url(self.profile["redis"]["url"], protocol=2, socket_timeout=2) as r:
            key = f"releasegate:floor:{uuid.uuid4().hex[:12]}"
            ok = r.ping() and r.set(key, "v", ex=60, nx=True) and r.get(key) == b"v"
            r.delete(key)
        return [] if ok else ["redis round trip failed"]

    def backup(self) -> list[str]:
        files = [p for p in Path(self.profile["backup"]["files"]["path"]).iterdir() if p.is_file()]
        newest = max(files, key=lambda p: p.stat().st_mtime)
        age_h = (time.time() - newest.stat().st_mtime) / 3600
        ok = newest.stat().st_size > 0 and age_h <= self.profile["backup"]["files"]["max_age_h"]
        return [] if ok else [f"{newest}: empty or {age_h:.1f} h old"]

    def observability(self) -> list[str]:
        endpoint = self.profile["metrics"]["endpoint"]
        text = self.http.get(endpoint["base_url"] + endpoint["path"]).text
        families = list(text_string_to_metric_families(text))
        dsn = os.path.expandvars(str(self.profile["sentry"]["dsn"]))
        ok = families and urlsplit(dsn.split(":-", 1)[-1].rstrip("}")).username
        return [] if ok else ["metrics or DSN unusable"]


def load(profile_path: str) -> dict[str, Any]:
    return yaml.safe_load(Path(profile_path).read_text())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: floor_smoke.py PROFILE", file=sys.stderr)
        return 2
    floor = Floor(load(argv[0]))
    try:
        problems = floor.smoke()
    finally:
        floor.close()
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

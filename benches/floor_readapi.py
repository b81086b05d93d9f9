"""The floor for the Read API + versioning suites: the same HTTP calls, made by a bare httpx script.

Usage: python benches/floor_readapi.py PROFILE

Reads the reference stack's profile (PyYAML) and makes every request `releasegate run -m "readapi
or versioning"` makes against it, with httpx and httpx-sse and nothing of releasegate, checking
only the status codes and that each stream's event arrives:

- the keep-alive windows of every stream with keepalive_s: read for observe_s, in threads started
  first (the suite starts them at session start too, so they overlap the rest the same way);
- REST from source_address with basic auth: each endpoint with its params, each unknown_path,
  OPTIONS on each endpoint path, the protected path without and with wrong credentials, and
  without credentials under each forwarding header alone (X-Forwarded-For, X-Real-IP, Forwarded);
- from the outside address: the protected path, plainly and with spoofed forwarding headers;
- each stream until its event (both at once), then again with Last-Event-ID;
- versioning: each v1 endpoint, each legacy endpoint, the OpenAPI document.

Exit 0 when everything answered as the healthy stack does, 1 otherwise (lines on stderr).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import yaml
from httpx_sse import connect_sse

TIMEOUT = httpx.Timeout(connect=1.0, read=3.0, write=3.0, pool=1.0)


def url(path: str, params: dict[str, Any] | None) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def client(base: str, source: str | None, auth: tuple[str, str] | None) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=TIMEOUT, trust_env=False, auth=auth,
                        transport=httpx.HTTPTransport(local_address=source))


def read_stream(c: httpx.Client, path: str, event: str, seconds: float, *, stop: bool,
                last_id: str = "") -> tuple[int, str]:
    """(status, id of the first `event`) after reading until it, or for `seconds` when not stop."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    found = ""
    end = time.perf_counter() + seconds
    with connect_sse(c, "GET", path, headers=headers,
                     timeout=httpx.Timeout(1.0, read=seconds)) as source:
        if source.response.status_code != 200:
            return source.response.status_code, ""
        for sse in source.iter_sse():
            if sse.event == event and not found:
                found = sse.id or "-"
                if stop:
                    break
            if time.perf_counter() >= end:
                break
    return 200, found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: floor_readapi.py PROFILE", file=sys.stderr)
        return 2
    with open(argv[0]) as fh:
        profile = yaml.safe_load(fh)
    api, ver = profile["read_api"], profile["versioning"]
    auth = (api["auth"]["username"], api["auth"]["password"])
    failures: list[str] = []

    def expect(label: str, got: int, *wanted: int) -> None:
        if got not in wanted:
            failures.append(f"{label}: {got}, expected {wanted}")

    inside = client(api["base_url"], api.get("source_address"), auth)
    windows = []
    for name, s in api["streams"].items():
        if s.get("keepalive_s"):
            thread = threading.Thread(target=read_stream, args=(
                inside, s["path"], s["event"], s.get("observe_s", 2 * s["keepalive_s"])),
                kwargs={"stop": False}, daemon=True, name=name)
            thread.start()
            windows.append(thread)

    endpoints = api["endpoints"]
    for name, ep in endpoints.items():
        expect(name, inside.get(url(ep["path"], ep.get("params"))).status_code, 200)
        if ep.get("unknown_path"):
            expect(ep["unknown_path"], inside.get(ep["unknown_path"]).status_code, 404)
    for path in dict.fromkeys(ep["path"] for ep in endpoints.values()):
        inside.options(path)
    protected = next(url(ep["path"], ep.get("params")) for n, ep in endpoints.items() if n != "health")
    with client(api["base_url"], api.get("source_address"), None) as anonymous:
        expect("no credentials", anonymous.get(protected).status_code, 401)
        expect("wrong credentials", anonymous.get(protected, auth=(auth[0], "wrong")).status_code, 401)
        trusted = api.get("source_address") or "127.0.0.1"  # each forwarding header alone: 401
        for header, value in (("X-Forwarded-For", trusted), ("X-Real-IP", trusted),
                              ("Forwarded", f"for={trusted}")):
            expect(header, anonymous.get(protected, headers={header: value}).status_code, 401)
    listed = api.get("source_address")
    with client(api["base_url"], api["allowlist"]["outside_address"], auth) as outside:
        expect("outside", outside.get(protected).status_code, 403)
        spoof = {"X-Forwarded-For": listed, "X-Real-IP": listed, "Forwarded": f"for={listed}"}
        expect("spoofed", outside.get(protected, headers=spoof).status_code, 403)

    firsts: dict[str, tuple[int, str]] = {}

    def first(name: str, s: dict[str, Any]) -> None:
        firsts[name] = read_stream(inside, s["path"], s["event"], s.get("within_s", 10), stop=True)

    threads = [threading.Thread(target=first, args=(n, s)) for n, s in api["streams"].items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, s in api["streams"].items():
        status, event_id = firsts[name]
        if status != 200 or not event_id:
            failures.append(f"stream {name}: {status}, event id {event_id!r}")
        elif s.get("resume", True):
            _, again = read_stream(inside, s["path"], s["event"], s.get("within_s", 10), stop=True,
                                   last_id=event_id)
            if not again.isdigit() or int(again) <= int(event_id):
                failures.append(f"stream {name}: resumed at {again!r} after {event_id!r}")

    with httpx.Client(base_url=ver["base_url"], timeout=TIMEOUT, trust_env=False) as v:
        for name, ep in ver["endpoints"].items():
            expect(name, v.get(url(ep["path"], ep.get("params"))).status_code,
                   *ep.get("allowed_status", [200]))
        for name, ep in ver["legacy"]["endpoints"].items():
            decision = ep.get("decision", ver["legacy"]["decision"])
            expect(f"legacy {name}", v.get(url(ep["path"], ep.get("params"))).status_code,
                   *([200] if decision == "supported" else [404, 410]))
        expect("openapi", v.get(ver.get("openapi", {}).get("path", "/openapi.json")).status_code, 200)

    for thread in windows:
        thread.join()
    inside.close()
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

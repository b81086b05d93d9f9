"""releasegate.readapi.api: request building, judging bodies, profile defaults, credentials,
source address."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest
import yaml

from releasegate.core.errors import ProfileError
from releasegate.core.profile import Timeouts, load_target
from releasegate.core.redact import Redactor, is_credential_key
from releasegate.http.client import HttpTarget
from releasegate.readapi.api import (
    NONE,
    RIGHT,
    WRONG,
    ReadApi,
    basic,
    is_local_host,
    query,
)
from releasegate.readapi.bodies import filter_misses, items_at

BASE = "http://127.0.0.1:9"


def target(tmp_path: Path, read_api: dict, env: dict[str, str] | None = None):
    path = tmp_path / "t.yaml"
    data = {"name": "unit", "read_api": {"base_url": BASE, **read_api}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_target(path, env=env or {})


# --- pure functions -----------------------------------------------------------------------------


def test_query_encodes_params_and_lowercases_booleans():
    assert query("/v1/fixtures", None) == "/v1/fixtures"
    assert query("/v1/fixtures", {"league_id": 39, "live": True, "search": "Team 1"}) == \
        "/v1/fixtures?league_id=39&live=true&search=Team+1"
    assert query("/v1/x?a=1", {"b": 2}) == "/v1/x?a=1&b=2"


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:8000", True), ("http://127.9.9.9", True), ("http://[::1]:80", True),
    ("http://localhost:8000", True), ("http://api.localhost", True), ("http://LOCALHOST.", True),
    ("http://10.0.0.5", False), ("http://read-api.example.com", False), ("http://192.0.2.2", False),
])
def test_is_local_host(url, local):
    assert is_local_host(url) is local


def test_items_at_follows_dotted_keys_and_wants_a_list():
    assert items_at({"items": [1, 2]}, "items") == [1, 2]
    assert items_at({"data": {"rows": []}}, "data.rows") == []
    assert items_at([{"a": 1}], "") == [{"a": 1}]
    assert items_at({"items": {"a": 1}}, "items") is None
    assert items_at({"other": []}, "items") is None


def test_filter_misses_judges_each_match_kind():
    items = [{"league_id": 1, "name": "Team 10", "kickoff_utc": "2025-08-02T18:00:00+00:00"},
             {"league_id": 2, "name": "Other", "kickoff_utc": "2025-08-03T18:00:00+00:00"},
             {"name": "Team 1"}]
    params = {"league_id": 1, "search": "team 1", "date": "2025-08-02"}
    filters = {"league_id": "league_id", "search": {"field": "name", "match": "contains"},
               "date": {"field": "kickoff_utc", "match": "prefix"}}
    misses = filter_misses(items, filters, params, limit=10)
    assert misses == [
        "item 1 has league_id='2' (asked league_id='1')",
        "item 2 has no league_id",
        "item 1 has name='Other' (asked search containing 'team 1')",
        "item 1 has kickoff_utc='2025-08-03T18:00:00+00:00' (asked date starting with '2025-08-02')",
        "item 2 has no kickoff_utc",
    ]
    assert len(filter_misses(items, filters, params)) == 3  # a failure message names a few
    assert filter_misses(items[:1], filters, params) == []
    assert filter_misses(items, {"status": "status"}, params) == []  # a filter not asked for


def test_filter_compares_numbers_and_booleans_as_text():
    assert filter_misses([{"live": True, "season": 2025}], {"live": "live", "season": "season"},
                         {"live": "true", "season": "2025"}) == []


# --- the engine's view of the profile ----------------------------------------------------------


def test_defaults_from_the_profile(tmp_path):
    api = ReadApi(target(tmp_path, {
        "auth": {"username": "ops", "password": "pw-unit-1"},
        "endpoints": {"health": {"path": "/v1/health"},
                      "standings": {"path": "/v1/standings/1/2025"},
                      "teams": {"path": "/v1/teams", "params": {"limit": 3}},
                      "mine": {"path": "/v1/mine"}},
        "streams": {"s": {"path": "/v1/sse/system-status", "event": "system_status", "keepalive_s": 4},
                    "t": {"path": "/v1/sse/other", "event": "other"}},
    }), redactor=Redactor())
    assert api.protected_path() == "/v1/standings/1/2025"  # the first endpoint but health
    # runbook 000 defines fields for fixtures, standings and quota only: teams has no built-in schema
    assert api.schema_for("teams") is None and api.item_schema_for("teams") is None
    assert api.item_schema_for("standings") == "readapi/standings.item.schema.json"  # shipped
    assert api.schema_for("mine") is None
    assert api.stream("s")["observe_s"] == 8 and api.stream("s")["within_s"] == 10
    assert "observe_s" not in api.stream("t")
    assert api.stream_schema("s") is None  # 000 §3.2 names the event, not its data
    assert api.stream_schema("t") is None
    methods, paths = api.read_only()
    assert methods == ["POST", "PUT", "PATCH", "DELETE"]
    assert paths == ["/v1/health", "/v1/standings/1/2025", "/v1/teams", "/v1/mine"]
    assert api.allowlist() == {"listed_address": None, "refused_status": [403]}


def test_credentials_are_registered_and_reproduced_as_variables(tmp_path):
    t = target(tmp_path, {"auth": {"username": "${RG_U}", "password": "${RG_P}"},
                          "source_address": "127.0.0.2"}, env={"RG_U": "ops-user", "RG_P": "pw-s3cr3t-unit"})
    redactor = t.redactor()
    api = ReadApi(t, redactor)
    header = basic("ops-user", "pw-s3cr3t-unit")
    assert api.credentials(RIGHT) == {"Authorization": header}
    assert api.credentials(NONE) == {}
    assert api.credentials(WRONG)["Authorization"] != header
    # echoed back in any form, the credential is masked
    assert redactor.text(f"seen {header} and {header.split()[1]}") == "seen *** and ***"
    command = redactor.shell(api.curl("/v1/quota"))
    assert '-u "${RG_U}":"${RG_P}"' in command and "--interface 127.0.0.2" in command
    assert "pw-s3cr3t-unit" not in command and "ops-user" not in command


def test_the_profile_section_is_strict(tmp_path):
    for bad, needle in [({"endpoint": {}}, "unknown key 'endpoint'"),
                        ({"source_address": "not-an-ip"}, "source_address"),
                        ({"streams": {"s": {"path": "/x"}}}, "'event' is a required property"),
                        ({"endpoints": {"x": {"path": "/x", "filters": {"a": {"match": "like"}}}}},
                         "read_api.endpoints.x.filters.a")]:
        with pytest.raises(ProfileError) as info:
            target(tmp_path, bad)
        assert needle in str(info.value), str(info.value)


# --- requests -----------------------------------------------------------------------------------


@pytest.fixture
def peer_echo():
    """A server answering each request with the address it came from."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.recv(4096)
                body = f'{{"peer": "{addr[0]}"}}'.encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    server.close()


@pytest.mark.parametrize("source", ["127.0.0.2", None])
def test_requests_leave_from_the_source_address(peer_echo, source):
    client = HttpTarget(peer_echo, timeouts=Timeouts(1, 1, 2), body_limit=4096, local_address=source)
    try:
        assert client.fetch("/").json() == {"peer": source or "127.0.0.1"}
    finally:
        client.close()


def test_each_request_is_made_once(tmp_path, peer_echo):
    t = load_target(_write(tmp_path, {"name": "u", "read_api": {"base_url": peer_echo}}), env={})
    api = ReadApi(t, t.redactor())
    try:
        first = api.call("/v1/quota")
        assert api.call("/v1/quota") is first
        assert api.call("/v1/quota", source="127.0.0.2") is not first
        assert api.call("/v1/quota", source="127.0.0.2").fetch.json() == {"peer": "127.0.0.2"}
    finally:
        api.close()


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


SHIPPED = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "targets").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_profiles_give_credentials_only_as_variables(path):
    raw = yaml.safe_load(path.read_text())
    for section in ("read_api", "versioning"):
        cfg = raw.get(section) or {}
        secret = [*(v for k, v in (cfg.get("auth") or {}).items() if k in ("username", "password")),
                  *(v for k, v in (cfg.get("headers") or {}).items() if is_credential_key(k))]
        for value in secret:
            assert re.search(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", value), f"{section}: literal {value!r}"


def test_without_the_sections_every_check_is_not_applicable(tmp_path):
    from tests.support import run_suites, write_profile

    profile = write_profile(tmp_path / "bare.yaml", {"name": "bare", "health": {"base_url": BASE}})
    run = run_suites(profile, tmp_path / "reports", "-m", "readapi or versioning", timeout=60)
    checks = run.summary["checks"]
    assert checks and {c["outcome"] for c in checks} == {"skipped"}, checks
    reasons = {c["message"] for c in checks}
    assert reasons == {"read_api: not configured in target bare",
                       "versioning: not configured in target bare"}, reasons

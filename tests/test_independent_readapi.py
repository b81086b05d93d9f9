"""Issue 17 item 2: the Read API checks hold on a service we did not write.

tests/independent/readapi_app.py is a FastAPI Read API with its own envelopes and field names,
keeping only runbook 000's. Healthy, `-m readapi` must say GO with no failed check (its own
OpenAPI document judges its bodies: ``schema: openapi``); each of its own faults must fail the
check that exists to catch it — and nothing else.
"""

from __future__ import annotations

import pytest
import yaml

from tests.independent.readapi_app import FAULTS, PASSWORD, USER, create_app
from tests.independent.serve import serving
from tests.support import run_suites

pytest.importorskip("openapi_core")

LISTED, OUTSIDE = "127.0.0.2", "127.0.0.1"
STREAM = {"within_s": 3, "keepalive_s": 1, "observe_s": 2}
STREAMS = ("system_status", "live_scores")


def profile(base_url: str) -> dict:
    """How a user maps this service: its envelopes (items:), its field names (filters:), its own
    OpenAPI document (schema: openapi); the runbook's fields are checked by the built-in schemas."""
    return {"name": "independent-readapi", "environment": "test", "read_api": {
        "base_url": base_url,
        "source_address": LISTED,
        "auth": {"username": USER, "password": "${INDEPENDENT_READ_API_PASSWORD}"},
        "endpoints": {
            "health": {"path": "/v1/health", "schema": "openapi"},
            "quota": {"path": "/v1/quota"},  # runbook 000's fields only (built in)
            "fixtures": {"path": "/v1/fixtures", "params": {"league_id": 39, "status": "FT", "limit": 3},
                         "items": "data", "schema": "openapi",
                         "filters": {"league_id": "league_id", "status": "status"}},
            "standings": {"path": "/v1/standings/39/2025", "items": "", "schema": "openapi",
                          "unknown_path": "/v1/standings/39/1990"},
            "teams": {"path": "/v1/teams", "params": {"search": "united", "league_id": 39, "limit": 2},
                      "items": "results", "schema": "openapi",
                      "filters": {"search": {"field": "team_name", "match": "contains"},
                                  "league_id": "league"}},
            "injuries": {"path": "/v1/injuries", "params": {"league_id": 39, "season": 2025, "limit": 2},
                         "items": "data", "schema": "openapi",
                         "filters": {"league_id": "league", "season": "year"}},
        },
        "streams": {
            "system_status": {"path": "/v1/sse/system-status", "event": "system_status", **STREAM},
            "live_scores": {"path": "/v1/sse/live-scores", "event": "live_score_update", **STREAM},
        },
        "allowlist": {"outside_address": OUTSIDE},
    }}


def run(tmp_path, faults: frozenset[str] = frozenset()):
    with serving(create_app(faults)) as base_url:
        path = tmp_path / "independent.yaml"
        path.write_text(yaml.safe_dump(profile(base_url)))
        return run_suites(path, tmp_path / "reports", "-m", "readapi",
                          env={"INDEPENDENT_READ_API_PASSWORD": PASSWORD})


def test_healthy_independent_read_api_is_go_with_no_failed_check(tmp_path):
    result = run(tmp_path)
    assert result.failed() == {}, result.stdout[-3000:]
    outcomes = result.outcomes()
    assert result.summary["verdict"] == "GO" and result.returncode == 0, result.stdout[-3000:]
    # judged, not skipped: the bodies by its own OpenAPI document and runbook 000's fields
    for name in ("health", "quota", "fixtures", "standings", "teams", "injuries"):
        assert outcomes[f"test_endpoint_body_matches_schema[{name}]"] == "passed"
    checks = {c["id"].split("::", 1)[1]: c for c in result.summary["checks"]}
    judged = checks["test_endpoint_body_matches_schema[fixtures]"]["evidence"]["observed"]["contracts"]
    assert judged == ["/openapi.json (OpenAPI)", "schemas/readapi/fixtures.item.schema.json on each item"]


# fault -> check -> substring of its reason: exactly these fail
EXPECTED: dict[str, dict[str, str]] = {
    "health_500": {"test_endpoint_answers_200[health]": "/v1/health returned 500, expected 200",
                   "test_endpoint_body_matches_schema[health]": "/v1/health returned 500, expected 200"},
    "fixtures_drop_home_team": {
        "test_endpoint_body_matches_schema[fixtures]": "item 0 does not match schemas/readapi/"
                                                       "fixtures.item.schema.json at (top level): "
                                                       "'home_team' is a required property"},
    "teams_break_own_openapi": {
        "test_endpoint_body_matches_schema[teams]": "does not match GET "},
    "limit_ignored": {f"test_limit_is_honoured[{n}]": "the limit is ignored"
                      for n in ("fixtures", "teams", "injuries")},
    "filter_ignored": {"test_filters_are_honoured[fixtures]": "(asked league_id='39')"},
    "standings_unknown_500": {"test_unknown_id_gives_404[standings]": "returned 500, expected 404"},
    "accepts_post": {"test_write_method_is_refused[POST]": "OPTIONS /v1/fixtures lists POST in Allow"},
    "forwarded_skips_auth": {
        "test_forwarding_header_without_credentials_gets_401[X-Real-IP]": "returned 200, expected 401"},
    "spoofable_allowlist": {"test_allowlist_ignores_spoofed_forwarded_for": "answered 200, expected 403"},
    "sse_event_renamed": {
        f"{check}[{s}]": "no " for check in ("test_stream_delivers_expected_event",
                                             "test_stream_resumes_from_last_event_id") for s in STREAMS},
    "sse_no_keepalive": {f"test_stream_keeps_alive[{s}]": "over keepalive_s 1s" for s in STREAMS},
    "sse_resume_ignored": {f"test_stream_resumes_from_last_event_id[{s}]": "Last-Event-ID is ignored"
                           for s in STREAMS},
}


def test_every_fault_of_the_independent_read_api_is_exercised():
    assert set(EXPECTED) == set(FAULTS)


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_independent_fault_fails_the_matching_check(fault, tmp_path):
    result = run(tmp_path, frozenset({fault}))
    failed = result.failed()
    assert set(failed) == set(EXPECTED[fault]), result.stdout[-3000:]
    for check, reason in EXPECTED[fault].items():
        assert reason in failed[check], f"{check}: {failed[check]!r} lacks {reason!r}"
    assert result.summary["verdict"] in ("ROLLBACK", "INVESTIGATE")

"""Fault matrix rows of the Read API area (runbook 000 §3; runs `-m readapi`)."""

from __future__ import annotations

from tests.fault_matrix import Row

PARTS = ("readapi",)
AUTHENTICATED = ("quota", "fixtures", "fixtures_by_date", "standings", "teams", "injuries")
LIMITED = ("fixtures", "teams", "injuries")
FILTERED = ("fixtures", "fixtures_by_date", "teams", "injuries")
STREAMS = ("system_status", "live_scores")
FORWARDING = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
EVENTS = {"system_status": "system_status", "live_scores": "live_score_update"}


def each(check: str, names: tuple[str, ...], reason: str) -> dict[str, str]:
    return {f"{check}[{name}]": reason for name in names}


# The profile's password no longer opens the service: every authenticated request answers 401.
ROTATED = {
    **each("test_endpoint_answers_200", AUTHENTICATED, "returned 401, expected 200"),
    **each("test_endpoint_body_matches_schema", AUTHENTICATED, "returned 401, expected 200"),
    **each("test_limit_is_honoured", LIMITED, "returned 401, expected 200"),
    **each("test_filters_are_honoured", FILTERED, "returned 401, expected 200"),
    "test_unknown_id_gives_404[standings]": "/v1/standings/999999/2025 returned 401, expected 404",
    **{f"{check}[{s}]": "(SSE) returned 401, expected 200 with text/event-stream (WWW-Authenticate: Basic"
       for check in ("test_stream_delivers_expected_event", "test_stream_event_data_matches_schema",
                     "test_stream_keeps_alive", "test_stream_resumes_from_last_event_id")
       for s in STREAMS},
    "test_right_credentials_get_200": "/v1/quota returned 401, expected 200",
}
NO_EVENT = {f"{check}[{s}]": f"(SSE): no {EVENTS[s]!r} event within 3s (saw "
            for check in ("test_stream_delivers_expected_event", "test_stream_event_data_matches_schema",
                          "test_stream_resumes_from_last_event_id") for s in STREAMS}

ROWS: list[Row] = [
    Row("", 0, "GO", markers="readapi", parts=PARTS),
    Row("readapi_health_route_missing", 2, "ROLLBACK", {
        "test_endpoint_answers_200[health]": "/v1/health returned 404, expected 200",
        "test_endpoint_body_matches_schema[health]": "/v1/health returned 404, expected 200",
    }, markers="readapi", parts=PARTS),
    Row("readapi_schema_drift", 2, "ROLLBACK", {
        "test_endpoint_body_matches_schema[fixtures]": "reference/readapi/fixtures.schema.json at items/",
        "test_endpoint_body_matches_schema[fixtures_by_date]": "item 0 does not match schemas/readapi/"
                                                               "fixtures.item.schema.json at (top level): "
                                                               "'date_utc' is a required property",
        "test_filters_are_honoured[fixtures_by_date]": "returned items outside the filter: item 0 has no "
                                                       "date_utc",
    }, markers="readapi", parts=PARTS,
        headline="keeps its contract: runbook 000's fields, the service's own schema or OpenAPI "
                 "document [fixtures]"),
    Row("readapi_limit_ignored", 4, "INVESTIGATE", {
        "test_limit_is_honoured[fixtures]": "returned 171 items for limit=5: the limit is ignored",
        "test_limit_is_honoured[teams]": "returned 11 items for limit=3: the limit is ignored",
        "test_limit_is_honoured[injuries]": "returned 15 items for limit=5: the limit is ignored",
    }, markers="readapi", parts=PARTS),
    Row("readapi_filter_ignored", 2, "ROLLBACK", {
        "test_filters_are_honoured[fixtures]": "item 1 has league_id='2' (asked league_id='1')",
        "test_filters_are_honoured[fixtures_by_date]": "has date_utc='2025-08-01T19:00:00+00:00' (asked "
                                                       "date starting with '2025-08-02')",
        "test_filters_are_honoured[teams]": "item 1 has name='Team 2' (asked search containing 'Team 1')",
        "test_filters_are_honoured[injuries]": "item 1 has league_id='2' (asked league_id='1')",
    }, markers="readapi", parts=PARTS),
    Row("unknown_id_500", 2, "ROLLBACK", {
        "test_unknown_id_gives_404[standings]": "/v1/standings/999999/2025 returned 500, expected 404 (the "
                                                "handler crashes on a missing row)",
        "test_v1_endpoint_answers_allowed_status[sales_summary]": "sales-summary returned 500, expected "
                                                                  "200 or 404",
    }, markers="readapi or versioning", parts=("readapi", "versioning")),
    Row("readapi_write_accepted", 2, "ROLLBACK", {
        f"test_write_method_is_refused[{m}]": f"the Read API accepts {m}: OPTIONS /v1/fixtures lists {m} "
                                              "in Allow" for m in ("POST", "PUT", "PATCH", "DELETE")
    }, markers="readapi", parts=PARTS),
    Row("readapi_auth_disabled", 2, "ROLLBACK", {
        "test_no_credentials_get_401_with_basic_challenge": "/v1/quota returned 200, expected 401 (anyone",
        "test_wrong_credentials_get_401": "/v1/quota returned 200, expected 401 (a wrong password was "
                                          "accepted",
        **each("test_forwarding_header_without_credentials_gets_401", FORWARDING,
               "/v1/quota returned 200, expected 401"),
    }, markers="readapi", parts=PARTS, headline="no credentials: 401 with a Basic challenge [000 §3.3]"),
    Row("readapi_any_password", 2, "ROLLBACK", {
        "test_wrong_credentials_get_401": "/v1/quota returned 200, expected 401 (a wrong password was "
                                          "accepted",
    }, markers="readapi", parts=PARTS),
    Row("readapi_password_rotated", 2, "ROLLBACK", ROTATED, markers="readapi", parts=PARTS),
    # The profile names the service by a remote host over plain http: a profile-level judgement, so
    # the row runs only that check (every other one would fail to resolve read-api.invalid).
    Row("readapi_plain_http_remote", 4, "INVESTIGATE", {
        "test_credentials_not_sent_over_plain_http": "read_api.base_url http://read-api.invalid:",
    }, markers="readapi", args=("-k", "test_credentials_not_sent_over_plain_http"), parts=PARTS),
    Row("readapi_allowlist_off", 2, "ROLLBACK", {
        "test_allowlist_refuses_unlisted_address": "from 127.0.0.1, which is not on the allowlist, answered "
                                                   "200, expected 403",
        "test_allowlist_ignores_spoofed_forwarded_for": "from 127.0.0.1 claiming 127.0.0.2 in "
                                                        "X-Forwarded-For, X-Real-IP, Forwarded answered 200",
    }, markers="readapi", parts=PARTS),
    Row("readapi_allowlist_xff_bypass", 2, "ROLLBACK", {
        "test_allowlist_ignores_spoofed_forwarded_for": "claiming 127.0.0.2 in X-Forwarded-For, X-Real-IP, "
                                                        "Forwarded answered 200, expected 403",
    }, markers="readapi", parts=PARTS),
    Row("readapi_forwarded_skips_auth", 2, "ROLLBACK", {
        f"test_forwarding_header_without_credentials_gets_401[{h}]": f"/v1/quota returned 200, expected 401 "
                                                                     f"({h}: {v} without credentials"
        for h, v in zip(FORWARDING, ("127.0.0.2", "127.0.0.2", "for=127.0.0.2"), strict=True)
    }, markers="readapi", parts=PARTS),
    Row("sse_wrong_event", 2, "ROLLBACK", NO_EVENT, markers="readapi", parts=PARTS,
        headline="the stream delivers its event within the configured time [system_status]",
        remedies={f"test_stream_delivers_expected_event[{s}]": f"where consumers listen for event {e!r}"
                  for s, e in EVENTS.items()}),
    Row("sse_stalls", 4, "INVESTIGATE", {
        f"test_stream_keeps_alive[{s}]": ", over keepalive_s 1s: idle proxies drop such streams"
        for s in STREAMS
    }, markers="readapi", parts=PARTS),
    Row("sse_data_malformed", 2, "ROLLBACK", {
        "test_stream_event_data_matches_schema[system_status]": "sse-system_status.schema.json at (top "
                                                                "level): 'status' is a required property",
        "test_stream_event_data_matches_schema[live_scores]": "'fixture_id' is a required property",
    }, markers="readapi", parts=PARTS),
    Row("sse_resume_ignored", 4, "INVESTIGATE", {
        f"test_stream_resumes_from_last_event_id[{s}]": "with Last-Event-ID: 1: the first event after "
                                                        "reconnecting has id 1, expected one after 1"
        for s in STREAMS
    }, markers="readapi", parts=PARTS),
]

"""The small engines of the rollback and observability areas: exposition parsing, run_summary,
PII scan, bounded commands and log reads, Sentry DSN and event checks, pilot answers, and the
Sentry stand-in's envelope handling (fed by the real sentry-sdk serializer)."""

from __future__ import annotations

import gzip
import json
import sys
import time

import pytest
from sentry_sdk.envelope import Envelope

from releasegate.core.command import run_command
from releasegate.core.evidence import Exchange
from releasegate.http.client import Fetch
from releasegate.logs import pii, run_summary
from releasegate.logs.source import LogCache, LogSample, LogUnreadable, read
from releasegate.pilot.api import settings, stopped
from releasegate.prometheus import exposition as metrics_scrape
from releasegate.reference import sentry_standin
from releasegate.sentry import client as sentry

# --- /metrics --------------------------------------------------------------------------------

EXPOSITION = """\
# HELP http_requests_total Total HTTP requests
# TYPE http_requests_total counter
http_requests_total{method="GET",endpoint="/x",status="200"} 3.0
# HELP http_request_duration_seconds HTTP request duration
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{method="GET",endpoint="/x",le="0.1"} 3.0
http_request_duration_seconds_bucket{method="GET",endpoint="/x",le="+Inf"} 3.0
http_request_duration_seconds_count{method="GET",endpoint="/x"} 3.0
http_request_duration_seconds_sum{method="GET",endpoint="/x"} 0.1
# HELP celery_tasks_failed_total Failed
# TYPE celery_tasks_failed_total counter
# HELP db_connection_pool_size Active
# TYPE db_connection_pool_size gauge
db_connection_pool_size 2.0
"""


def test_exposition_families_types_and_labels():
    families = metrics_scrape.parse(EXPOSITION)
    requests = metrics_scrape.lookup(families, "http_requests_total")
    assert requests.type == "counter" and requests.labels == {"method", "endpoint", "status"}
    assert requests.total == 3.0  # what it counted: a histogram empty beside it is not "no data"
    histogram = metrics_scrape.lookup(families, "http_request_duration_seconds")
    assert histogram.type == "histogram" and histogram.labels == {"method", "endpoint"}  # no le
    declared = metrics_scrape.lookup(families, "celery_tasks_failed_total")
    assert declared.samples == 0  # declared, no series yet
    assert metrics_scrape.lookup(families, "db_connection_pool_size").type == "gauge"
    assert metrics_scrape.lookup(families, "redis_connection_pool_size") is None


def test_malformed_exposition_raises_for_the_check_to_report():
    with pytest.raises(ValueError):
        metrics_scrape.parse('http_requests_total{method="GET" 3\n')


# --- run_summary (002 §5) ----------------------------------------------------------------------

RUNBOOK_EXAMPLE = {  # 002 §5.1's own example line
    "event": "run_summary", "timestamp": "2026-01-17T16:00:00Z", "build_id": "git:abc1234",
    "config_hash": "sha256:7f3a2b1c", "tenant_id": "pilot",
    "counts": {"total_invoices": 150, "incident_count": 23, "s1_count": 3, "s2_count": 20,
               "ocr_suspect_count": 5, "accept_rounding_count": 12},
    "rates": {"mismatch_rate": 0.1533, "s1_rate": 0.1304, "ocr_suspect_rate": 0.2174,
              "feedback_coverage": 0.65},
    "latency": {"p95_pipeline_total_ms": 2800}, "queue": {"depth": 0, "max_depth": 3},
    "errors": {"4xx": 5, "5xx": 0},
}


def sample(*lines: str) -> LogSample:
    return LogSample("file app.log", list(lines), 1, Exchange(request="read file app.log"))


def test_the_runbook_example_line_is_valid_within_alarms_and_misses_two_targets():
    lines = run_summary.find(sample("plain text", json.dumps({"event": "startup"}),
                                    json.dumps(RUNBOOK_EXAMPLE)))
    assert [(line.line_no, line.error) for line in lines] == [(3, None)]
    metrics = run_summary.derive(RUNBOOK_EXAMPLE)
    assert metrics["s2_rate"] == pytest.approx(20 / 150) and metrics["accept_rounding_rate"] == 0.08
    assert metrics["error_5xx_rate"] == 0
    assert run_summary.outside(metrics, run_summary.ALARMS) == []
    assert run_summary.outside(metrics, run_summary.TARGETS) == [
        "s1_rate 13 % > 10 %", "ocr_suspect_rate 21.7 % > 15 %"]


def test_broken_run_summary_lines_are_named():
    broken = {**RUNBOOK_EXAMPLE, "counts": "unavailable"}
    del broken["build_id"]
    lines = run_summary.find(sample(json.dumps(broken), '{"event": "run_summary", "counts": {',
                                    json.dumps({**RUNBOOK_EXAMPLE, "tenant_id": "acme"})))
    assert lines[0].error.startswith("at (top level): 'build_id' is a required property")
    assert lines[1].error == "not valid JSON"
    assert list(run_summary.latest_per_tenant(lines)) == ["acme"]


def test_alarm_limits_above_below_and_overrides():
    metrics = {**run_summary.derive(RUNBOOK_EXAMPLE), "s1_rate": 0.45, "accept_rounding_rate": 0.01}
    assert run_summary.outside(metrics, run_summary.ALARMS) == [
        "s1_rate 45 % > 30 %", "accept_rounding_rate 1 % < 2 %"]
    relaxed = run_summary.merged(run_summary.ALARMS, {"s1_rate": {"above": 0.5}})
    assert run_summary.outside(metrics, relaxed) == ["accept_rounding_rate 1 % < 2 %"]


# --- PII (004) ---------------------------------------------------------------------------------


def test_pii_fields_at_any_depth_and_email_values_are_found_masked():
    findings = pii.scan(sample(
        json.dumps({"event": "scan_completed", "domain": "example.com", "score": 85}),
        json.dumps({"event": "x", "lead": {"Company_Name": "Acme Inc", "contact_emails": ["a@b.io"]}}),
        json.dumps({"event": "y", "note": "reply to jane.doe@example.org"}),
        "plain text mentioning ops@corp.example.com"))
    assert [str(f) for f in findings] == [
        "line 2 field lead.Company_Name: A***",
        'line 2 field lead.contact_emails: a***@b***.io',
        "line 3 value of field note: j***@e***.org",
        "line 4 text: o***@c***.com",
    ]
    assert "jane" not in " ".join(map(str, findings))


def test_a_quoted_log_line_has_its_personal_data_masked():
    line = json.dumps({"event": "x", "lead": {"Email": "jane.doe@example.org", "score": 3},
                       "company_name": "Acme Inc", "note": "cc ops@corp.example.com"})
    assert json.loads(pii.scrub(line)) == {
        "event": "x", "lead": {"Email": "j***@e***.org", "score": 3},
        "company_name": "A***", "note": "cc o***@c***.com"}
    assert pii.scrub("plain: jane.doe@example.org wrote") == "plain: j***@e***.org wrote"
    assert pii.scrub('{"provider": "M365"}', forbidden=["provider"]) == '{"provider": "M***"}'


def test_pii_clean_log_and_custom_fields():
    clean = sample(json.dumps({"event": "scan_completed", "domain": "example.com", "provider": "M365"}))
    assert pii.scan(clean) == []
    assert [f.where for f in pii.scan(clean, forbidden=["provider"])] == ["field provider"]


# --- bounded commands and log reads -------------------------------------------------------------


def test_command_output_and_exit_code():
    ok = run_command([sys.executable, "-c", "print('a'); print('b')"], timeout_s=10, max_bytes=1024)
    assert ok.ok and ok.stdout.splitlines() == [b"a", b"b"] and ok.returncode == 0
    bad = run_command([sys.executable, "-c", "import sys; sys.exit('nope')"], timeout_s=10, max_bytes=1024)
    assert bad.error.endswith("exited with 1: nope")
    missing = run_command(["/no/such/binary"], timeout_s=1, max_bytes=1024)
    assert missing.error.startswith("cannot run /no/such/binary")


def test_command_is_killed_at_its_deadline():
    started = time.perf_counter()
    slow = run_command([sys.executable, "-c", "import time; print('x', flush=True); time.sleep(30)"],
                       timeout_s=0.5, max_bytes=1024)
    assert time.perf_counter() - started < 5
    assert slow.error.endswith("did not finish within 0.5s") and slow.returncode is None


def test_command_output_is_capped_keeping_the_newest_lines():
    spew = [sys.executable, "-c", "import sys\nfor i in range(200000): sys.stdout.write(f'line {i}\\n')"]
    result = run_command(spew, timeout_s=20, max_bytes=4096)
    assert result.ok and len(result.stdout) <= 4096
    assert result.stdout.splitlines()[-1] == b"line 199999"
    assert result.stdout.splitlines()[0].startswith(b"line ")  # no partial first line


def test_log_file_tail_and_errors(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    got = read({"file": str(log), "max_lines": 10})
    assert got.lines[-1] == "line 99" and len(got.lines) == 10 and got.first_line_no == 91
    with pytest.raises(LogUnreadable, match=r"cannot read the log file .*/missing.log: No such file"):
        read({"file": str(tmp_path / "missing.log")})
    cache = LogCache()
    with pytest.raises(LogUnreadable):
        cache.read({"command": [sys.executable, "-c", "import sys; sys.exit(3)"]})
    with pytest.raises(LogUnreadable) as again:  # served from the cache: the command ran once
        cache.read({"command": [sys.executable, "-c", "import sys; sys.exit(3)"]})
    assert again.value.exchange.error.endswith("exited with 3")


# --- Sentry ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dsn", "problem"), [
    ("", "the DSN is empty"),
    ("https://example.com/42", "the DSN is malformed: Missing public key"),
    ("https://key@o1.ingest.sentry.io/", "the DSN is malformed: Invalid project in DSN"),
    ("ftp://key@host/42", "the DSN is malformed: Unsupported scheme 'ftp'"),
])
def test_malformed_dsns(dsn, problem):
    parsed, said = sentry.parse_dsn(dsn)
    assert parsed is None and said.startswith(problem)


def test_envelope_url_as_sentry_sdk_builds_it():
    parsed, _ = sentry.parse_dsn("https://pk@o4501.ingest.us.sentry.io/4509876")
    assert sentry.envelope_url(parsed) == "https://o4501.ingest.us.sentry.io/api/4509876/envelope/"


def test_event_problems():
    event = {"tags": [{"key": "environment", "value": "staging"}, {"key": "releasegate_run", "value": "r1"}],
             "entries": [{"type": "exception", "data": {"values": [{"stacktrace": {"frames": [{}]}}]}}],
             "contexts": {"releasegate": {"run": "r1"}}}
    assert sentry.problems(event, environment="staging", run_tag=("releasegate_run", "r1")) == []
    bare = {"tags": [{"key": "environment", "value": "production"}], "entries": [], "contexts": {}}
    assert sentry.problems(bare, environment="staging", run_tag=("releasegate_run", "r1")) == [
        "environment tag is 'production', expected 'staging'",
        "tag releasegate_run is None, expected 'r1'",
        "no stack trace (no exception entry with frames)",
        "the releasegate context is missing",
    ]


def test_standin_reads_what_sentry_sdk_serializes():
    event = {"event_id": "ab" * 16, "environment": "staging", "tags": {"k": "v"},
             "exception": {"values": [{"type": "ZeroDivisionError", "stacktrace": {"frames": [{"f": 1}]}}]},
             "contexts": {"releasegate": {"run": "x"}}}
    envelope = Envelope(headers={"event_id": event["event_id"]})
    envelope.add_event(event)
    body = gzip.compress(envelope.serialize())
    _, items = sentry_standin.parse_envelope(sentry_standin.decode_body(body, "gzip"))
    assert items[0][0]["type"] == "event" and json.loads(items[0][1])["event_id"] == event["event_id"]
    shown = sentry_standin.api_event(json.loads(items[0][1]), "42")
    assert sentry.problems(shown, environment="staging", run_tag=("k", "v")) == []
    with pytest.raises(ValueError, match="unsupported Content-Encoding 'zstd'"):
        sentry_standin.decode_body(body, "zstd")


# --- pilot answers -----------------------------------------------------------------------------


def answer(status: int, body: object) -> Fetch:
    return Fetch("POST", "http://x/full-process", status=status,
                 headers={"content-type": "application/json"}, body=json.dumps(body).encode())


@pytest.mark.parametrize(("status", "body", "expected"), [
    (200, {"status": "skipped"}, True), (503, {"detail": "pilot disabled"}, True),
    (200, {"status": "processed", "job_id": "j"}, False), (202, {"status": "queued"}, False),
    (500, {"detail": "boom"}, False),
])
def test_kill_switch_answers(status, body, expected):
    assert stopped(answer(status, body)) is expected


def test_pilot_settings_merge_one_level():
    cfg = settings({"base_url": "http://x", "kill_switch": {"settle_s": 1}})
    assert cfg["kill_switch"] == {"path": "/admin/pilot", "settle_s": 1, "poll_s": 0.5}
    assert cfg["tenant_id"] == "pilot" and cfg["submit"]["path"] == "/full-process"

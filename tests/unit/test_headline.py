"""Issue 17 item 7: the most specific root cause leads the verdict, and each remedy fits how the
check failed (docs/report.md "The headline")."""

from __future__ import annotations

import pytest

from releasegate.core.errors import FAILURE_KINDS, CheckFailed
from releasegate.gate.results import CheckMeta, CheckResult
from releasegate.gate.verdict import Judged, decide, kind_of


def failed(item: str, message: str, kind: str | None = None, *, follows: bool = False,
           gate: str | None = None) -> Judged:
    return Judged("blocker", gate, "failed", item, f"t::{item}", "mcp", "000 §5.4", message, follows, kind)


@pytest.mark.parametrize(("message", "kind"), [
    ("POST /mcp with MCP-Protocol-Version: 1999-01-01 answered 200, expected 400", "wrong_status"),
    ("GET /v1/quota returned 200, expected 401 (anyone can read it)", "wrong_status"),
    ("GET /healthz/ready returned 503", "wrong_status"),
    ("at protocol version 1999-01-01 answered 400 with JSON-RPC error -32600, expected 400 with "
     "JSON-RPC error -32022", "wrong_body"),
    ("GET /x answered 200 with an HTML page 'Sign in', expected the service's own 200", "wrong_body"),
    ("GET /healthz/ready: no complete response within the probe's timeoutSeconds (1s)", "no_answer"),
    ("GET http://h:1/x: ConnectError: [Errno 111] Connection refused", "no_answer"),
    ("returned 171 items for limit=5: the limit is ignored", "wrong_body"),
])
def test_a_failure_without_a_named_kind_is_read_from_its_reason(message, kind):
    assert kind_of(None, message) == kind


def test_a_named_kind_wins_and_an_unknown_one_is_refused():
    assert kind_of("other_build", "answered 200, expected 400") == "other_build"
    with pytest.raises(ValueError, match="unknown failure kind"):
        CheckFailed("x", kind="flaky")


def test_the_plain_defect_leads_not_the_first_failure_in_run_order():
    """A revision-specific check that saw the same defect first does not take the headline."""
    modern = failed("sessionless request rejected [unsupported_version]",
                    "answered 400 with JSON-RPC error -32600, expected 400 with JSON-RPC error -32022")
    plain = failed("invalid protocol version is 400", "answered 200, expected 400")
    decision = decide([modern, plain])
    assert decision.deciding == "t::invalid protocol version is 400"


def test_kinds_rank_most_specific_first_and_roots_before_followers():
    ranked = [failed(f"check {k}", "x", k) for k in reversed(FAILURE_KINDS)]
    assert decide(ranked).deciding == "t::check other_build"
    follower = failed("follower", "answered 200, expected 400", "other_build", follows=True)
    root = failed("root", "no answer", "no_answer")
    assert decide([follower, root]).deciding == "t::root"


def test_the_worst_class_still_decides_before_the_kind():
    readiness = failed("ready 200", "GET /healthz/ready: timed out", "no_answer", gate="readiness")
    build = failed("build", "reports build_id 'a', expected 'b'", "other_build")
    assert decide([build, readiness]).deciding == "t::ready 200"


def _result(kind: str | None, message: str) -> CheckResult:
    meta = CheckMeta("health", "001 §6.1", "ready 200", "blocker", "readiness",
                     remedy="/healthz/ready 503: check the database",
                     remedies={"no_answer": "the handler hangs: find the slow dependency"})
    return CheckResult("t::ready", meta, outcome="failed", message=message, kind=kind)


def test_the_remedy_fits_the_failure_kind():
    assert _result(None, "GET /healthz/ready returned 503, expected 200").what_to_do.startswith("/healthz")
    timeout = _result("no_answer", "GET /healthz/ready: no complete response within 1s")
    assert timeout.what_to_do == "the handler hangs: find the slow dependency"
    assert timeout.as_summary()["kind"] == "no_answer"
    # a remedy the check raised with (it knows the expected event, say) still wins
    own = _result("wrong_body", "no 'system_status' event")
    own.remedy = "name the event 'system_status' again"
    assert own.what_to_do == "name the event 'system_status' again"

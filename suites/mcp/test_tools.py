"""Runbook 000 §1.2 (tool calls A-E and the Phase 1.5 ops tools) and §1.3 (PASS / FAIL).

Only the calls the profile configures are made, and only to tools on its allow-list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from releasegate.core.errors import CheckFailed
from releasegate.mcp.config import CallSpec
from releasegate.mcp.contract import judge_call

pytestmark = pytest.mark.mcp

CONTRACT_REMEDY = ("000 §1.3: a tool exception, a DB error or a broken output shape is a FAIL — check "
                   "the tool's logs and its database reads (000 §2 queries); roll back the MCP build "
                   "if it regressed")


def listed_tool(mcp, spec: CallSpec) -> Mapping[str, Any] | None:
    """The tool's tools/list entry (for its outputSchema); fails when a good listing lacks it."""
    __tracebackhide__ = True
    listing = mcp.endpoint.tools()
    if listing.problem:
        mcp.evidence.note(output_schema="not checked: tools/list failed")
        return None
    tool = listing.by_name().get(spec.tool)
    if tool is None:
        raise CheckFailed(f"{spec.tool} is not in tools/list ({len(listing.tools)} tools listed): "
                          "nothing to call", cause=listing.pages[-1].key)
    return tool


@pytest.mark.runbook("000", "§1.2", "the tool call returns no error, ok=true and its documented shape")
@pytest.mark.remedy(CONTRACT_REMEDY)
def test_tool_call_meets_contract(mcp, call):
    spec = mcp.config.call(call)
    mcp.declares_tools()
    tool = listed_tool(mcp, spec)
    reply = mcp.call(spec)
    content = judge_call(spec, reply, tool)
    mcp.evidence.note(arguments=dict(spec.arguments), content_keys=sorted(content) if isinstance(
        content, Mapping) else f"{type(content).__name__}")


@pytest.mark.runbook("000", "§1.2", "the tool call answers within its latency budget")
@pytest.mark.severity("warning")
@pytest.mark.remedy("000 §1.2 / §2: a slow tool is usually a slow query — run the tool's SQL from "
                    "000 §2 with EXPLAIN, check indexes and DB load")
def test_tool_call_within_latency_budget(mcp, call):
    spec = mcp.config.call(call)
    reply = mcp.call(spec)
    elapsed_ms = reply.elapsed_s * 1000
    mcp.evidence.note(latency_ms=round(elapsed_ms, 1), budget_ms=spec.latency_budget_ms)
    if reply.status is None and elapsed_ms < spec.latency_budget_ms:
        raise reply.fail(f"{reply.label}: {reply.problem}")
    if elapsed_ms > spec.latency_budget_ms:
        raise reply.fail(f"{reply.label} took {elapsed_ms:.0f} ms, over its {spec.latency_budget_ms:g} ms "
                         "budget")


@pytest.mark.runbook("000", "§1.3", "PASS: A+B+D ok=true and the DB connection healthy")
@pytest.mark.severity("blocker")
@pytest.mark.remedy("000 §1.3: FAIL — find which of A (quota), B (DB snapshot), D (job status) is not "
                    "ok; a DB error points at 000 §1.1 (DB access) and the §2 read-only queries")
def test_pass_rule(mcp):
    rule = mcp.config.pass_rule
    if rule is None:
        pytest.skip(f"mcp.pass_rule: not configured in target {mcp.endpoint.target.name}")
    names = list(rule.calls) + ([rule.database_call] if rule.database_call not in (None, *rule.calls)
                                else [])
    failures: list[CheckFailed] = []
    for call_id in names:
        try:
            spec = mcp.config.call(call_id)
        except KeyError:
            failures.append(CheckFailed(f"{call_id} is not one of mcp.calls (profile)"))
            continue
        try:
            judge_call(spec, mcp.call(spec), listed_tool(mcp, spec), require_ok=True)
        except CheckFailed as exc:
            failures.append(exc)
    mcp.evidence.note(pass_rule=list(rule.calls), database_call=rule.database_call,
                      failing=[str(f) for f in failures])
    if failures:
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise CheckFailed(f"000 §1.3 PASS not met: {first}{more}", remedy=first.remedy, cause=first.cause)

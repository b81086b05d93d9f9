"""A tool call's contract (000 §1.2, §1.3): no tool error, ok=true, the advertised and the
expected output shape.

The content judged is the call's ``structuredContent``, or — for a tool with no outputSchema — its
JSON text content (the spec's SHOULD for structured results, and what servers built with other
SDKs send). Both the tool's own outputSchema (a MUST when declared) and the team's contract file
``schemas/mcp/<tool>.json`` must accept it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from releasegate.core.errors import CheckFailed
from releasegate.core.paths import SCHEMAS
from releasegate.core.schema_check import expect_matches_schema
from releasegate.mcp.config import CallSpec
from releasegate.mcp.schemas import conformance_problem
from releasegate.mcp.transport import McpReply


def contract_schema(spec: CallSpec) -> str | None:
    """The schemas/ file the call's content must match: the profile's, or mcp/<tool>.json."""
    if spec.schema:
        return spec.schema
    name = f"mcp/{spec.tool}.json"
    return name if (SCHEMAS / name).is_file() else None


def content_of(result: Mapping[str, Any]) -> tuple[Any, str]:
    """(content, where it came from): structuredContent, or the JSON of the text content."""
    if "structuredContent" in result:
        return result["structuredContent"], "structuredContent"
    texts = [c.get("text") for c in result.get("content") or [] if isinstance(c, Mapping)
             and c.get("type") == "text" and isinstance(c.get("text"), str)]
    if len(texts) == 1:
        try:
            return json.loads(texts[0]), "text content (JSON)"
        except ValueError:
            return None, "text content (not JSON)"
    return None, f"{len(texts)} text blocks" if texts else "no content"


def unwrapped(content: Any) -> Any:
    """The SDKs wrap a tool's non-object output as {"result": ...} (structuredContent must be an
    object); a contract file describes the output itself."""
    if isinstance(content, Mapping) and list(content) == ["result"]:
        return content["result"]
    return content


def error_text(result: Mapping[str, Any]) -> str:
    texts = [str(c.get("text", "")) for c in result.get("content") or [] if isinstance(c, Mapping)]
    return " ".join(" ".join(texts).split())[:200] or "no detail"


def judge_call(spec: CallSpec, reply: McpReply, tool: Mapping[str, Any] | None,
               *, require_ok: bool = False) -> Any:
    """The call's content when it meets its contract; otherwise CheckFailed naming the first breach."""
    __tracebackhide__ = True
    label = reply.label
    result = reply.require_result()
    if not isinstance(result, Mapping):
        raise reply.fail(f"{label}: the result is not an object")
    if result.get("isError") is True:
        raise reply.fail(f"{label} returned a tool error (isError: true): {error_text(result)}")
    content, source = content_of(result)
    if isinstance(content, Mapping) and "ok" in content and content["ok"] is not True:
        detail = content.get("error") or content.get("detail") or content.get("message")
        raise reply.fail(f"{label} reports ok={json.dumps(content['ok'])}"
                         + (f": {' '.join(str(detail).split())[:160]}" if detail else "")
                         + " (000 §1.2 expects ok=true)")
    if require_ok and not (isinstance(content, Mapping) and content.get("ok") is True):
        raise reply.fail(f"{label} does not report ok=true ({source})")
    output_schema = tool.get("outputSchema") if tool is not None else None
    if isinstance(output_schema, Mapping):
        if "structuredContent" not in result:
            raise reply.fail(f"{label}: the tool declares an outputSchema but the result has no "
                             "structuredContent (servers MUST return conforming structured results)")
        problem = conformance_problem(content, output_schema)
        if problem:
            raise reply.fail(f"{label}: structuredContent does not conform to the tool's own "
                             f"outputSchema {problem}")
    schema = contract_schema(spec)
    if schema is not None:
        if content is None:
            raise reply.fail(f"{label}: no structured or JSON content to check against "
                             f"schemas/{schema} ({source})")
        try:
            expect_matches_schema(unwrapped(content), schema, f"{label} {source}")
        except CheckFailed as exc:
            raise reply.fail(str(exc)) from None
    return content

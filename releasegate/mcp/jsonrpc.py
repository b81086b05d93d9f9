"""JSON-RPC 2.0 as MCP uses it: build messages, and say in one line what is wrong with an answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

VERSION = "2.0"
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# 2026-07-28 (basic/transports/streamable-http §Server Validation, basic/versioning)
HEADER_MISMATCH = -32020
UNSUPPORTED_VERSION = -32022
MODERN_ERRORS = frozenset({HEADER_MISMATCH, UNSUPPORTED_VERSION})


def request(request_id: int | str, method: str, params: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": VERSION, "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: Any = None) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": VERSION, "method": method}
    if params is not None:
        message["params"] = params
    return message


def kind(message: Any) -> str:
    """'response', 'request', 'notification' or 'invalid'."""
    if not isinstance(message, Mapping):
        return "invalid"
    if "method" in message:
        return "request" if "id" in message else "notification"
    if "result" in message or "error" in message:
        return "response"
    return "invalid"


def response_problem(message: Any) -> str | None:
    """Why ``message`` is not a valid JSON-RPC 2.0 response, or None when it is one."""
    if not isinstance(message, Mapping):
        return f"a JSON {type(message).__name__} instead of a JSON-RPC object"
    if message.get("jsonrpc") != VERSION:
        return f"'jsonrpc' is {message.get('jsonrpc')!r}, not '2.0'"
    if "id" not in message:
        return "no 'id'"
    if ("result" in message) == ("error" in message):
        return "needs exactly one of 'result' and 'error'"
    if "error" in message:
        error = message["error"]
        if not isinstance(error, Mapping) or not isinstance(error.get("code"), int) \
                or isinstance(error.get("code"), bool) or not isinstance(error.get("message"), str):
            return "'error' is not an object with an integer 'code' and a string 'message'"
    return None


def error_of(message: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if message is None:
        return None
    error = message.get("error")
    return error if isinstance(error, Mapping) else None


def describe_error(error: Mapping[str, Any]) -> str:
    text = " ".join(str(error.get("message", "")).split())
    return f"JSON-RPC error {error.get('code')}" + (f" {text[:160]!r}" if text else "")

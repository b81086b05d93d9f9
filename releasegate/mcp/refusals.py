"""Which answers the specs allow when a server refuses a malformed request, each with its clause.

A check that sends something wrong on purpose must accept every refusal the specs allow, not the
one our reference server happens to give, and say which clause the server's answer meets. The
answer passes when it is a JSON-RPC error whose code is on the list (any HTTP status: the
transport leaves a refused *request*'s status to the server); a result, or an error on no list,
fails, naming the clauses it meets none of.
"""

from __future__ import annotations

from dataclasses import dataclass

from releasegate.mcp import jsonrpc
from releasegate.mcp.transport import McpReply

JSONRPC_ERRORS = "JSON-RPC 2.0 §5.1 (Error object, pre-defined codes)"
PARAMS_IS_OBJECT = ("MCP schema.ts, every revision: JSONRPCRequest.params is an object "
                    "({ [key: string]: unknown }); basic/index: requests MUST follow JSON-RPC 2.0")


@dataclass(frozen=True)
class Refusal:
    """One allowed answer: the code, its JSON-RPC name, and why the specs allow it here."""

    code: int
    name: str
    clause: str

    def describe(self) -> str:
        return f"{self.code} {self.name}"


# A request whose params are not an object (runbook 000 §5.4 names -32602, what the Python SDK
# answers). The message is no valid MCP request, so -32600 fits JSON-RPC's words as well; the
# official TypeScript SDK checks the message against MCP's JSONRPCMessage schema while parsing
# it (server/streamableHttp: "Parse error: Invalid JSON-RPC message") and answers -32700.
NON_OBJECT_PARAMS = (
    Refusal(jsonrpc.INVALID_PARAMS, "Invalid params",
            f"{JSONRPC_ERRORS}: invalid method parameter(s); runbook 000 §5.4"),
    Refusal(jsonrpc.INVALID_REQUEST, "Invalid Request",
            f"{JSONRPC_ERRORS}: not a valid Request object — {PARAMS_IS_OBJECT}"),
    Refusal(jsonrpc.PARSE_ERROR, "Parse error",
            f"{JSONRPC_ERRORS}: an error while parsing the message into a request — the official "
            "TypeScript SDK's answer to a message its JSON-RPC schema rejects"),
)


def allowed_refusal(reply: McpReply, allowed: tuple[Refusal, ...]) -> Refusal | None:
    """The allowed refusal the answer is, or None when it is none of them."""
    error = reply.error
    code = error.get("code") if error is not None else None
    return next((r for r in allowed if r.code == code), None)


def expected(allowed: tuple[Refusal, ...]) -> str:
    """'a JSON-RPC error -32602 Invalid params, -32600 Invalid Request or -32700 Parse error'."""
    names = [r.describe() for r in allowed]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"a JSON-RPC error {listed}"

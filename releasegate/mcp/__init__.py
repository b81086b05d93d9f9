"""An MCP server over streamable HTTP, judged on the wire.

- ``config``: the profile's ``mcp`` section with the runbook defaults filled in;
- ``jsonrpc``: JSON-RPC 2.0 messages, strict about what comes back (SSE framing: releasegate.http.sse);
- ``transport``: one bounded HTTP exchange carrying a JSON-RPC message (caps, deadline, curl);
- ``client``: the MCP client on top: initialize / session / tools, or the sessionless 2026-07-28
  envelope; revision detection;
- ``handshake``: opening the conversation (initialize, or 2026-07-28's server/discover);
- ``engine``: talks to the server once per run and caches (session, tools/list, calls);
  ``probes``: the conformance probes it makes; ``refusals``: which error answers the specs allow;
- ``view``: the thin per-check view recording evidence; ``schemas``, ``remedies``, ``sdk_check``
  beside them.

The official ``mcp`` SDK is only imported by ``sdk_check`` (the real-client check): the wire-level
client has to see, and report, exactly what the server sent, which an SDK is built to hide.
"""

// An MCP server written the way another team would: on the official TypeScript SDK
// (@modelcontextprotocol/sdk, its low-level Server and StreamableHTTPServerTransport, served by the
// SDK's createMcpExpressApp), following runbook 000 §1.2's tool names and field names and naming
// everything else its own way. Nothing here is shared with releasegate or its reference stack.
//
//   node ts_server.mjs --port 8123 [--stateless] [--page-size 3]
//   FAULTS=write_tool,origin_open,...  the faults of tests/independent/mcp/README.md
//   TOKEN=secret  requests must carry "Authorization: Bearer secret" (401 otherwise)
//   REQUEST_LOG=/path  one JSON line per JSON-RPC message received (the self-tests read it)
import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  isInitializeRequest,
  ListToolsRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    stateless: { type: "boolean", default: false },
    "page-size": { type: "string", default: "3" },
  },
});
const PORT = Number(args.port);
const PAGE_SIZE = Number(args["page-size"]);
const FAULTS = new Set((process.env.FAULTS || "").split(",").filter(Boolean));
const ORIGINS = [`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`];

// --- the service's data, in its own words ---------------------------------------------------
const quota = { ok: true, daily_remaining: 7421, minute_remaining: 28, plan: "pro", reset_in_s: 41 };
const fixtures = [
  { id: 9001, league_id: 39, date_utc: "2026-12-06T15:00:00Z", status: "NS",
    home_team: { team_id: 33, label: "Harbour City" }, away_team: { team_id: 40, label: "Northgate" },
    venue_label: "Quayside" },
  { id: 9002, league_id: 39, date_utc: "2026-12-06T17:30:00Z", status: "1H",
    home_team: { team_id: 50, label: "Eastmoor" }, away_team: { team_id: 47, label: "Rivermouth" },
    venue_label: "Moor Lane" },
];

function output(name, input) {
  switch (name) {
    case "get_rate_limit_status": return quota;
    case "get_database_stats":
      return { ok: true, tables: { "raw.api_responses": 1840, "core.fixtures": 612, "core.teams": 96 } };
    case "get_coverage_summary": return { ok: true, summary: null };
    case "get_job_status":
      return { ok: true, schedule: { daily_fixtures: "succeeded", daily_standings: "running", injuries: null } };
    case "query_fixtures": {
      const rows = fixtures.slice(0, input.limit ?? 10);
      if (FAULTS.has("fixtures_renamed")) {  // a refactor: date_utc became kickoff
        return rows.map(({ date_utc, ...rest }) => ({ ...rest, kickoff: date_utc }));
      }
      return rows;
    }
    case "get_backfill_progress": return { ok: true, by_job: { fixtures_2025: "412/600" } };
    case "get_raw_error_summary":
      return { ok: true, window_minutes: input.since_minutes ?? 60, by_status: { 429: 2, 500: 0 } };
    case "get_recent_log_errors": return { ok: true, lines: [] };
    case "get_coverage_status": return { ok: true, league: input.league_id ?? null, rows: [] };
    case "get_last_sync_time": return { ok: true, last: { fixtures: "2026-12-06T14:55:00Z" } };
    case "trigger_backfill": return { ok: true, queued: true };
    default: throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
  }
}

const readOnly = { readOnlyHint: true, openWorldHint: false };
const integer = (description) => ({ type: "integer", minimum: 1, description });
const TOOLS = [
  { name: "get_rate_limit_status", description: "API quota left", annotations: readOnly,
    inputSchema: { type: "object", properties: {} },
    outputSchema: { type: "object", required: ["ok"], properties: {
      ok: { type: "boolean" }, daily_remaining: { type: ["integer", "null"] },
      minute_remaining: { type: ["integer", "null"] }, plan: { type: "string" },
      reset_in_s: { type: "integer" } } } },
  { name: "get_database_stats", description: "Row counts per table", annotations: readOnly,
    inputSchema: { type: "object", properties: {} } },
  { name: "get_coverage_summary", description: "Coverage per season", annotations: readOnly,
    inputSchema: { type: "object", properties: { season: integer("season year") } } },
  { name: "get_job_status", description: "Scheduled jobs and their last state", annotations: readOnly,
    inputSchema: { type: "object", properties: {} } },
  { name: "query_fixtures", description: "Sample fixtures", annotations: readOnly,
    inputSchema: { type: "object", properties: { limit: integer("rows") } } },
  { name: "get_backfill_progress", description: "Backfill per job", annotations: readOnly,
    inputSchema: { type: "object", properties: {} } },
  { name: "get_raw_error_summary", description: "API errors per status", annotations: readOnly,
    inputSchema: { type: "object", properties: { since_minutes: integer("window") } } },
  { name: "get_recent_log_errors", description: "Recent error log lines", annotations: readOnly,
    inputSchema: { type: "object", properties: { limit: integer("lines") } } },
  { name: "get_coverage_status", description: "Coverage of one league", annotations: readOnly,
    inputSchema: { type: "object", properties: { league_id: integer("league") } } },
  { name: "get_last_sync_time", description: "Last sync per endpoint", annotations: readOnly,
    inputSchema: { type: "object", properties: {} } },
];
if (FAULTS.has("write_tool")) {  // a write tool slipped into the read-only server
  TOOLS.push({ name: "trigger_backfill", description: "Queue a backfill",
               inputSchema: { type: "object", properties: {} } });
}

function makeServer() {
  const server = new Server({ name: "independent-ts", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    const start = Number(request.params?.cursor ?? 0);
    if (!Number.isInteger(start) || start < 0 || start > TOOLS.length) {
      throw new McpError(ErrorCode.InvalidParams, "Invalid cursor");
    }
    const end = start + PAGE_SIZE;
    const page = { tools: TOOLS.slice(start, end) };
    if (end < TOOLS.length) {
      page.nextCursor = FAULTS.has("cursor_repeats") ? String(PAGE_SIZE) : String(end);
    }
    return page;
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const { name, arguments: input = {} } = request.params;
    const data = output(name, input);
    const result = { content: [{ type: "text", text: JSON.stringify(data) }] };
    if (TOOLS.find((t) => t.name === name)?.outputSchema) result.structuredContent = data;
    return result;
  });
  return server;
}

// --- HTTP -----------------------------------------------------------------------------------
const app = createMcpExpressApp({ host: "127.0.0.1" });

function refuse(res, status, code, message) {
  res.status(status).json({ jsonrpc: "2.0", error: { code, message }, id: null });
}

app.use((req, res, next) => {  // a static bearer token (MCP Authorization: 401 with a challenge)
  const token = process.env.TOKEN;
  if (token && !FAULTS.has("auth_open") && req.headers.authorization !== `Bearer ${token}`) {
    res.set("WWW-Authenticate", 'Bearer realm="mcp"');
    return res.status(401).json({ error: "unauthorized" });
  }
  next();
});

app.use((req, res, next) => {  // Origin: the spec's MUST (2025-11-25: an invalid Origin gets 403)
  const origin = req.headers.origin;
  if (origin && !ORIGINS.includes(origin) && !FAULTS.has("origin_open")) {
    return refuse(res, 403, -32000, `Forbidden: origin ${origin} not allowed`);
  }
  if (process.env.REQUEST_LOG && req.method === "POST") {
    appendFileSync(process.env.REQUEST_LOG, JSON.stringify(req.body) + "\n");
  }
  if (FAULTS.has("sse_event_renamed")) {  // a hand-written SSE writer names its events "rpc"
    const rename = (chunk) => (typeof chunk === "string" || chunk instanceof Uint8Array
      ? Buffer.from(chunk).toString().replace(/^event: message$/gm, "event: rpc") : chunk);
    const [write, end] = [res.write.bind(res), res.end.bind(res)];
    res.write = (chunk, ...rest) => write(rename(chunk), ...rest);
    res.end = (chunk, ...rest) => end(chunk === undefined || typeof chunk === "function"
      ? chunk : rename(chunk), ...rest);
  }
  next();
});

if (args.stateless) {
  // The SDK's stateless pattern: a server and transport per request, no session id.
  app.post("/mcp", async (req, res) => {
    const server = makeServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  const notAllowed = (req, res) => {
    res.set("Allow", "POST");
    refuse(res, 405, -32000, "Method not allowed.");
  };
  app.get("/mcp", notAllowed);
  app.delete("/mcp", notAllowed);
} else {
  const transports = new Map();
  app.post("/mcp", async (req, res) => {
    const sessionId = req.headers["mcp-session-id"];
    let transport = sessionId ? transports.get(sessionId) : undefined;
    if (sessionId && !transport) {
      // unknown_session_400: the SDK README's example answers every session it does not know
      // with 400 "No valid session ID provided"; the spec says 404 (clients then re-initialize)
      if (FAULTS.has("unknown_session_400")) {
        return refuse(res, 400, -32000, "Bad Request: No valid session ID provided");
      }
      return refuse(res, 404, -32001, "Session not found");
    }
    if (!transport) {
      if (!isInitializeRequest(req.body)) {
        return refuse(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => transports.delete(transport.sessionId);
      await makeServer().connect(transport);
    }
    await transport.handleRequest(req, res, req.body);
  });
  const existing = async (req, res) => {
    const sessionId = req.headers["mcp-session-id"];
    const transport = sessionId ? transports.get(sessionId) : undefined;
    if (!sessionId) return refuse(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
    if (!transport) return refuse(res, 404, -32001, "Session not found");
    await transport.handleRequest(req, res);
  };
  app.get("/mcp", existing);
  app.delete("/mcp", existing);
}

app.listen(PORT, "127.0.0.1", () => console.log(`listening on ${PORT}`));

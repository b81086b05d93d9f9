"""Independent MCP servers: the official Python SDK (low-level Server, high-level MCPServer) and the
official TypeScript SDK (ts_server.mjs); see README.md."""

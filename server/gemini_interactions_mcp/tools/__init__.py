"""MCP tools: one module per capability, each reading as a table of contents of what the tool does."""

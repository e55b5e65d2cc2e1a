#!/usr/bin/env sh
# Register the server with Claude Code (stdio), and optionally a running HTTP instance.
claude mcp add gemini -e GEMINI_API_KEY="$GEMINI_API_KEY" -- /absolute/path/to/.venv/bin/gemini-interactions-mcp serve
# claude mcp add --transport http gemini-remote http://127.0.0.1:8765/mcp --header "Authorization: Bearer $GEMINI_MCP_TOKEN"

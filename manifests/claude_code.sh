#!/usr/bin/env sh
# Register the server with Claude Code. Claude Code runs in your terminal, so it finds uvx on your PATH.
# After a release on PyPI:
claude mcp add gemini -e GEMINI_API_KEY="$GEMINI_API_KEY" -- uvx gemini-interactions-mcp
# From a clone (run in the clone after `python3 scripts/dev.py demo` created .venv/; $PWD makes the path absolute):
# claude mcp add gemini -e GEMINI_API_KEY="$GEMINI_API_KEY" -- "$PWD/.venv/bin/gemini-interactions-mcp"
# A running HTTP server (gemini-interactions-mcp serve --transport http, with GEMINI_MCP_TOKENS=me:$GEMINI_MCP_TOKEN):
# claude mcp add --transport http gemini-remote http://127.0.0.1:8765/mcp --header "Authorization: Bearer $GEMINI_MCP_TOKEN"

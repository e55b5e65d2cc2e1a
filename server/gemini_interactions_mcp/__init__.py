"""MCP server bridging MCP clients to Google's Gemini Interactions API."""

__version__ = "0.1.0"

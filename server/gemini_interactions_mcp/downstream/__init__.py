"""The MCP *client* side: what Gemini can call through this server.

The user's own MCP servers (stdio or Streamable HTTP, from an `mcpServers` config file) and the
`workspace` toolset over the allowed folders. Nothing here knows about conversations or jobs: the tool
loop in `services` decides what to call and when; this layer only connects, declares and calls.
"""

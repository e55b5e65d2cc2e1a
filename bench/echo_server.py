"""The baseline: a minimal MCPServer with one echo tool, served over stdio (or Streamable HTTP with
`--http PORT`, under uvicorn as our server runs: asyncio's own loop, no access log)."""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    return text


if __name__ == "__main__":
    if sys.argv[1:2] == ["--http"]:
        import uvicorn

        app = server.streamable_http_app()
        port = int(sys.argv[2])
        uvicorn.run(app, host="127.0.0.1", port=port, loop="asyncio", log_level="warning", access_log=False)
    else:
        server.run("stdio")

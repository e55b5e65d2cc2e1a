"""The baseline: a minimal MCPServer with one echo tool, served over stdio."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    return text


if __name__ == "__main__":
    server.run("stdio")

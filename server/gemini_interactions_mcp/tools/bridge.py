"""gemini://tools: every MCP server Gemini may call through this server, its state and its tools."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from gemini_interactions_mcp.downstream.hub import DownstreamHub, ServerState
from gemini_interactions_mcp.downstream.workspace import SPECS as WORKSPACE_SPECS

TOOLS_URI = "gemini://tools"
HOW_TO = (
    'Enable them per conversation with the `tools` of ask_gemini or run_agent: "mcp:NAME" (every tool '
    'of a server), "mcp:NAME/TOOL" (one tool), "workspace" (read-only access to the allowed folders).'
)


def _server_lines(state: ServerState) -> list[str]:
    trust = "trusted" if state.trust else "asks before each call of a tool not marked read-only"
    head = f"## {state.name}: {state.state}"
    lines = [head, f"{state.transport}, {state.where}; {trust}; timeout {state.timeout_seconds:g} s."]
    if state.via == "gemini":
        lines[1] = f"Handed to Gemini's own MCP support (Google's side calls {state.where})."
    if state.error:
        lines.append(f"Last error: {state.error} (restarts: {state.restarts}).")
    for tool in state.tools:
        rule = "read-only" if tool.read_only else ("asks first" if tool.needs_confirmation else "trusted")
        lines.append(f"- `{tool.function}` ({tool.tool}, {rule})")
        lines += [f"  - {note}" for note in tool.notes]
    return lines


def render(states: list[ServerState]) -> str:
    lines = ["# Tools Gemini can call", "", HOW_TO, "", "## workspace: built in"]
    lines += [f"- `{spec.name}`: {spec.description}" for spec in WORKSPACE_SPECS]
    if not states:
        lines += ["", "No MCP servers are configured: start the server with --mcp-config FILE."]
    for state in states:
        lines += ["", *_server_lines(state)]
    return "\n".join(lines)


def register(server: MCPServer[Any], hub: DownstreamHub) -> None:
    @server.resource(
        TOOLS_URI,
        name="tools",
        description="MCP servers and tools Gemini can call (enable with tools=['mcp:NAME']), with state.",
        mime_type="text/markdown",
    )
    async def tools() -> str:
        return render(await hub.describe())

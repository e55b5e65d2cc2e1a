"""The bridge as MCP clients meet it: gemini://tools (every server Gemini may call, its state and tools),
the confirmation asked before a writing tool runs, and the line listing a turn's calls."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel, Field

from gemini_interactions_mcp.downstream.functions import FunctionSpec
from gemini_interactions_mcp.downstream.hub import DownstreamHub, ServerState
from gemini_interactions_mcp.downstream.workspace import SPECS as WORKSPACE_SPECS
from gemini_interactions_mcp.services.toolloop import Approval, CallRecord, Confirm

TOOLS_URI = "gemini://tools"
QUESTION_ARGUMENT_CHARS = 1_500
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


class CallConfirmation(BaseModel):
    allow: bool = Field(description="Let Gemini make this call?")


def _question(spec: FunctionSpec, arguments: Mapping[str, Any]) -> str:
    shown = json.dumps(arguments, ensure_ascii=False, indent=1)
    if len(shown) > QUESTION_ARGUMENT_CHARS:
        shown = shown[: QUESTION_ARGUMENT_CHARS - 1] + "…"
    return (
        f"Gemini wants to call {spec.tool} on the MCP server {spec.server!r} (it may change things):\n"
        f"{shown}\nAllow this call?"
    )


def confirmer(ctx: Context[Any, Any]) -> Confirm:
    """Asks the user about each call of a writing tool, by elicitation where the client can be asked.

    A 2025-era connection is asked mid-call (push elicitation); a client without elicitation, or a
    connection without a back-channel (2026-07-28), cannot be asked, and the call is refused.
    """

    async def confirm(spec: FunctionSpec, arguments: Mapping[str, Any]) -> Approval:
        capabilities = ctx.client_capabilities
        if capabilities is None or capabilities.elicitation is None or not ctx.session.can_send_request:
            return Approval.CANNOT_ASK
        try:
            decision = await ctx.elicit(_question(spec, arguments), CallConfirmation)
        except Exception:  # the client failed to answer: nothing was allowed
            return Approval.CANNOT_ASK
        allowed = isinstance(decision, AcceptedElicitation) and decision.data.allow
        return Approval.APPROVED if allowed else Approval.DENIED

    return confirm


def calls_line(calls: list[CallRecord]) -> str:
    """One line listing every call of a turn: name, duration, ok or error."""
    shown = [f"{c.name} ({c.seconds:.2f} s, {'ok' if c.ok else 'error'})" for c in calls]
    return "Tools called: " + ", ".join(shown) if shown else ""

"""The bridge as MCP clients meet it: gemini://tools (every server Gemini may call, its state and tools),
the confirmation asked before a writing tool runs, and the line listing a turn's calls."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp.server.elicitation import AcceptedElicitation, render_elicitation_schema
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, ValidationError

from gemini_interactions_mcp.services.results import Approval, CallRecord, PausedLoop
from gemini_interactions_mcp.tools._context import input_responses, request_state
from gemini_interactions_mcp.tools._wiring import LatestWiring

if TYPE_CHECKING:
    from gemini_interactions_mcp.downstream.functions import FunctionSpec
    from gemini_interactions_mcp.downstream.hub import ServerState

TOOLS_URI = "gemini://tools"
QUESTION_ARGUMENT_CHARS = 1_500
MULTI_ROUND_TRIP_VERSION = "2026-07-28"
"""From this protocol version on, a question to the user rides the result (`input_required`), and its
answer comes with the client's retry of the same call."""
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
    from gemini_interactions_mcp.downstream.workspace import SPECS as WORKSPACE_SPECS  # loaded when wired

    lines = ["# Tools Gemini can call", "", HOW_TO, "", "## workspace: built in"]
    lines += [f"- `{spec.name}`: {spec.description}" for spec in WORKSPACE_SPECS]
    if not states:
        lines += ["", "No MCP servers are configured: start the server with --mcp-config FILE."]
    for state in states:
        lines += ["", *_server_lines(state)]
    return "\n".join(lines)


def register(server: MCPServer[Any], latest: LatestWiring) -> None:
    @server.resource(
        TOOLS_URI,
        name="tools",
        description="MCP servers and tools Gemini can call (enable with tools=['mcp:NAME']), with state.",
        mime_type="text/markdown",
    )
    async def tools() -> str:
        services = await latest.services()
        return render(await services.downstream.describe())


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


class Confirmer:
    """Asks the user about each call of a writing tool, on both protocol eras, where the client can be asked.

    A 2025-era connection is asked mid-call (push elicitation). On 2026-07-28 the server cannot ask
    mid-call: the question goes back in an `input_required` result (the turn stops there, nothing of
    the round run), and the client's retry of the same call brings the answer, keyed by the call id,
    with the sealed state that says where the turn goes on. A client without elicitation (or a
    connection without a back-channel) cannot be asked, and the call is refused.
    """

    def __init__(self, ctx: Context[Any, Any]) -> None:
        self._ctx = ctx
        self._answers = input_responses(ctx) or {}
        self.asked: dict[str, str] = {}
        """This round's questions by key, for the `input_required` result."""

    @property
    def _multi_round_trip(self) -> bool:
        version = self._ctx.protocol_version
        return version is not None and is_version_at_least(version, MULTI_ROUND_TRIP_VERSION)

    async def __call__(self, spec: FunctionSpec, arguments: Mapping[str, Any], call_id: str) -> Approval:
        capabilities = self._ctx.client_capabilities
        if capabilities is None or capabilities.elicitation is None:
            return Approval.CANNOT_ASK
        question = _question(spec, arguments)
        if self._multi_round_trip:
            key = f"confirm-{call_id}"
            answer = self._answers.get(key)
            if answer is None:
                self.asked[key] = question
                return Approval.PENDING
            return Approval.APPROVED if _allowed(answer) else Approval.DENIED
        if not self._ctx.session.can_send_request:
            return Approval.CANNOT_ASK
        try:
            decision = await self._ctx.elicit(question, CallConfirmation)
        except Exception:  # the client failed to answer: nothing was allowed
            return Approval.CANNOT_ASK
        allowed = isinstance(decision, AcceptedElicitation) and decision.data.allow
        return Approval.APPROVED if allowed else Approval.DENIED

    def input_required(self, paused: PausedLoop) -> InputRequiredResult:
        """The questions of the paused round, and where the turn goes on when the client retries."""
        schema = render_elicitation_schema(CallConfirmation)
        requests: dict[str, Any] = {
            key: ElicitRequest(params=ElicitRequestFormParams(message=question, requested_schema=schema))
            for key, question in self.asked.items()
        }
        return InputRequiredResult(input_requests=requests, request_state=paused.model_dump_json())


def _allowed(answer: object) -> bool:
    if not isinstance(answer, ElicitResult) or answer.action != "accept":
        return False
    try:
        return CallConfirmation.model_validate(answer.content or {}).allow
    except ValidationError:
        return False


def paused_loop(ctx: Context[Any, Any]) -> PausedLoop | None:
    """Where a turn paused for the user goes on: the state sealed into its `input_required` result,
    which the client's retry brings back (None on a first call)."""
    state = request_state(ctx)
    if not state:
        return None
    try:
        return PausedLoop.model_validate_json(state)
    except ValidationError:
        raise ToolError("This retry carries a state this server cannot read; ask again.") from None


def calls_line(calls: list[CallRecord]) -> str:
    """One line listing every call of a turn: name, duration, ok or error."""
    shown = [f"{c.name} ({c.seconds:.2f} s, {'ok' if c.ok else 'error'})" for c in calls]
    return "Tools called: " + ", ".join(shown) if shown else ""

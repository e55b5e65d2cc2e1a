"""manage_agent and run_agent: custom managed agents, and tasks run on them in a sandbox."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from gemini_interactions_mcp.services.requests import (
    DEFAULT_PAGE_CHARS,
    MAX_WAIT_SECONDS,
    AgentBuiltinTool,
    AgentRunRequest,
    AgentSpec,
    BaseEnvironment,
    McpServerTool,
)
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import (
    FILES,
    AppContext,
    ProgressReporter,
    app_state,
    principal,
    run_service,
)
from gemini_interactions_mcp.tools.interactions import render_poll
from gemini_interactions_mcp.tools.media import linked_media
from gemini_interactions_mcp.tools.outputs import AgentOutput, PollOutput
from gemini_interactions_mcp.tools.roots import client_roots

RUN_WAIT_SECONDS = 20


class DeleteConfirmation(BaseModel):
    delete: bool = Field(description="Delete the agent permanently?")


def _text(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


NOT_ASKED = DeleteConfirmation(delete=False)


def ask_to_delete(
    action: str, id: str | None, confirm: bool, ctx: Context[Any, Any]
) -> Elicit[DeleteConfirmation] | DeleteConfirmation:
    """Put an unconfirmed delete to the user, on every protocol era, where the client can be asked.

    The SDK turns the request into a push elicitation on 2025-era connections and into a
    multi-round-trip `input_required` result on 2026-07-28 ones. Anything else (another action, an
    explicit `confirm`, a client without elicitation) gets a plain "not asked" and no question.
    """
    capabilities = ctx.client_capabilities
    if action != "delete" or confirm or not id or capabilities is None or capabilities.elicitation is None:
        return NOT_ASKED
    return Elicit(f"Delete the agent {id!r} permanently?", DeleteConfirmation)


def _confirmed(decision: ElicitationResult[DeleteConfirmation]) -> bool:
    return (
        isinstance(decision, AcceptedElicitation) and decision.data is not NOT_ASKED and decision.data.delete
    )


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name=ToolName.MANAGE_AGENT,
        title="Manage custom agents",
        description="Create, list, get or delete your custom managed agents (built on Antigravity). "
        f"Run one with {ToolName.RUN_AGENT}.",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True),
    )
    async def manage_agent(
        action: Literal["create", "list", "get", "delete"],
        ctx: AppContext,
        decision: Annotated[ElicitationResult[DeleteConfirmation], Resolve(ask_to_delete)],
        id: Annotated[str | None, Field(description="Agent id: lowercase letters, digits, hyphens.")] = None,
        base_agent: str | None = None,
        description: str | None = None,
        system_instruction: str | None = None,
        tools: list[AgentBuiltinTool | McpServerTool] | None = None,
        base_environment: Annotated[BaseEnvironment | None, Field(description="Sandbox template.")] = None,
        page_size: Annotated[int, Field(ge=1, le=100)] = 20,
        page_token: str | None = None,
        confirm: Annotated[bool, Field(description="delete: true to confirm.")] = False,
    ) -> Annotated[CallToolResult, AgentOutput]:
        service = app_state(ctx).agents
        owner = principal()
        if action == "list":
            page = await run_service(service.page(owner, page_size=page_size, page_token=page_token))
            lines = [
                f"- {a.get('id')} (base {a.get('base_agent')}): {a.get('description') or ''}"
                for a in page.agents
            ]
            if page.next_page_token:
                lines.append(f"More: call again with page_token={page.next_page_token!r}.")
            return _text("\n".join(lines) or "No agents yet: action='create' makes one.", page.model_dump())
        if not id:
            raise ToolError(f"action={action!r} needs `id`.")
        if action == "create":
            spec = AgentSpec(
                id=id,
                base_agent=base_agent or AgentSpec.model_fields["base_agent"].default,
                description=description,
                system_instruction=system_instruction,
                tools=tools or [],
                base_environment=base_environment,
            )
            created, notes = await run_service(service.create(owner, spec))
            text = "\n".join(
                [f"Created agent {id!r}. Run it with {ToolName.RUN_AGENT}(agent={id!r}, …).", *notes]
            )
            return _text(text, {"agent": created, "notes": notes})
        if action == "get":
            agent = await run_service(service.get(owner, id))
            return _text(json.dumps(agent, indent=1), {"agent": agent})
        if not confirm and not _confirmed(decision):
            raise ToolError(f"Deleting agent {id!r} is permanent: call again with confirm=true to delete it.")
        await run_service(service.delete(owner, id))
        return _text(f"Deleted agent {id!r}.", {"deleted": id})

    @server.tool(
        name=ToolName.RUN_AGENT,
        title="Run an agent in a sandbox",
        description="Run a task on the Antigravity agent or your custom agent in a sandbox, in the "
        f"background: {ToolName.POLL} the returned interaction_id; `conversation` continues in the same "
        "sandbox.",
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    async def run_agent(
        input: Annotated[str, Field(min_length=1, description="The task.")],
        ctx: AppContext,
        agent: Annotated[
            str | None,
            Field(description="Default: the conversation's agent, else Antigravity."),
        ] = None,
        files: Annotated[list[str] | None, Field(description=FILES)] = None,
        conversation: Annotated[
            str | None, Field(description="Continue an earlier run (same sandbox).")
        ] = None,
        environment: Annotated[
            str | None, Field(description="'remote' (fresh sandbox) or an environment id.")
        ] = None,
        wait_seconds: Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS)] = RUN_WAIT_SECONDS,
        download: Annotated[
            list[str] | None, Field(description="Sandbox files (paths or globs) to save when it ends.")
        ] = None,
        tools: Annotated[
            list[str] | None,
            Field(description="workspace, mcp:NAME[/TOOL] (gemini://tools): tools the agent calls."),
        ] = None,
    ) -> Annotated[CallToolResult, PollOutput]:
        state = app_state(ctx)
        if environment:
            environment = await run_service(state.sandbox.check(principal(), environment))
        request = AgentRunRequest(
            agent=agent,
            input=input,
            files=files or [],
            conversation=conversation,
            environment=environment,
            tools=tools,
        )
        roots = await client_roots(ctx) if request.files else None
        job, notes = await run_service(state.agents.run(principal(), request, roots=roots))
        await run_service(state.sandbox.download_when_done(job, download or []))
        result = await run_service(
            state.jobs.poll(
                principal(),
                job.interaction_id,
                wait_seconds=wait_seconds,
                offset=0,
                max_chars=DEFAULT_PAGE_CHARS,
                progress=ProgressReporter(ctx),
            )
        )
        rendered = render_poll(result)
        rendered.content[1:1] = await linked_media(state.media, principal(), result.output)
        extra = [f"conversation={job.conversation_id} (pass it to continue in the same sandbox)", *notes]
        rendered.content.insert(0, TextContent(type="text", text="\n".join(extra)))
        return rendered

"""Background interactions: poll_interaction, cancel_interaction, and the report resources."""

from __future__ import annotations

import math
from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult, ResourceLink, TextContent, ToolAnnotations
from pydantic import Field

from gemini_interactions_mcp.services.requests import DEFAULT_PAGE_CHARS, MAX_PAGE_CHARS, MAX_WAIT_SECONDS
from gemini_interactions_mcp.services.results import PollResult
from gemini_interactions_mcp.services.uris import RESOURCE_TEMPLATE
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import (
    MAX_OFFSET,
    AppContext,
    ProgressReporter,
    app_state,
    principal,
    read_resource,
    run_service,
)
from gemini_interactions_mcp.tools.media import linked_media
from gemini_interactions_mcp.tools.outputs import CancelOutput, PollOutput
from gemini_interactions_mcp.tools.research import PlanDecision, ask_about_plan, settle_plan
from gemini_interactions_mcp.tools.usage import usage_line

DEFAULT_WAIT_SECONDS = 25


def page_hint(result: PollResult) -> str:
    if result.next_offset is None:
        return ""
    left = result.total_chars - result.next_offset
    pages = math.ceil(left / DEFAULT_PAGE_CHARS)
    return f"{left} more characters (~{pages} page(s)): poll again with offset={result.next_offset}."


def render_poll(result: PollResult) -> CallToolResult:
    """Status and what is new first, then the page of output, then how to get the rest."""
    from gemini_interactions_mcp.services.reports import headline  # loaded with the services, once wired

    head = f"{result.kind} {result.interaction_id}: {result.status} after {result.elapsed_seconds:.0f} s"
    lines = [head]
    if result.error:
        lines.append(f"Error: {result.error}")
    if result.progress:
        lines += ["New progress:", *(f"- {headline(p)}" for p in result.progress)]
    if not result.done:
        lines.append(f"Still running: call {ToolName.POLL} again with the same interaction_id.")
    used = usage_line(result.usage, result.conversation_usage) if result.done else None
    if used:
        lines.append(f"Usage: {used}")
    if result.output:
        lines += ["", result.output]
    hint = page_hint(result)
    if hint:
        lines += ["", hint]
    content: list[Any] = [TextContent(type="text", text="\n".join(lines))]
    if result.done:
        content.append(
            ResourceLink(
                type="resource_link",
                uri=result.resource,
                name=f"report-{result.interaction_id}",
                mime_type="text/markdown",
            )
        )
    structured = result.model_dump(exclude={"output"})
    return CallToolResult(content=content, structured_content=structured)


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name=ToolName.POLL,
        title="Poll a background interaction",
        description="Status, new progress and output of background work (research, agent run, files being "
        f"added, an {ToolName.ASK} answer past its deadline); waits up to wait_seconds.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def poll_interaction(
        interaction_id: str,
        ctx: AppContext,
        decision: Annotated[ElicitationResult[PlanDecision], Resolve(ask_about_plan)],
        wait_seconds: Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS)] = DEFAULT_WAIT_SECONDS,
        offset: Annotated[
            int, Field(ge=0, le=MAX_OFFSET, description="Output offset (from next_offset).")
        ] = 0,
        max_chars: Annotated[int, Field(ge=500, le=MAX_PAGE_CHARS)] = DEFAULT_PAGE_CHARS,
    ) -> Annotated[CallToolResult, PollOutput]:
        result = await run_service(
            app_state(ctx).jobs.poll(
                principal(),
                interaction_id,
                wait_seconds=wait_seconds,
                offset=offset,
                max_chars=max_chars,
                progress=ProgressReporter(ctx),
            )
        )
        rendered = render_poll(result)
        rendered.content[1:1] = await linked_media(app_state(ctx).media, principal(), result.output)
        if result.done and result.status == "completed":
            await settle_plan(ctx, result, rendered, decision)
        return rendered

    @server.tool(
        name=ToolName.CANCEL,
        title="Cancel a background interaction",
        description="Cancel running background work; returns its final status.",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True),
    )
    async def cancel_interaction(
        interaction_id: str, ctx: AppContext
    ) -> Annotated[CallToolResult, CancelOutput]:
        job = await run_service(app_state(ctx).jobs.cancel(principal(), interaction_id))
        text = f"Interaction {job.interaction_id} is {job.status}."
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content={"interaction_id": job.interaction_id, "status": job.status},
        )

    @server.resource(
        RESOURCE_TEMPLATE,
        name="interaction",
        description="Full output of one of your background interactions, as markdown.",
        mime_type="text/markdown",
    )
    async def interaction_report(interaction_id: str, ctx: AppContext) -> str:
        return await read_resource(app_state(ctx).jobs.report(principal(), interaction_id))

"""Long work: start_deep_research, poll_interaction, cancel_interaction, and the report resources."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult, ResourceLink, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from gemini_interactions_mcp.services.errors import ServiceError, UnknownHandleError
from gemini_interactions_mcp.services.jobs import DEFAULT_PAGE_CHARS, PollResult, page_hint
from gemini_interactions_mcp.services.reports import headline
from gemini_interactions_mcp.services.research import PLAN_LABEL, ResearchRequest, ResearchStarted
from gemini_interactions_mcp.state import JobRecord
from gemini_interactions_mcp.tools._common import (
    AppContext,
    ProgressReporter,
    app_state,
    principal,
    run_service,
)
from gemini_interactions_mcp.tools.roots import client_roots

MAX_WAIT_SECONDS = 50


def _started_text(started: ResearchStarted) -> str:
    lines = [
        f"Deep Research started ({started.agent}): interaction_id={started.interaction_id}, status "
        f"{started.status}. It takes minutes: call poll_interaction with this interaction_id and "
        f"wait_seconds=50 (first poll in about {started.poll_after_seconds} s is fine).",
        f"Report when done: {started.resource}. "
        f"Follow-up research: pass conversation={started.conversation}.",
        *(f"Note: {n}" for n in started.notes),
    ]
    return "\n".join(lines)


def render_poll(result: PollResult) -> CallToolResult:
    """Status and what is new first, then the page of output, then how to get the rest."""
    head = f"{result.kind} {result.interaction_id}: {result.status} after {result.elapsed_seconds:.0f} s"
    lines = [head]
    if result.error:
        lines.append(f"Error: {result.error}")
    if result.progress:
        lines += ["New progress:", *(f"- {headline(p)}" for p in result.progress)]
    if not result.done:
        lines.append("Still running: call poll_interaction again with the same interaction_id.")
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


class PlanDecision(BaseModel):
    approve: bool = Field(description="Run the research with this plan?")
    changes: str = Field("", description="Changes to the plan, if any.")


NOT_ASKED = PlanDecision(approve=False)


def _plan_question(job: JobRecord) -> str:
    return f"Deep Research proposes this plan:\n\n{job.output}\n\nRun it?"


async def _plan_awaiting_user(ctx: AppContext, interaction_id: str) -> JobRecord | None:
    """The caller's finished, not yet offered research plan, if the client can be asked about it."""
    state = app_state(ctx)
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return None
    job = await state.store.get_job(principal(), interaction_id)
    if job is None or job.label != PLAN_LABEL or job.status != "completed" or not job.is_finished:
        return None
    return None if job.interaction_id in state.offered_plans else job


async def ask_about_plan(interaction_id: str, ctx: AppContext) -> Elicit[PlanDecision] | PlanDecision:
    """A plan that is already finished is put to the user before the poll, on both protocol eras
    (push elicitation on 2025-era connections, multi-round-trip on 2026-07-28 ones)."""
    job = await _plan_awaiting_user(ctx, interaction_id)
    return NOT_ASKED if job is None else Elicit(_plan_question(job), PlanDecision)


async def _settle_plan(
    ctx: AppContext,
    result: PollResult,
    rendered: CallToolResult,
    decision: ElicitationResult[PlanDecision],
) -> None:
    """Act on the user's answer about a finished plan: start the research, or say it was not approved.

    A plan that finished during this poll was not known to the resolver; on connections with a
    back-channel it is asked about here. Each plan is offered once; without elicitation the caller
    confirms or amends it by continuing the conversation.
    """
    state = app_state(ctx)
    job = await _plan_awaiting_user(ctx, result.interaction_id)
    if job is None:
        return
    if isinstance(decision, AcceptedElicitation) and decision.data is NOT_ASKED:
        if not ctx.session.can_send_request:
            return
        try:
            decision = await ctx.elicit(_plan_question(job), PlanDecision)
        except Exception:  # the client failed to answer: the caller can still confirm via `conversation`
            return
    state.offered_plans.add(job.interaction_id)
    if not isinstance(decision, AcceptedElicitation) or not decision.data.approve:
        note = "The user did not approve the plan: amend it with start_deep_research(conversation=...)."
        rendered.content.append(TextContent(type="text", text=note))
        return
    changes = decision.data.changes.strip()
    query = (
        f"Run the research with these changes to the plan: {changes}"
        if changes
        else ("The plan is approved; run the research.")
    )
    request = ResearchRequest(query=query, agent=job.agent or "fast", conversation=job.conversation_id)
    started = await run_service(state.research.start(principal(), request, roots=None))
    text = (
        "The user approved the plan. Research started: poll_interaction with "
        f"interaction_id={started.interaction_id!r}."
    )
    rendered.content.append(TextContent(type="text", text=text))
    if rendered.structured_content is not None:
        rendered.structured_content["next_interaction_id"] = started.interaction_id


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name="start_deep_research",
        description="Start a Deep Research report (takes minutes). Returns at once with an interaction_id "
        "to pass to poll_interaction.",
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    async def start_deep_research(
        query: Annotated[str, Field(min_length=1, description="What to research.")],
        ctx: AppContext,
        agent: Annotated[
            str, Field(description="'fast' (default), 'max' (exhaustive) or an agent id.")
        ] = "fast",
        conversation: Annotated[
            str | None,
            Field(description="Earlier research conversation to follow up on (or confirm a plan)."),
        ] = None,
        files: Annotated[
            list[str] | None, Field(description="Local paths or http(s) URLs to research.")
        ] = None,
        file_search_stores: Annotated[
            list[str] | None, Field(description="fileSearchStores/… names.")
        ] = None,
        collaborative_planning: Annotated[
            bool, Field(description="Propose a plan first; confirm or amend it via `conversation`.")
        ] = False,
    ) -> CallToolResult:
        request = ResearchRequest(
            query=query,
            agent=agent,
            conversation=conversation,
            files=files or [],
            file_search_stores=file_search_stores or [],
            collaborative_planning=collaborative_planning,
        )
        roots = await client_roots(ctx) if request.files else None
        started = await run_service(app_state(ctx).research.start(principal(), request, roots=roots))
        return CallToolResult(
            content=[TextContent(type="text", text=_started_text(started))],
            structured_content=started.model_dump(),
        )

    @server.tool(
        name="poll_interaction",
        description="Status, new progress and output of a background interaction (research, agent run, or an "
        "ask_gemini answer past its deadline). Waits up to wait_seconds for it to finish.",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def poll_interaction(
        interaction_id: str,
        ctx: AppContext,
        decision: Annotated[ElicitationResult[PlanDecision], Resolve(ask_about_plan)],
        wait_seconds: Annotated[float, Field(ge=0, le=MAX_WAIT_SECONDS)] = 25,
        offset: Annotated[int, Field(ge=0, description="Output offset (from next_offset).")] = 0,
        max_chars: Annotated[int, Field(ge=500, le=100_000)] = DEFAULT_PAGE_CHARS,
    ) -> CallToolResult:
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
        if result.done and result.status == "completed":
            await _settle_plan(ctx, result, rendered, decision)
        return rendered

    @server.tool(
        name="cancel_interaction",
        description="Cancel a running background interaction; returns its final status.",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True),
    )
    async def cancel_interaction(interaction_id: str, ctx: AppContext) -> CallToolResult:
        job = await run_service(app_state(ctx).jobs.cancel(principal(), interaction_id))
        text = f"Interaction {job.interaction_id} is {job.status}."
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content={"interaction_id": job.interaction_id, "status": job.status},
        )

    @server.resource(
        "gemini://interactions/{interaction_id}",
        name="interaction",
        description="Full output of one of your background interactions, as markdown.",
        mime_type="text/markdown",
    )
    async def interaction_report(interaction_id: str, ctx: AppContext) -> str:
        try:
            job = await app_state(ctx).jobs.get(principal(), interaction_id)
        except UnknownHandleError as exc:  # unknown and someone else's alike: invalid params (-32602)
            raise ResourceNotFoundError(str(exc)) from None
        except ServiceError as exc:
            raise ResourceError(str(exc)) from None
        if not job.is_finished:
            return f"# {job.label or job.kind}\n\nStill {job.status}; poll_interaction shows progress."
        return (
            job.output or f"# {job.label or job.kind}\n\nFinished with status {job.status}: {job.error or ''}"
        )

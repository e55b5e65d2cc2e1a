"""start_deep_research, and putting a finished collaborative plan to the user.

The plan's lifecycle is the research service's; this module only asks the user, through whichever
channel the client offers: the SDK resolver before a poll (push elicitation on 2025-era connections,
multi-round-trip on 2026-07-28 ones), or a push elicitation after a poll during which the plan finished.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resolve import Elicit
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from gemini_interactions_mcp.services.requests import (
    DEFAULT_AGENT,
    DEFAULT_VISUALIZATION,
    MAX_WAIT_SECONDS,
    ResearchRequest,
    Visualization,
)
from gemini_interactions_mcp.services.results import PlanOffer, PollResult, ResearchStarted
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import FILES, STORES, AppContext, app_state, principal, run_service
from gemini_interactions_mcp.tools.outputs import ResearchOutput
from gemini_interactions_mcp.tools.roots import client_roots


def _started_text(started: ResearchStarted) -> str:
    lines = [
        f"Deep Research started ({started.agent}): interaction_id={started.interaction_id}, status "
        f"{started.status}. It takes minutes: call {ToolName.POLL} with this interaction_id and "
        f"wait_seconds={MAX_WAIT_SECONDS} (first poll in about {started.poll_after_seconds} s is fine).",
        f"Report when done: {started.resource}. "
        f"Follow-up research: pass conversation={started.conversation}.",
        *(f"Note: {n}" for n in started.notes),
    ]
    return "\n".join(lines)


class PlanDecision(BaseModel):
    approve: bool = Field(description="Run the research with this plan?")
    changes: str = Field("", description="Changes to the plan, if any.")


NOT_ASKED = PlanDecision(approve=False)


async def _plan_for_user(ctx: AppContext, interaction_id: str) -> PlanOffer | None:
    """The caller's finished, not yet offered plan, if the client can be asked about it."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return None
    offer: PlanOffer | None = await run_service(
        app_state(ctx).research.plan_to_offer(principal(), interaction_id)
    )
    return offer


async def ask_about_plan(interaction_id: str, ctx: AppContext) -> Elicit[PlanDecision] | PlanDecision:
    """A plan that is already finished is put to the user before the poll, on both protocol eras."""
    offer = await _plan_for_user(ctx, interaction_id)
    return NOT_ASKED if offer is None else Elicit(offer.question, PlanDecision)


async def settle_plan(
    ctx: AppContext,
    result: PollResult,
    rendered: CallToolResult,
    decision: ElicitationResult[PlanDecision],
) -> None:
    """After a poll of a finished plan: ask about it if the resolver could not, then act on the answer.

    Without elicitation the caller confirms or amends the plan by continuing the conversation.
    """
    offer = await _plan_for_user(ctx, result.interaction_id)
    if offer is None:
        return
    if isinstance(decision, AcceptedElicitation) and decision.data is NOT_ASKED:
        if not ctx.session.can_send_request:
            return
        try:
            decision = await ctx.elicit(offer.question, PlanDecision)
        except Exception:  # the client failed to answer: the caller can still confirm via `conversation`
            return
    approved = isinstance(decision, AcceptedElicitation) and decision.data.approve
    changes = decision.data.changes if isinstance(decision, AcceptedElicitation) else ""
    answer = await run_service(
        app_state(ctx).research.answer_plan(
            principal(), offer.interaction_id, approve=approved, changes=changes
        )
    )
    if answer is None:
        return
    if answer.started is None:
        note = (
            f"The user did not approve the plan: amend it with {ToolName.START_RESEARCH}(conversation=...)."
        )
        rendered.content.append(TextContent(type="text", text=note))
        return
    text = (
        f"The user approved the plan. Research started: {ToolName.POLL} with "
        f"interaction_id={answer.started.interaction_id!r}."
    )
    rendered.content.append(TextContent(type="text", text=text))
    if rendered.structured_content is not None:
        rendered.structured_content["next_interaction_id"] = answer.started.interaction_id


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name=ToolName.START_RESEARCH,
        title="Start Deep Research",
        description="Start a Deep Research report (takes minutes). Returns at once with an interaction_id "
        f"to pass to {ToolName.POLL}.",
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    async def start_deep_research(
        query: Annotated[str, Field(min_length=1, description="What to research.")],
        ctx: AppContext,
        agent: Annotated[
            str, Field(description="'fast' (default), 'max' (exhaustive) or an agent id.")
        ] = DEFAULT_AGENT,
        conversation: Annotated[
            str | None,
            Field(description="Follow up on earlier research (or confirm its plan)."),
        ] = None,
        files: Annotated[list[str] | None, Field(description=FILES)] = None,
        file_search_stores: Annotated[list[str] | None, Field(description=STORES)] = None,
        collaborative_planning: Annotated[
            bool, Field(description="Propose a plan first; confirm or amend it via `conversation`.")
        ] = False,
        visualization: Annotated[
            Visualization, Field(description="'auto': charts where the question asks for them.")
        ] = DEFAULT_VISUALIZATION,
        mcp_servers: Annotated[
            list[str] | None, Field(description="gemini://tools servers marked via gemini.")
        ] = None,
    ) -> Annotated[CallToolResult, ResearchOutput]:
        state = app_state(ctx)
        request = ResearchRequest(
            query=query,
            agent=agent,
            conversation=conversation,
            files=files or [],
            file_search_stores=await run_service(
                state.file_stores.usable(principal(), file_search_stores or [])
            ),
            collaborative_planning=collaborative_planning,
            visualization=visualization,
            mcp_servers=mcp_servers or [],
        )
        roots = await client_roots(ctx) if request.files else None
        started = await run_service(state.research.start(principal(), request, roots=roots))
        return CallToolResult(
            content=[TextContent(type="text", text=_started_text(started))],
            structured_content=started.model_dump(),
        )

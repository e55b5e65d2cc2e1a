"""Deep Research: runs started as background turns, and the collaborative plan's lifecycle.

With collaborative planning the agent first proposes a plan (a job labelled `PLAN_LABEL`). Once it is
done the plan is put to the user once (the offer is flagged on the job record, so no other poll or
server process asks again), and an approval starts the research on the same agent, chained onto the
plan. Without a way to ask, the caller confirms or amends the plan by continuing the conversation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gemini_interactions_mcp.downstream.hub import DownstreamHub, SelectionError
from gemini_interactions_mcp.downstream.names import mcp_server_name
from gemini_interactions_mcp.services.background import BackgroundTurns
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.chain import TurnRequest
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.inputs import TurnInputs
from gemini_interactions_mcp.services.requests import DEFAULT_AGENT, ResearchRequest
from gemini_interactions_mcp.services.results import PlanOffer, ResearchStarted
from gemini_interactions_mcp.services.uris import resource_uri
from gemini_interactions_mcp.state import JobRecord, Store
from gemini_interactions_mcp.tool_names import ToolName

POLL_AFTER_SECONDS = 30
PLAN_LABEL = "research plan"
"""Job label of a collaborative-planning turn: its output is a plan awaiting the user's go-ahead."""


class PlanAnswer(BaseModel):
    """What came of the user's answer: the research it started, if approved."""

    approved: bool
    started: ResearchStarted | None = None


class ResearchService:
    """Starts Deep Research as background turns; polling and results go through JobService."""

    def __init__(
        self,
        *,
        background: BackgroundTurns,
        inputs: TurnInputs,
        catalog: Catalog,
        store: Store,
        hub: DownstreamHub | None = None,
    ) -> None:
        self._hub = hub
        self._background = background
        self._inputs = inputs
        self._catalog = catalog
        self._store = store

    async def start(
        self, owner: str, request: ResearchRequest, *, roots: list[Path] | None
    ) -> ResearchStarted:
        notes: list[str] = []
        resolution = self._catalog.resolve_agent(request.agent)
        if resolution.note:
            notes.append(resolution.note)
        if self._catalog.kind_of_agent(resolution.id) != "deep-research":
            raise ServiceError(
                f"{resolution.id!r} is not a Deep Research agent: use agent 'fast' or 'max' "
                f"(or {ToolName.RUN_AGENT} for managed agents)."
            )
        body: dict[str, Any] = {
            "agent": resolution.id,
            "agent_config": {
                "type": "deep-research",
                "thinking_summaries": "auto",
                "visualization": request.visualization,
                **({"collaborative_planning": True} if request.collaborative_planning else {}),
            },
        }
        if request.file_search_stores or request.mcp_servers:
            body["tools"] = await self._tools(request)
        turn_input = await self._inputs.build(request.query, request.files, roots, owner=owner)
        job, started_notes = await self._background.start(
            owner,
            request.conversation,
            TurnRequest(prompt=request.query, files=request.files, turn_input=turn_input),
            body,
            kind="research",
            agent=resolution.id,
            label=PLAN_LABEL if request.collaborative_planning else None,
        )
        return ResearchStarted(
            interaction_id=job.interaction_id,
            status=job.status,
            agent=resolution.id,
            conversation=job.conversation_id or "",
            resource=resource_uri(job.interaction_id),
            poll_after_seconds=POLL_AFTER_SECONDS,
            notes=notes + started_notes,
        )

    async def _tools(self, request: ResearchRequest) -> list[dict[str, Any]]:
        """The agent's tools when it should reach more than the web: its default web and code tools
        (web search gives way to File Search, which the API does not combine with it), the stores,
        and the MCP servers configured `via: gemini` (Google's side calls them; this server cannot
        relay calls for an agent)."""
        tools: list[dict[str, Any]] = [{"type": "code_execution"}]
        if request.file_search_stores:
            tools.append({"type": "file_search", "file_search_store_names": request.file_search_stores})
        else:
            tools += [{"type": "google_search"}, {"type": "url_context"}]
        if not request.mcp_servers:
            return tools
        if self._hub is None:
            raise ServiceError("No MCP servers are configured (start the server with --mcp-config).")
        entries = [f"mcp:{name.removeprefix('mcp:')}" for name in request.mcp_servers]
        try:
            selected = self._hub.parse(entries)
            box = await self._hub.toolbox(entries)
        except SelectionError as exc:
            raise ServiceError(str(exc)) from None
        remote = {tool.get("name") for tool in box.remote}
        relayed = sorted(name for name in selected if mcp_server_name(name) not in remote)
        if relayed:
            raise ServiceError(
                f"Deep Research reaches MCP servers only through Gemini: configure {', '.join(relayed)} with "
                '"via": "gemini" (a URL Google can reach), or use it with ask_gemini.'
            )
        return tools + box.remote

    async def _finished_plan(self, owner: str, interaction_id: str) -> JobRecord | None:
        job = await self._store.get_job(owner, interaction_id)
        if job is None or job.label != PLAN_LABEL or job.status != "completed" or not job.is_finished:
            return None
        return None if job.plan_offered else job

    async def plan_to_offer(self, owner: str, interaction_id: str) -> PlanOffer | None:
        """The caller's finished plan with this id, if the user has not been asked about it yet."""
        job = await self._finished_plan(owner, interaction_id)
        if job is None:
            return None
        question = f"Deep Research proposes this plan:\n\n{job.output}\n\nRun it?"
        return PlanOffer(interaction_id=job.interaction_id, question=question)

    async def answer_plan(
        self, owner: str, interaction_id: str, *, approve: bool, changes: str = ""
    ) -> PlanAnswer | None:
        """Act on the user's answer: start the research on the plan's agent, or leave it be.

        None when the plan was already answered (another poll got there first): each plan runs once.
        """
        job = await self._finished_plan(owner, interaction_id)
        if job is None or not await self._store.mark_plan_offered(owner, interaction_id):
            return None
        if not approve:
            return PlanAnswer(approved=False)
        changes = changes.strip()
        query = (
            f"Run the research with these changes to the plan: {changes}"
            if changes
            else "The plan is approved; run the research."
        )
        request = ResearchRequest(
            query=query, agent=job.agent or DEFAULT_AGENT, conversation=job.conversation_id
        )
        return PlanAnswer(approved=True, started=await self.start(owner, request, roots=None))

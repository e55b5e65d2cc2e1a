"""Deep Research runs: the request body for the agent, chained onto a conversation when asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.conversations import ConversationService
from gemini_interactions_mcp.services.errors import ServiceError
from gemini_interactions_mcp.services.jobs import resource_uri
from gemini_interactions_mcp.state import JobRecord

POLL_AFTER_SECONDS = 30
PLAN_LABEL = "research plan"
"""Job label of a collaborative-planning turn: its output is a plan awaiting the user's go-ahead."""


class ResearchRequest(BaseModel):
    query: str
    agent: str = "fast"
    conversation: str | None = None
    files: list[str] = Field(default_factory=list)
    file_search_stores: list[str] = Field(default_factory=list)
    collaborative_planning: bool = False


class ResearchStarted(BaseModel):
    interaction_id: str
    status: str
    agent: str
    conversation: str
    resource: str
    poll_after_seconds: int
    notes: list[str]


class ResearchService:
    """Starts Deep Research as a background job; polling and results go through JobService."""

    def __init__(self, *, conversations: ConversationService, catalog: Catalog) -> None:
        self._conversations = conversations
        self._catalog = catalog

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
                "(or run_agent for managed agents)."
            )
        body: dict[str, Any] = {
            "agent": resolution.id,
            "input": await self._conversations.turn_input(request.query, request.files, roots),
            "agent_config": {
                "type": "deep-research",
                "thinking_summaries": "auto",
                **({"collaborative_planning": True} if request.collaborative_planning else {}),
            },
        }
        if request.file_search_stores:
            body["tools"] = [{"type": "file_search", "file_search_store_names": request.file_search_stores}]
        job: JobRecord = await self._conversations.start_job_turn(
            owner,
            request.conversation,
            body,
            kind="research",
            agent=resolution.id,
            preview=request.query,
            label=PLAN_LABEL if request.collaborative_planning else None,
        )
        return ResearchStarted(
            interaction_id=job.interaction_id,
            status=job.status,
            agent=resolution.id,
            conversation=job.conversation_id or "",
            resource=resource_uri(job.interaction_id),
            poll_after_seconds=POLL_AFTER_SECONDS,
            notes=notes,
        )

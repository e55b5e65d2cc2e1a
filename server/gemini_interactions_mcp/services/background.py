"""Background turns: a Deep Research run or an agent run started as a job on a conversation.

The head moves to the new interaction at once, so a follow-up chains onto it once it is done; a
follow-up while it still runs is refused with the handle to poll. Its answer, usage and sandbox are
recorded on the conversation when the job finishes (`ConversationChain.job_finished`).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from gemini_interactions_mcp.gemini import InteractionsClient
from gemini_interactions_mcp.services.chain import ConversationChain, Created, TurnRequest
from gemini_interactions_mcp.services.conversations import ConversationDirectory
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.limits import Limits
from gemini_interactions_mcp.services.transcript import TurnInput
from gemini_interactions_mcp.state import ConversationRecord, JobKind, JobRecord


@dataclass
class _JobTurn:
    owner: str
    conversation_id: str
    body: dict[str, Any]
    kind: JobKind
    agent: str
    label: str | None
    default_environment: str | None
    client: InteractionsClient
    jobs: JobService
    what: str
    settings: dict[str, Any] | None = None

    async def create(
        self, current: ConversationRecord, previous: str | None, turn_input: TurnInput
    ) -> Created[JobRecord]:
        body = {**self.body, "input": turn_input, "background": True}
        if previous is not None:
            body["previous_interaction_id"] = previous
        environment = current.environment_id or self.default_environment
        if environment is not None and "environment" not in body:
            body["environment"] = environment
        interaction = await self.client.create(body)
        job = await self.jobs.adopt(
            self.owner,
            self.kind,
            interaction,
            conversation_id=self.conversation_id,
            label=self.label or self.agent,
            agent=self.agent,
        )
        updates: dict[str, Any] = {"agent": self.agent}
        if self.settings is not None:
            merged = {**current.settings, **self.settings}
            updates["settings"] = {k: v for k, v in merged.items() if v is not None}
        if job.environment_id is not None:
            updates["environment_id"] = job.environment_id
        return Created(interaction_id=job.interaction_id, result=job, running=True, updates=updates)

    async def discard(self, created: Created[JobRecord]) -> None:
        await self.jobs.cancel(self.owner, created.interaction_id)


class BackgroundTurns:
    """Starts background turns (research, agent runs) on new or existing conversations."""

    def __init__(
        self,
        *,
        directory: ConversationDirectory,
        chain: ConversationChain,
        client: InteractionsClient,
        jobs: JobService,
        limits: Limits | None = None,
    ) -> None:
        self._directory = directory
        self._chain = chain
        self._client = client
        self._jobs = jobs
        self._limits = limits

    def _slot(self, owner: str, kind: JobKind) -> AbstractAsyncContextManager[None]:
        """A place among the owner's running jobs (the limit, when one is set)."""
        return self._limits.job_slot(owner, kind) if self._limits is not None else nullcontext()

    async def start(
        self,
        owner: str,
        key: str | None,
        request: TurnRequest,
        body: dict[str, Any],
        *,
        kind: JobKind,
        agent: str,
        default_environment: str | None = None,
        label: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> tuple[JobRecord, list[str]]:
        """Start the turn as a job (`body` is all but its input and chain link); the job, and notes.
        `settings` are changes to the conversation's kept settings (None values remove a key)."""
        async with self._slot(owner, kind):
            conversation = await self._directory.open(owner, key)
            turn = _JobTurn(
                owner=owner,
                conversation_id=conversation.id,
                body=body,
                kind=kind,
                agent=agent,
                label=label,
                default_environment=default_environment,
                client=self._client,
                jobs=self._jobs,
                what=f"starting this {kind} run",
                settings=settings,
            )
            advanced = await self._chain.advance(
                owner, conversation, request, turn, wait_seconds=0.0, progress=None, private=key is None
            )
        return advanced.created.result, advanced.notes

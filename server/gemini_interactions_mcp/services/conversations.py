"""Conversations: a stable, caller-owned handle over a chain of upstream interactions.

The Interactions API keeps the history (`previous_interaction_id`) but not the interaction-scoped
settings, so this service stores them with the conversation and re-sends them every turn. Turns on one
conversation are serialised twice over: an in-process lock orders concurrent calls, and the store's
compare-and-set on the chain head catches another process that advanced it meanwhile (the turn is then
replayed on the new head, so no turn is lost and the chain never forks).
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field

from gemini_interactions_mcp.gemini import GeminiError, InteractionsClient
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.errors import ServiceError, UnknownHandleError, explain_upstream
from gemini_interactions_mcp.services.files import FileInputError, FileLoader
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.turns import Progress, TurnOutcome, run_streamed_turn
from gemini_interactions_mcp.state import (
    ConversationRecord,
    JobKind,
    JobRecord,
    NameTakenError,
    Store,
    new_conversation_id,
)

log = logging.getLogger(__name__)

BuiltinTool = Literal["google_search", "code_execution", "url_context"]
ThinkingLevel = Literal["minimal", "low", "medium", "high"]

NAME_PATTERN = re.compile(r"^[\w][\w .:@/+-]{0,63}$")
CAS_ATTEMPTS = 3


class AskRequest(BaseModel):
    """One question for a model, with the settings the caller wants to change for this conversation."""

    prompt: str
    conversation: str | None = None
    model: str | None = None
    system_instruction: str | None = None
    files: list[str] = Field(default_factory=list)
    tools: list[BuiltinTool] | None = None
    thinking_level: ThinkingLevel | None = None
    response_schema: dict[str, Any] | None = None


class TurnResult(BaseModel):
    """The outcome of one turn, shaped for the tool result."""

    text: str
    conversation: str
    name: str | None
    interaction_id: str
    model: str
    status: str
    turn: int
    usage: dict[str, int]
    notes: list[str]
    data: Any = None


class ConversationSummary(BaseModel):
    id: str
    name: str | None
    model: str | None
    turns: int
    updated: str
    preview: str


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def unknown_conversation(key: str) -> UnknownHandleError:
    return UnknownHandleError(
        f"No conversation {key!r} for you. Call list_conversations to see yours, or omit "
        "`conversation` to start a new one."
    )


class ConversationService:
    """Starts, continues, lists, renames and forgets conversations for one principal at a time."""

    def __init__(
        self,
        *,
        store: Store,
        client: InteractionsClient,
        catalog: Catalog,
        files: FileLoader,
        default_model: str,
    ) -> None:
        self._store = store
        self._client = client
        self._catalog = catalog
        self._files = files
        self._default_model = default_model
        self._locks: dict[str, anyio.Lock] = {}
        self._jobs: JobService

    def attach_jobs(self, jobs: JobService) -> None:
        """Wire the job service (it and this service refer to each other)."""
        self._jobs = jobs

    async def ask(
        self,
        owner: str,
        request: AskRequest,
        progress: Progress,
        *,
        wait_seconds: float,
        roots: list[Path] | None = None,
    ) -> TurnResult:
        """Run one turn; the answer (or, past `wait_seconds`, a handle to poll) and the conversation."""
        notes: list[str] = []
        conversation = await self._open(owner, request.conversation)
        resolution = self._catalog.resolve_model(request.model or conversation.model or self._default_model)
        if resolution.note:
            notes.append(resolution.note)
        settings = self._merged_settings(conversation.settings, request)
        turn_input = await self.turn_input(request.prompt, request.files, roots)
        started = time.monotonic()
        async with self._lock(conversation.id):
            await self._await_previous_turn(owner, conversation.id, wait_seconds, progress)
            for _ in range(CAS_ATTEMPTS):
                current = await self._store.get_conversation(owner, conversation.id)
                if current is None:
                    raise unknown_conversation(conversation.id)
                body = self._body(resolution.id, turn_input, current.head, settings, request.response_schema)
                remaining = max(1.0, wait_seconds - (time.monotonic() - started))
                outcome = await self._run(body, progress, resolution.id, remaining)
                job = None
                if outcome.status == "in_progress":
                    job = await self._jobs.adopt_running(
                        owner, "model", outcome.interaction_id, current.id, resolution.id
                    )
                updated = current.model_copy(
                    update={
                        "head": outcome.interaction_id,
                        "model": resolution.id,
                        "settings": settings,
                        "turns": current.turns + 1,
                        "usage": current.usage.plus(outcome.usage),
                        "preview": _one_line(f"{request.prompt} → {outcome.text}", 120),
                        "updated": time.time(),
                    }
                )
                if await self._store.advance_conversation(owner, current.id, current.head, updated):
                    return self._result(updated, outcome, notes, request)
                log.warning(
                    "conversation %s advanced elsewhere; replaying the turn on the new head", current.id
                )
                if job is not None:
                    await self._jobs.cancel(owner, job.interaction_id)
        raise ServiceError(
            "This conversation is being continued by another server process at the same time; try again."
        )

    async def start_job_turn(
        self,
        owner: str,
        key: str | None,
        body: dict[str, Any],
        *,
        kind: JobKind,
        agent: str,
        preview: str,
        default_environment: str | None = None,
        label: str | None = None,
    ) -> JobRecord:
        """Start a background turn (research, agent run) on a new or existing conversation.

        The head moves to the new interaction at once, so a follow-up chains onto it once it is done;
        a follow-up while it still runs is refused with the handle to poll.
        """
        conversation = await self._open(owner, key)
        async with self._lock(conversation.id):
            await self._await_previous_turn(owner, conversation.id, 0.0, None)
            for _ in range(CAS_ATTEMPTS):
                current = await self._store.get_conversation(owner, conversation.id)
                if current is None:
                    raise unknown_conversation(conversation.id)
                turn_body = dict(body)
                if current.head is not None:
                    turn_body["previous_interaction_id"] = current.head
                environment = current.environment_id or default_environment
                if environment is not None and "environment" not in turn_body:
                    turn_body["environment"] = environment
                job = await self._jobs.start(
                    owner, kind, turn_body, conversation_id=current.id, label=label or agent
                )
                updated = current.model_copy(
                    update={
                        "head": job.interaction_id,
                        "agent": agent,
                        "turns": current.turns + 1,
                        "environment_id": job.environment_id or current.environment_id,
                        "preview": _one_line(preview, 120),
                        "updated": time.time(),
                    }
                )
                if await self._store.advance_conversation(owner, current.id, current.head, updated):
                    return job
                await self._jobs.cancel(owner, job.interaction_id)
        raise ServiceError(
            "This conversation is being continued by another server process at the same time; try again."
        )

    async def record_finished_turn(self, job: JobRecord, usage: dict[str, int]) -> None:
        """Add a background turn's usage (and environment) to its conversation once it is done."""
        if job.conversation_id is None:
            return
        for _ in range(CAS_ATTEMPTS):
            current = await self._store.get_conversation(job.owner, job.conversation_id)
            if current is None:
                return
            updated = current.model_copy(
                update={
                    "usage": current.usage.plus(usage),
                    "environment_id": job.environment_id or current.environment_id,
                    "updated": time.time(),
                }
            )
            if await self._store.advance_conversation(job.owner, current.id, current.head, updated):
                return

    async def _await_previous_turn(
        self, owner: str, conversation_id: str, wait_seconds: float, progress: Progress | None
    ) -> None:
        """Wait (up to `wait_seconds`) for a background turn still running on this conversation."""
        pending = [
            j
            for j in await self._store.unfinished_jobs()
            if j.owner == owner and j.conversation_id == conversation_id
        ]
        for job in pending:
            done = await self._jobs.wait(owner, job.interaction_id, wait_seconds, progress)
            if not done.is_finished:
                raise ServiceError(
                    f"The previous turn of this conversation is still running. Call poll_interaction with "
                    f"interaction_id={job.interaction_id!r} until it is done, then continue."
                )

    def _lock(self, conversation_id: str) -> anyio.Lock:
        return self._locks.setdefault(conversation_id, anyio.Lock())

    async def _open(self, owner: str, key: str | None) -> ConversationRecord:
        """Find the caller's conversation by id or name, or create it (a new name creates one)."""
        if key is not None:
            key = key.strip()
            found = await self._store.get_conversation(owner, key)
            if found is not None:
                return found
            if key.startswith("conv_"):
                raise unknown_conversation(key)
            if not NAME_PATTERN.match(key):
                raise ServiceError(
                    f"Conversation name {key!r} is not usable: "
                    "use 1-64 letters, digits, spaces or . : @ / + - _"
                )
        now = time.time()
        record = ConversationRecord(
            id=new_conversation_id(), owner=owner, name=key, created=now, updated=now, preview=""
        )
        try:
            await self._store.create_conversation(record)
        except NameTakenError:
            # Created by a concurrent call with the same new name: continue that one.
            found = await self._store.get_conversation(owner, key or "")
            if found is None:
                raise
            return found
        return record

    @staticmethod
    def _merged_settings(stored: dict[str, Any], request: AskRequest) -> dict[str, Any]:
        """Stored interaction-scoped settings with this call's overrides applied (and kept)."""
        settings = dict(stored)
        if request.system_instruction is not None:
            settings["system_instruction"] = request.system_instruction or None
        if request.tools is not None:
            settings["tools"] = [{"type": name} for name in dict.fromkeys(request.tools)] or None
        if request.thinking_level is not None:
            settings["generation_config"] = {
                **(settings.get("generation_config") or {}),
                "thinking_level": request.thinking_level,
            }
        return {k: v for k, v in settings.items() if v is not None}

    async def turn_input(
        self, prompt: str, files: list[str], roots: list[Path] | None
    ) -> str | list[dict[str, Any]]:
        """The request `input`: the prompt alone, or one user turn with the files' content blocks."""
        if not files:
            return prompt
        try:
            blocks = await self._files.load(files, roots)
        except FileInputError as exc:
            raise ServiceError(str(exc)) from None
        return [{"type": "user_input", "content": [{"type": "text", "text": prompt}, *blocks]}]

    @staticmethod
    def _body(
        model: str,
        turn_input: str | list[dict[str, Any]],
        head: str | None,
        settings: dict[str, Any],
        response_schema: dict[str, Any] | None,
    ) -> dict[str, Any]:
        generation_config = {**settings.get("generation_config", {}), "thinking_summaries": "auto"}
        body: dict[str, Any] = {
            "model": model,
            "input": turn_input,
            **{k: v for k, v in settings.items() if k != "generation_config"},
            "generation_config": generation_config,
        }
        if head is not None:
            body["previous_interaction_id"] = head
        if response_schema is not None:
            body["response_format"] = {
                "type": "text",
                "mime_type": "application/json",
                "schema": response_schema,
            }
        return body

    async def _run(
        self, body: dict[str, Any], progress: Progress, model: str, deadline: float
    ) -> TurnOutcome:
        try:
            return await run_streamed_turn(self._client, body, progress, label=model, deadline=deadline)
        except GeminiError as exc:
            raise explain_upstream(exc, what="this question") from None

    @staticmethod
    def _result(
        record: ConversationRecord, outcome: TurnOutcome, notes: list[str], request: AskRequest
    ) -> TurnResult:
        data: Any = None
        if request.response_schema is not None:
            try:
                data = json.loads(outcome.text)
            except ValueError:
                notes.append("The answer was meant to be JSON for response_schema but did not parse.")
        return TurnResult(
            text=outcome.text,
            conversation=record.id,
            name=record.name,
            interaction_id=outcome.interaction_id,
            model=record.model or "",
            status=outcome.status,
            turn=record.turns,
            usage=outcome.usage,
            notes=notes + outcome.notes,
            data=data,
        )

    async def summaries(self, owner: str, *, limit: int, offset: int) -> list[ConversationSummary]:
        records = await self._store.list_conversations(owner, limit=limit, offset=offset)
        return [
            ConversationSummary(
                id=r.id, name=r.name, model=r.model, turns=r.turns, updated=_iso(r.updated), preview=r.preview
            )
            for r in records
        ]

    async def rename(self, owner: str, key: str, new_name: str) -> ConversationSummary:
        if not NAME_PATTERN.match(new_name) or new_name.startswith("conv_"):
            raise ServiceError(
                f"Name {new_name!r} is not usable: 1-64 letters, digits, spaces or . : @ / + - _, "
                "not starting with conv_"
            )
        record = await self._store.get_conversation(owner, key)
        if record is None:
            raise unknown_conversation(key)
        try:
            renamed = await self._store.rename_conversation(owner, record.id, new_name)
        except NameTakenError:
            raise ServiceError(
                f"You already have a conversation named {new_name!r}; pick another name."
            ) from None
        if renamed is None:
            raise unknown_conversation(key)
        return ConversationSummary(
            id=renamed.id,
            name=renamed.name,
            model=renamed.model,
            turns=renamed.turns,
            updated=_iso(renamed.updated),
            preview=renamed.preview,
        )

    async def forget(self, owner: str, key: str) -> str:
        record = await self._store.get_conversation(owner, key)
        if record is None or not await self._store.delete_conversation(owner, record.id):
            raise unknown_conversation(key)
        return record.id

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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field

from gemini_interactions_mcp.gemini import GeminiError, InteractionsClient
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.errors import ServiceError, UnknownHandleError, explain_upstream
from gemini_interactions_mcp.services.files import FileInputError, FileLoader
from gemini_interactions_mcp.services.turns import TurnOutcome, run_streamed_turn
from gemini_interactions_mcp.state import ConversationRecord, NameTakenError, Store, new_conversation_id

log = logging.getLogger(__name__)

Progress = Callable[[str], Awaitable[None]]
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

    async def ask(
        self, owner: str, request: AskRequest, progress: Progress, *, roots: list[Path] | None = None
    ) -> TurnResult:
        """Run one turn; the answer, the handle to continue with, usage and any substitution notes."""
        notes: list[str] = []
        conversation = await self._open(owner, request.conversation)
        resolution = self._catalog.resolve_model(request.model or conversation.model or self._default_model)
        if resolution.note:
            notes.append(resolution.note)
        settings = self._merged_settings(conversation.settings, request)
        turn_input = await self._turn_input(request, roots)
        lock = self._locks.setdefault(conversation.id, anyio.Lock())
        async with lock:
            for _ in range(CAS_ATTEMPTS):
                current = await self._store.get_conversation(owner, conversation.id)
                if current is None:
                    raise unknown_conversation(conversation.id)
                body = self._body(resolution.id, turn_input, current.head, settings, request.response_schema)
                outcome = await self._run(body, progress, resolution.id)
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
                log.warning("conversation %s advanced elsewhere; replaying the turn on the new head", current.id)
        raise ServiceError(
            "This conversation is being continued by another server process at the same time; try again."
        )

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
                    f"Conversation name {key!r} is not usable: use 1-64 letters, digits, spaces or . : @ / + - _"
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

    async def _turn_input(self, request: AskRequest, roots: list[Path] | None) -> str | list[dict[str, Any]]:
        if not request.files:
            return request.prompt
        try:
            blocks = await self._files.load(request.files, roots)
        except FileInputError as exc:
            raise ServiceError(str(exc)) from None
        return [{"type": "user_input", "content": [{"type": "text", "text": request.prompt}, *blocks]}]

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
            body["response_format"] = {"type": "text", "mime_type": "application/json", "schema": response_schema}
        return body

    async def _run(self, body: dict[str, Any], progress: Progress, model: str) -> TurnOutcome:
        try:
            return await run_streamed_turn(self._client, body, progress, label=model)
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
            usage=outcome.usage.as_dict(),
            notes=notes + outcome.notes,
            data=data,
        )

    async def list(self, owner: str, *, limit: int, offset: int) -> list[ConversationSummary]:
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
            raise ServiceError(f"You already have a conversation named {new_name!r}; pick another name.") from None
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

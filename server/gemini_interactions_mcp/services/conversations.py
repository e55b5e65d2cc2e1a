"""Conversation handles: a stable, caller-owned id (and optional name) over a chain of interactions.

This service finds, creates, lists, renames, resets and forgets the records; running turns on them is
the chain's job (`services/chain.py`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from gemini_interactions_mcp.services.errors import ServiceError, UnknownHandleError
from gemini_interactions_mcp.services.results import ConversationRecap, ConversationSummary
from gemini_interactions_mcp.state import (
    ConversationRecord,
    NameTakenError,
    Store,
    Transcript,
    UsageEntry,
    new_conversation_id,
)
from gemini_interactions_mcp.tool_names import ToolName

NAME_PATTERN = re.compile(r"^[\w][\w .:@/+-]{0,63}$")
ID_PREFIX = "conv_"
CAS_ATTEMPTS = 3
"""Compare-and-set retries on one record before giving up on a conversation changing that fast."""


def unknown_conversation(key: str) -> UnknownHandleError:
    return UnknownHandleError(
        f"No conversation {key!r} for you. Call {ToolName.LIST_CONVERSATIONS} to see yours, or omit "
        "`conversation` to start a new one."
    )


def contended() -> ServiceError:
    return ServiceError(
        "This conversation is being continued by another server process at the same time; try again."
    )


@dataclass
class NewConversation:
    """A conversation a call starts under a new random id and no name, not stored yet.

    Its first turn stores it together with the head's move and the turn's usage (`store_with`: one
    store call, where creating it up front took two). Whatever has to find it before that turn ends (a
    background job, whose end is recorded on it) stores it first (`store_now`). A first turn that fails
    leaves nothing behind: the caller never learned the id.
    """

    record: ConversationRecord
    store: Store
    stored: bool = False

    async def store_now(self) -> None:
        if not self.stored:
            await self.store.create_conversation(self.record)
            self.stored = True

    async def store_with(self, first_turn: ConversationRecord, usage: UsageEntry | None) -> None:
        await self.store.create_conversation(first_turn, usage=usage)
        self.stored = True


class ConversationDirectory:
    """The caller's conversations by id or name."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def find(self, owner: str, key: str) -> ConversationRecord:
        """The caller's conversation with this id or name; unknown (or someone else's) is an error."""
        record = await self._store.get_conversation(owner, key.strip())
        if record is None:
            raise unknown_conversation(key)
        return record

    async def open(self, owner: str, key: str | None) -> ConversationRecord:
        """Find the caller's conversation by id or name, or create it (a new name creates one)."""
        if key is not None:
            key = key.strip()
            found = await self._store.get_conversation(owner, key)
            if found is not None:
                return found
            if key.startswith(ID_PREFIX):
                raise unknown_conversation(key)
            if not NAME_PATTERN.match(key):
                raise ServiceError(
                    f"Conversation name {key!r} is not usable: "
                    "use 1-64 letters, digits, spaces or . : @ / + - _"
                )
        record = _fresh(owner, key)
        try:
            await self._store.create_conversation(record)
        except NameTakenError:
            # Created by a concurrent call with the same new name: continue that one.
            found = await self._store.get_conversation(owner, key or "")
            if found is None:
                raise
            return found
        return record

    def new(self, owner: str) -> NewConversation:
        """A new unnamed conversation, stored with its first turn (see `NewConversation`)."""
        return NewConversation(_fresh(owner, None), self._store)

    async def recap(self, owner: str, key: str, *, turns: int) -> ConversationRecap:
        record = await self.find(owner, key)
        latest = record.transcript.turns()[-turns:] if turns else []
        return ConversationRecap(
            summary=ConversationSummary.of(record),
            first_turn=record.turns - len(latest) + 1,
            latest=[(turn.prompt, turn.answer) for turn in latest],
        )

    async def latest_jobs(self, owner: str, *, limit: int) -> list[str]:
        """The newest background interaction of each of the owner's latest conversations (a research
        run, an agent run, a long answer): the interactions whose reports they may want to read."""
        records = await self._store.list_conversations(owner, limit=limit, offset=0)
        return [r.head for r in records if r.head and r.head_is_job]

    async def summaries(self, owner: str, *, limit: int, offset: int) -> list[ConversationSummary]:
        records = await self._store.list_conversations(owner, limit=limit, offset=offset)
        return [ConversationSummary.of(r) for r in records]

    async def rename(self, owner: str, key: str, new_name: str) -> ConversationSummary:
        if not NAME_PATTERN.match(new_name) or new_name.startswith(ID_PREFIX):
            raise ServiceError(
                f"Name {new_name!r} is not usable: 1-64 letters, digits, spaces or . : @ / + - _, "
                f"not starting with {ID_PREFIX}"
            )
        record = await self.find(owner, key)
        try:
            renamed = await self._store.rename_conversation(owner, record.id, new_name)
        except NameTakenError:
            raise ServiceError(
                f"You already have a conversation named {new_name!r}; pick another name."
            ) from None
        if renamed is None:
            raise unknown_conversation(key)
        return ConversationSummary.of(renamed)

    async def reset(self, owner: str, key: str) -> ConversationSummary:
        """Keep the handle, its name and settings; start a fresh chain (history and local copy go)."""
        for _ in range(CAS_ATTEMPTS):
            current = await self.find(owner, key)
            fresh = current.model_copy(
                update={
                    "head": None,
                    "head_is_job": False,
                    "transcript": Transcript(),
                    "turns": 0,
                    "preview": "",
                    "updated": time.time(),
                }
            )
            if await self._store.advance_conversation(owner, current.id, current.head, fresh):
                return ConversationSummary.of(fresh)
        raise contended()

    async def forget(self, owner: str, key: str) -> str:
        record = await self.find(owner, key)
        if not await self._store.delete_conversation(owner, record.id):
            raise unknown_conversation(key)
        return record.id


def _fresh(owner: str, name: str | None) -> ConversationRecord:
    now = time.time()
    return ConversationRecord(
        id=new_conversation_id(), owner=owner, name=name, created=now, updated=now, preview=""
    )

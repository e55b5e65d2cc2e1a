"""Turns on a conversation: one at a time, never forked, never lost, never stuck on a dead head.

A turn is created upstream chained to the conversation's head (`previous_interaction_id`); then the head
moves to the new interaction by a compare-and-set in the store. The guards, all taken before anything
billed is created upstream:
- a lock per conversation orders the calls of this process;
- a lease on the conversation in the store orders the processes sharing the store, so two of them
  never both create an interaction for one head (one would be thrown away);
- a turn waits for (or refuses to start over) a background turn still running on the head;
- the compare-and-set catches whatever still slips through (a lease that expired under a stalled
  process): the losing turn is discarded and replayed on the new head, so the chain stays one line.

A head that upstream no longer knows (stored interactions expire after a day on the free tier, or were
deleted) does not kill the conversation: the turn is created on a fresh chain whose first input carries
the conversation's local copy (`services/transcript.py`), and the caller is told so in a note.

Each kind of turn (a model answer, a background job) plugs in as a `Turn`: how to create it upstream and
how to discard it. Everything they share (serialising, the head, the counters, the local copy, the
rebuild) happens here once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import anyio

from gemini_interactions_mcp.gemini import (
    BadRequestError,
    GeminiError,
    InteractionsClient,
    NotFoundError,
)
from gemini_interactions_mcp.services.conversations import (
    CAS_ATTEMPTS,
    NewConversation,
    contended,
    unknown_conversation,
)
from gemini_interactions_mcp.services.errors import ServiceError, explain_upstream
from gemini_interactions_mcp.services.heartbeats import Progress
from gemini_interactions_mcp.services.jobs import JobFinished, JobService
from gemini_interactions_mcp.services.leases import CONVERSATION_PREFIX, leased
from gemini_interactions_mcp.services.locks import KeyedLocks
from gemini_interactions_mcp.services.transcript import (
    TurnInput,
    history_text,
    with_answer,
    with_history,
    with_turn,
)
from gemini_interactions_mcp.state import (
    ConversationRecord,
    Lease,
    LeaseBusyError,
    Store,
    UsageCounts,
    UsageEntry,
)
from gemini_interactions_mcp.tool_names import ToolName

log = logging.getLogger(__name__)

T = TypeVar("T")
MIN_LEASE_WAIT_SECONDS = 30.0
"""However short its own wait, a turn waits this long for another process's turn on the conversation."""
END_RECORD_GRACE_SECONDS = 5.0
"""How long a turn waits for a finished job's end to appear on its conversation (normally at once)."""
END_RECORD_POLL_SECONDS = 0.02
"""How often it reads the conversation again meanwhile (the end may be recorded by another process)."""


@dataclass(frozen=True)
class TurnRequest:
    """What the caller asked for in this turn, as the local copy keeps it."""

    prompt: str
    files: list[str]
    turn_input: TurnInput
    goes_on: bool = False
    """The turn goes on from where it stopped for the user (it already counts, and holds the prompt)."""


@dataclass
class Created(Generic[T]):
    """A turn that exists upstream: its interaction, the kind's own result, and what the record keeps."""

    interaction_id: str
    result: T
    answer: str = ""
    running: bool = False
    """The interaction is a background job that may still be running (its answer comes later)."""
    usage: UsageCounts = field(default_factory=dict)
    billed: UsageEntry | None = None
    """The usage the daily ledger counts for this turn: counted with the head's move, in one store call
    (or on its own if the turn lost the race for the head: it was billed all the same)."""
    updates: dict[str, Any] = field(default_factory=dict)
    """Fields of the conversation record this kind of turn sets (model, settings, usage, agent...)."""


class Turn(Protocol[T]):
    """One kind of turn, as the chain runs it."""

    what: str
    """What is being done, for error messages: "this question", "starting the research"."""

    async def create(
        self, current: ConversationRecord, previous: str | None, turn_input: TurnInput
    ) -> Created[T]:
        """Create the turn upstream on the conversation as it is now, chained to `previous` (its head,
        or None on a rebuilt chain); GeminiError passes through unexplained."""
        ...

    async def discard(self, created: Created[T]) -> None:
        """Stop what can be stopped of a turn that lost the race for the head (cancel its job)."""
        ...


@dataclass
class Advanced(Generic[T]):
    """The conversation after the turn, the turn itself, and notes for the caller."""

    record: ConversationRecord
    created: Created[T]
    notes: list[str]


def _rebuilt_note(head: str, turns: int) -> str:
    kept = f"the last {turns} turn(s)" if turns else "no earlier turns"
    return (
        f"This conversation was rebuilt from the server's local copy ({kept}): Gemini no longer has its "
        f"thread (interaction {head} is gone: stored interactions expire after 1 day on the free tier and "
        "55 days on paid tiers, or it was deleted). The answer continues from that copy."
    )


class ConversationChain:
    """Runs turns on conversations and keeps their records (head, counters, local copy) current."""

    def __init__(self, *, store: Store, client: InteractionsClient, jobs: JobService) -> None:
        self._store = store
        self._client = client
        self._jobs = jobs
        self._locks = KeyedLocks()
        self._leases: dict[str, Lease] = {}
        """The lease of each conversation a turn of this process holds (one at a time: `_locks`)."""

    async def advance(
        self,
        owner: str,
        conversation: ConversationRecord,
        request: TurnRequest,
        turn: Turn[T],
        *,
        wait_seconds: float,
        progress: Progress | None,
        private: bool = False,
        held: bool = False,
        new: NewConversation | None = None,
    ) -> Advanced[T]:
        """Run one turn on the conversation and move its head there.

        A background turn still running on the head is waited for up to `wait_seconds` (0: refuse at once
        with the handle to poll).

        A `private` conversation is one this call has just created, under a new random id and no name:
        nobody learns that id before the call returns (short of listing the caller's conversations in
        that instant), so it is taken as it is, with no lock, no lease and no second read. The
        compare-and-set still keeps the chain one line if someone did.

        A `held` conversation is one the caller holds already, read under the hold (`holding`).

        A `new` conversation is private and not stored yet: the turn stores it with the head's move.
        """
        if private or new is not None:
            return await self._advance(owner, conversation, request, turn, new)
        if held:
            current = await self._after_previous_turn(owner, conversation, wait_seconds, progress)
            return await self._advance(owner, current, request, turn)
        async with self.holding(owner, conversation.id, wait_seconds) as current:
            current = await self._after_previous_turn(owner, current, wait_seconds, progress)
            return await self._advance(owner, current, request, turn)

    @asynccontextmanager
    async def holding(
        self, owner: str, conversation_id: str, wait_seconds: float
    ) -> AsyncIterator[ConversationRecord]:
        """Hold the conversation for a turn (its lock in this process, its lease in the store) and read
        it under the hold; inside the block, `advance(..., held=True)` runs the turn on what it yields.

        A caller that knows the id before reading holds first and reads once: a turn on a conversation
        read before the hold must read it again under the hold (one store call more per turn). The read
        comes with taking the lease, in one store call where the store can (`acquire_lease_and_read`),
        and the turn's last write gives the lease back (`advance_conversation_and_release`).
        """
        read: list[ConversationRecord | None] = []

        async def take_and_read(key: str, holder: str, ttl: float) -> bool:
            taken, record = await self._store.acquire_lease_and_read(
                key, holder, ttl, owner=owner, conversation_id=conversation_id
            )
            read[:] = [record]
            return taken

        wait = max(wait_seconds, MIN_LEASE_WAIT_SECONDS)
        try:
            async with (
                self._locks.hold(conversation_id),
                leased(
                    self._store, CONVERSATION_PREFIX + conversation_id, wait=wait, acquire=take_and_read
                ) as lease,
            ):
                if not read or read[0] is None:
                    raise unknown_conversation(conversation_id)
                self._leases[conversation_id] = lease
                try:
                    yield read[0]
                finally:
                    del self._leases[conversation_id]
        except LeaseBusyError:
            raise contended() from None

    async def _advance(
        self,
        owner: str,
        current: ConversationRecord,
        request: TurnRequest,
        turn: Turn[T],
        new: NewConversation | None = None,
    ) -> Advanced[T]:
        """Create the turn on the head and move the head there, replaying it on a head moved meanwhile."""
        for attempt in range(CAS_ATTEMPTS):
            if attempt:
                current = await self._current(owner, current.id)
            created, notes = await self._create(current, request, turn)
            updated = self._after(current, request, created)
            billed = created.billed
            if new is not None and not new.stored:
                await new.store_with(updated, billed)
                return Advanced(updated, created, notes)
            if await self._moved(owner, current, updated, billed):
                return Advanced(updated, created, notes)
            log.warning("conversation %s advanced elsewhere; replaying the turn on the new head", current.id)
            if billed is not None:
                await self._store.add_usage(owner, billed.day, billed.model, billed.usage)
            await turn.discard(created)
        raise contended()

    async def _moved(
        self, owner: str, current: ConversationRecord, updated: ConversationRecord, billed: UsageEntry | None
    ) -> bool:
        """Move the head (compare-and-set); a turn that holds the conversation's lease gives it back in
        the same store call once the head has moved."""
        lease = self._leases.get(current.id)
        if lease is None:
            return await self._store.advance_conversation(
                owner, current.id, current.head, updated, usage=billed
            )
        moved = await self._store.advance_conversation_and_release(
            owner, current.id, current.head, updated, usage=billed, lease=(lease.key, lease.holder)
        )
        lease.released = moved
        return moved

    async def _current(self, owner: str, conversation_id: str) -> ConversationRecord:
        current = await self._store.get_conversation(owner, conversation_id)
        if current is None:
            raise unknown_conversation(conversation_id)
        return current

    async def _create(
        self, current: ConversationRecord, request: TurnRequest, turn: Turn[T]
    ) -> tuple[Created[T], list[str]]:
        """Create the turn on the head; on a head upstream no longer knows, on a rebuilt chain."""
        try:
            return await turn.create(current, current.head, request.turn_input), []
        except GeminiError as exc:
            if current.head is None or not await self._head_is_gone(current.head, exc):
                raise explain_upstream(exc, what=turn.what) from None
        log.info("conversation %s: head %s is gone upstream; rebuilding", current.id, current.head)
        turn_input = request.turn_input
        if current.transcript:
            turn_input = with_history(turn_input, history_text(current.transcript))
        try:
            created = await turn.create(current, None, turn_input)
        except GeminiError as exc:
            raise explain_upstream(exc, what=turn.what) from None
        return created, [_rebuilt_note(current.head, len(current.transcript))]

    async def _head_is_gone(self, head: str, error: GeminiError) -> bool:
        """Whether a failed create failed because its `previous_interaction_id` is gone (asked upstream:
        a 404 or 400 may be about something else, such as an unknown model)."""
        if not isinstance(error, NotFoundError | BadRequestError):
            return False
        try:
            await self._client.get(head)
        except NotFoundError:
            return True
        except GeminiError:
            return False
        return False

    @staticmethod
    def _after(
        current: ConversationRecord, request: TurnRequest, created: Created[Any]
    ) -> ConversationRecord:
        preview = f"{request.prompt} → {created.answer}" if created.answer else request.prompt
        transcript = (
            with_answer(current.transcript, created.answer)
            if request.goes_on
            else with_turn(current.transcript, request.prompt, created.answer, request.files)
        )
        return current.model_copy(
            update={
                **created.updates,
                "head": created.interaction_id,
                "head_is_job": created.running,
                "turns": current.turns + (0 if request.goes_on else 1),
                "usage": current.usage.plus(created.usage),
                "transcript": transcript,
                "preview": preview,
                "updated": time.time(),
            }
        )

    async def _after_previous_turn(
        self, owner: str, current: ConversationRecord, wait_seconds: float, progress: Progress | None
    ) -> ConversationRecord:
        """The record to go on from, once a background turn on the head has ended (waited for up to
        `wait_seconds`) and its end is recorded on the conversation.

        Only the head can be running (every turn waits for it first), and the record says whether the
        head was started as a job, so a plain turn costs no job lookup at all. The job record says
        "finished" a moment before the job's listener (in whichever process watched it) records the end
        here: a turn going on from the record of that moment would write over the job's usage and answer.
        """
        if not current.head_is_job or current.head is None:
            return current
        job = await self._store.get_job(owner, current.head)
        if job is None:
            return current
        if not job.is_finished:
            done = await self._jobs.wait(owner, job.interaction_id, wait_seconds, progress)
            if not done.is_finished:
                raise ServiceError(
                    f"The previous turn of this conversation is still running. Call {ToolName.POLL} with "
                    f"interaction_id={job.interaction_id!r} until it is done, then continue."
                )
        return await self._with_end_recorded(owner, current.id, job.interaction_id)

    async def _with_end_recorded(self, owner: str, conversation_id: str, job_id: str) -> ConversationRecord:
        """The record once the end of the finished job `job_id` is on it; after END_RECORD_GRACE_SECONDS
        without it (its watcher died in between), the record as it is."""
        deadline = time.monotonic() + END_RECORD_GRACE_SECONDS
        while True:
            current = await self._current(owner, conversation_id)
            if not (current.head_is_job and current.head == job_id):
                return current
            if time.monotonic() >= deadline:
                log.warning("the end of %s was never recorded on conversation %s", job_id, conversation_id)
                return current
            await anyio.sleep(END_RECORD_POLL_SECONDS)

    async def job_finished(self, event: JobFinished) -> None:
        """Record a finished background turn on its conversation: usage, sandbox, and its answer."""
        job = event.job
        if job.conversation_id is None:
            return
        for _ in range(CAS_ATTEMPTS):
            current = await self._store.get_conversation(job.owner, job.conversation_id)
            if current is None:
                return
            update: dict[str, Any] = {
                "usage": current.usage.plus(job.usage),
                "environment_id": job.environment_id or current.environment_id,
                "updated": time.time(),
            }
            if current.head == job.interaction_id:
                update["head_is_job"] = False
                update["transcript"] = with_answer(current.transcript, job.output or "")
                if job.upstream_id is not None:  # a function-calling loop: the turn ends where it ended
                    update["head"] = job.upstream_id
            updated = current.model_copy(update=update)
            if await self._store.advance_conversation(job.owner, current.id, current.head, updated):
                return

"""The store interface: conversations, background jobs and agent ownership, keyed by owner.

Every read and write names the owner (the principal), and a record owned by someone else behaves exactly
like a missing one, so ownership is decided here and nowhere else. Narrow job updates (progress, status,
finish) are built on one atomic read-modify-write primitive that each backend provides.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import suppress

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from gemini_interactions_mcp.state.counters import MemoryRateLimiter, RateLimiter
from gemini_interactions_mcp.state.errors import StoreError, StoreUnavailableError, without_location
from gemini_interactions_mcp.state.records import (
    ConversationRecord,
    DailyUsage,
    JobRecord,
    ProgressNote,
    ResourceKind,
    ResourceRecord,
    UsageCounts,
    UsageEntry,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_OUTPUT_CHARS = 2_000_000

JobChange = Callable[[JobRecord], JobRecord]


def prunable(
    finished: Iterable[tuple[str, str, float]], *, finished_before: float, keep_last: int
) -> list[str]:
    """The retention rule shared by every backend: of (interaction_id, owner, finished) triples, the ids
    finished before the cut-off that are not among their owner's `keep_last` most recently finished."""
    seen: dict[str, int] = {}
    doomed: list[str] = []
    for interaction_id, owner, at in sorted(finished, key=lambda t: (-t[2], t[0])):
        seen[owner] = seen.get(owner, 0) + 1
        if seen[owner] > keep_last and at < finished_before:
            doomed.append(interaction_id)
    return doomed


class Store(ABC):
    """Async persistence of conversations, jobs and agent ownership.

    `max_output_chars` caps a job's stored output: a longer one is cut and flagged `output_truncated`,
    so one runaway report cannot bloat the state file.
    """

    def __init__(
        self, *, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS, show_location: bool = True
    ) -> None:
        if max_output_chars < 1:
            raise ValueError("max_output_chars must be positive")
        self.max_output_chars = max_output_chars
        self.show_location = show_location
        self._finished_listeners: set[MemoryObjectSendStream[str]] = set()

    def _told(self, error: StoreUnavailableError) -> StoreUnavailableError:
        """`error` as the caller reads it: with the file path or host when `show_location` (a local
        caller, who can act on it), else without (errors.without_location), the full text logged."""
        if self.show_location:
            return error
        log.warning("%s", error)
        return without_location(error)

    # -- conversations -----------------------------------------------------------------------------

    @abstractmethod
    async def create_conversation(
        self, record: ConversationRecord, *, usage: UsageEntry | None = None
    ) -> None:
        """Insert a new conversation; NameTakenError if its owner already uses `record.name`. With
        `usage`, also count it as `add_usage` does: a new conversation stored with its first turn
        (and that turn's cost) in one call of the store."""

    @abstractmethod
    async def get_conversation(self, owner: str, key: str) -> ConversationRecord | None:
        """The owner's conversation whose id or name is `key` (an id wins over a name)."""

    @abstractmethod
    async def list_conversations(
        self, owner: str, *, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        """The owner's conversations, most recently updated first."""

    @abstractmethod
    async def advance_conversation(
        self,
        owner: str,
        conversation_id: str,
        expected_head: str | None,
        updated: ConversationRecord,
        *,
        usage: UsageEntry | None = None,
    ) -> bool:
        """Replace the record only if its head is still `expected_head` (compare-and-set); if it was
        replaced, also count `usage` as `add_usage` does (a turn and its cost in one call of the store).

        This is what serialises turns across processes: two turns started from the same head cannot
        both land, the loser sees False and replays on the new head. The stored name is kept (names
        change only through `rename_conversation`, so a rename racing a turn is not undone).
        """

    async def advance_conversation_and_release(
        self,
        owner: str,
        conversation_id: str,
        expected_head: str | None,
        updated: ConversationRecord,
        *,
        usage: UsageEntry | None = None,
        lease: tuple[str, str],
    ) -> bool:
        """`advance_conversation`, then, if the head moved, `release_lease(*lease)` (key, holder): how a
        turn on a conversation ends. A store may make the two one call (SQLite: one hop to its thread
        instead of two). A head that did not move keeps the lease: the turn is replayed under it. A
        release that fails is not an error: the turn has landed, and the lease runs out by itself."""
        moved = await self.advance_conversation(owner, conversation_id, expected_head, updated, usage=usage)
        if moved:
            with suppress(StoreError):
                await self.release_lease(*lease)
        return moved

    @abstractmethod
    async def rename_conversation(
        self, owner: str, conversation_id: str, name: str | None
    ) -> ConversationRecord | None:
        """Set or clear the name; NameTakenError on a clash, None if the conversation is unknown."""

    @abstractmethod
    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        """Forget the conversation; False if the owner has no such conversation."""

    # -- jobs --------------------------------------------------------------------------------------

    @abstractmethod
    async def create_job(self, job: JobRecord) -> None:
        """Record a new job (output capped); JobExistsError if the interaction id is already recorded."""

    @abstractmethod
    async def get_job(self, owner: str, interaction_id: str) -> JobRecord | None:
        """The owner's job for this interaction, or None."""

    @abstractmethod
    async def unfinished_jobs(
        self, *, owner: str | None = None, conversation_id: str | None = None
    ) -> list[JobRecord]:
        """Jobs not yet finished, oldest first. With no arguments, every owner's (the watchers to resume
        at start-up); with `owner` and `conversation_id`, that conversation's turns still running,
        found through an index rather than a scan of every running job (it is asked on every turn)."""

    @abstractmethod
    async def prune_jobs(self, *, finished_before: float, keep_last: int = 0) -> int:
        """Delete jobs finished before `finished_before`, except each owner's `keep_last` most recently
        finished ones; unfinished jobs are never pruned. Returns how many were deleted."""

    @abstractmethod
    async def _change_job(self, owner: str, interaction_id: str, change: JobChange) -> JobRecord | None:
        """Apply `change` to the stored job atomically and store the (capped) result; None if unknown."""

    async def update_job(self, job: JobRecord) -> JobRecord | None:
        """Replace the whole job record (keyed by its owner and interaction id)."""
        return await self._change_job(job.owner, job.interaction_id, lambda _: job)

    async def append_progress(
        self, owner: str, interaction_id: str, texts: Sequence[str], *, after: int | None = None
    ) -> JobRecord | None:
        """Add progress notes, numbered after the last one.

        With `after`, the texts are the job's notes number `after + 1` on, and those it already has are
        skipped: a watcher replaying an event stream (or two, while a stalled one has not yet noticed
        that its lease moved on) stores each note once.
        """

        def change(job: JobRecord) -> JobRecord:
            now = time.time()
            fresh = texts if after is None else texts[max(0, len(job.progress) - after) :]
            last = job.progress[-1].seq if job.progress else 0
            notes = [ProgressNote(seq=last + i, at=now, text=t) for i, t in enumerate(fresh, start=1)]
            return job.model_copy(update={"progress": [*job.progress, *notes], "updated": now})

        return await self._change_job(owner, interaction_id, change)

    async def mark_progress_seen(self, owner: str, interaction_id: str, seq: int) -> JobRecord | None:
        """Remember that the owner has been shown every note up to `seq` (never moves backwards)."""
        return await self._change_job(
            owner,
            interaction_id,
            lambda job: job.model_copy(update={"progress_seen": max(job.progress_seen, seq)}),
        )

    async def mark_plan_offered(self, owner: str, interaction_id: str) -> bool:
        """Flag the job's plan as offered to its owner; True only for the one call that set the flag."""
        first = False

        def change(job: JobRecord) -> JobRecord:
            nonlocal first
            first = not job.plan_offered
            return job.model_copy(update={"plan_offered": True})

        await self._change_job(owner, interaction_id, change)
        return first

    async def finish_job(
        self,
        owner: str,
        interaction_id: str,
        *,
        status: str,
        output: str | None = None,
        citations: Sequence[Mapping[str, str]] | None = None,
        usage: UsageCounts | None = None,
        environment_id: str | None = None,
        error: str | None = None,
    ) -> JobRecord | None:
        """Store the final state and mark the job finished; fields left as None keep their value.

        A job finishes once: for one already finished (or unknown) this changes nothing and returns
        None. Whoever gets the record back is the one process that ended the job, so its end is
        recorded and announced once however many watchers (a stalled one, a canceller) race for it.
        """
        ended = False

        def change(job: JobRecord) -> JobRecord:
            nonlocal ended
            ended = not job.is_finished
            if not ended:
                return job
            now = time.time()
            update: dict[str, object] = {"status": status, "updated": now, "finished": now}
            if output is not None:
                update["output"] = output
            if citations is not None:
                update["citations"] = [dict(c) for c in citations]
            if usage is not None:
                update["usage"] = dict(usage)
            if environment_id is not None:
                update["environment_id"] = environment_id
            if error is not None:
                update["error"] = error
            return job.model_copy(update=update)

        finished = await self._change_job(owner, interaction_id, change)
        return finished if ended else None

    def _capped(self, job: JobRecord) -> JobRecord:
        """The job with its output cut to `max_output_chars` (flagged), revalidated as a fresh copy."""
        job = JobRecord.model_validate(job.model_dump())
        if job.output is not None and len(job.output) > self.max_output_chars:
            return job.model_copy(
                update={"output": job.output[: self.max_output_chars], "output_truncated": True}
            )
        return job

    # -- agents ------------------------------------------------------------------------------------

    @abstractmethod
    async def record_agent(self, owner: str, agent_id: str) -> None:
        """Remember that `owner` created this custom agent (idempotent; AgentTakenError if another did)."""

    @abstractmethod
    async def agent_owner(self, agent_id: str) -> str | None:
        """Who created this custom agent, or None if no one here did."""

    @abstractmethod
    async def list_agents(self, owner: str) -> list[str]:
        """The custom agent ids the owner created, oldest first."""

    @abstractmethod
    async def forget_agent(self, agent_id: str) -> bool:
        """Drop the ownership record (after the agent was deleted upstream); False if unknown."""

    # -- owned resources (media, uploads, File Search stores, environments) ------------------------

    @abstractmethod
    async def put_resource(self, record: ResourceRecord) -> None:
        """Insert or replace the owner's record of this kind and id."""

    @abstractmethod
    async def get_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> ResourceRecord | None:
        """The owner's record, or None (also when it has expired: expired records are dropped on read)."""

    @abstractmethod
    async def list_resources(self, owner: str, kind: ResourceKind) -> list[ResourceRecord]:
        """The owner's unexpired records of this kind, oldest first."""

    @abstractmethod
    async def delete_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> bool:
        """Forget the owner's record; False if there was none."""

    @abstractmethod
    async def prune_resources(self, kind: ResourceKind, *, created_before: float) -> list[ResourceRecord]:
        """Delete every owner's records of `kind` created before `created_before` and return them, oldest
        first (expired ones not yet dropped included): a record says where its thing lives (a media
        file), so the caller can clean up after it. Without this, media records, which never expire,
        would grow a shared store for ever."""

    # -- usage and rate limits -----------------------------------------------------------------------

    @abstractmethod
    async def add_usage(self, owner: str, day: str, model: str, usage: UsageCounts) -> None:
        """Add one interaction's usage to the owner's total for that UTC day (YYYY-MM-DD) and model, as
        one atomic increment (concurrent adds from several processes all count)."""

    @abstractmethod
    async def daily_usage(self, owner: str, *, since: str) -> list[DailyUsage]:
        """The owner's daily totals per model from day `since` (inclusive) on, by day then model."""

    def rate_limiter(self) -> RateLimiter:
        """Counters for request rate limits. These live in this process; a store shared by replicas
        (Redis) returns counters every replica shares."""
        return MemoryRateLimiter()

    # -- leases ------------------------------------------------------------------------------------

    @abstractmethod
    async def acquire_lease(self, key: str, holder: str, ttl: float) -> bool:
        """Take the lease `key` for `holder` for `ttl` seconds if it is free or expired (or extend it if
        `holder` has it already); True if `holder` holds it now.

        Leases are what serialise work across server processes sharing one store: one turn per
        conversation at a time (so no billed upstream interaction is thrown away), one watcher per job.
        They expire on their own, so a process that dies never blocks the others for longer than `ttl`.
        (In Redis terms: `SET key holder NX PX ttl`, plus the extension for the same holder.)
        """

    async def acquire_lease_and_read(
        self, key: str, holder: str, ttl: float, *, owner: str, conversation_id: str
    ) -> tuple[bool, ConversationRecord | None]:
        """`acquire_lease`, then, if it was taken, `get_conversation(owner, conversation_id)` read under
        it: how a turn on a conversation begins. A store may make the two one call (SQLite: one hop to
        its thread instead of two, about 80 µs of CPU under load)."""
        if not await self.acquire_lease(key, holder, ttl):
            return False, None
        return True, await self.get_conversation(owner, conversation_id)

    @abstractmethod
    async def renew_lease(self, key: str, holder: str, ttl: float) -> bool:
        """Extend the lease to `ttl` seconds from now if `holder` still holds it; False if it expired or
        someone else took it (the holder must then stop what the lease protected)."""

    @abstractmethod
    async def release_lease(self, key: str, holder: str) -> bool:
        """Give the lease up if `holder` holds it (a no-op otherwise, so a late release never frees
        somebody else's lease); True if it was released."""

    @abstractmethod
    async def lease_left(self, key: str) -> float | None:
        """Seconds until the lease `key` runs out unless renewed (None: nobody holds it), so a process
        waiting for a lease whose holder may have died can try again at the moment it runs out."""

    # -- completion announcements ------------------------------------------------------------------

    async def publish_job_finished(self, interaction_id: str) -> None:
        """Tell every process sharing this store that the job finished, so a poll waiting in any of
        them wakes at once. Here: the processes sharing this object (one); Redis reaches every replica.
        The id goes out interned: listeners keep the latest ones heard, and in the memory store the one
        string is also the job's key."""
        interaction_id = sys.intern(interaction_id)
        for listener in list(self._finished_listeners):
            listener.send_nowait(interaction_id)

    async def job_finished_events(self) -> AsyncIterator[str]:
        """The interaction ids announced by `publish_job_finished`, as they come; runs until closed."""
        send, receive = anyio.create_memory_object_stream[str](math.inf)
        self._finished_listeners.add(send)
        try:
            async with receive:
                async for interaction_id in receive:
                    yield interaction_id
        finally:
            self._finished_listeners.discard(send)
            send.close()

    # -- lifecycle ---------------------------------------------------------------------------------

    @abstractmethod
    async def close(self) -> None:
        """Release resources; the store must not be used afterwards."""

"""An in-process store: for tests, demos and `GEMINI_MCP_STATE=memory` (nothing survives a restart).

Every method runs without awaiting in between, so each one is atomic on the event loop. Records are
kept packed (compact JSON bytes, see `packing.py`) next to the few fields the store looks things up
by: that is what keeps a long-running server small, and every read returns a fresh copy, so a caller
mutating a record it holds cannot change the store behind its back. The conversations written last are
kept as their JSON text until they fall out of a small bounded set (`RecentlyWritten`): a continued
conversation is read and written back on every turn, and packing and unpacking a full local copy each
time took more than its reading and writing.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from gemini_interactions_mcp.state.base import DEFAULT_MAX_OUTPUT_CHARS, JobChange, Store, prunable
from gemini_interactions_mcp.state.errors import AgentTakenError, JobExistsError, NameTakenError
from gemini_interactions_mcp.state.packing import FAST, pack, pack_json, unpack, unpack_json
from gemini_interactions_mcp.state.recent import RecentlyWritten
from gemini_interactions_mcp.state.records import (
    ConversationRecord,
    Counted,
    DailyUsage,
    JobRecord,
    ResourceKind,
    ResourceRecord,
    UsageCounts,
    UsageEntry,
    counted,
)


def _shared(text: str | None) -> str | None:
    """One string object for an id kept in several places: the key of its own record and a field of
    others (a job's conversation, a research conversation's head). Each unpacked record brings fresh
    copies, about 100 B each per finished job (bench/memory.py) when they are kept as they come."""
    return None if text is None else sys.intern(text)


@dataclass(slots=True)
class _Conversation:
    owner: str
    name: str | None
    head: str | None
    updated: float
    stored: str | bytes
    """The record's `stored_json` while it is among the conversations written last, packed after."""

    def record(self) -> ConversationRecord:
        stored = self.stored
        return ConversationRecord.from_stored(stored if isinstance(stored, str) else unpack_json(stored))

    def pack(self) -> None:
        if isinstance(self.stored, str):
            self.stored = pack_json(self.stored, FAST)


UNPACKED_CONVERSATIONS = 32
"""How many of the conversations written last are kept unpacked: more than the conversations a busy
server continues at once (bench/http_load.py runs 10 clients)."""
UNPACKED_BYTES = 512 * 1024
"""The most their unpacked JSON takes together (32 conversations with a full local copy, 12 KB each,
take about 400 KB)."""


@dataclass(slots=True)
class _Job:
    owner: str
    conversation_id: str | None
    created: float
    finished: float | None
    packed: bytes

    def record(self) -> JobRecord:
        return unpack(JobRecord, self.packed)


class MemoryStore(Store):
    """Dictionaries keyed by id; ownership is checked on every access."""

    def __init__(self, *, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS) -> None:
        super().__init__(max_output_chars=max_output_chars)
        self._conversations: dict[str, _Conversation] = {}
        self._unpacked = RecentlyWritten(records=UNPACKED_CONVERSATIONS, size=UNPACKED_BYTES)
        self._names: dict[tuple[str, str], str] = {}
        self._jobs: dict[str, _Job] = {}
        self._running: set[str] = set()
        self._agents: dict[str, str] = {}
        self._resources: dict[tuple[str, str, str], ResourceRecord] = {}
        self._usage: dict[tuple[str, str, str], list[int | float]] = {}
        """Per owner, day and model: the interactions, then the counters in `USAGE_COUNTERS` order
        (added in place: a pydantic copy of the row per turn cost several times as much)."""
        self._leases: dict[str, tuple[str, float]] = {}

    # -- conversations -----------------------------------------------------------------------------

    def _owned(self, owner: str, conversation_id: str) -> _Conversation | None:
        entry = self._conversations.get(conversation_id)
        return entry if entry is not None and entry.owner == owner else None

    def _put_conversation(self, record: ConversationRecord) -> None:
        checked = record.checked()
        conversation_id, stored = sys.intern(record.id), checked.stored_json()
        self._conversations[conversation_id] = _Conversation(
            owner=sys.intern(checked.owner),
            name=checked.name,
            head=_shared(checked.head),
            updated=checked.updated,
            stored=stored,
        )
        for fallen_out in self._unpacked.add(conversation_id, sys.getsizeof(stored)):
            self._conversations[fallen_out].pack()

    async def create_conversation(
        self, record: ConversationRecord, *, usage: UsageEntry | None = None
    ) -> None:
        adding = None if usage is None else counted(usage.day, usage.model, usage.usage)
        if record.id in self._conversations:
            raise ValueError(f"conversation id {record.id!r} already exists")
        if record.name is not None and (record.owner, record.name) in self._names:
            raise NameTakenError(record.owner, record.name)
        self._put_conversation(record)  # checks the record: one that fails it leaves no name taken
        if record.name is not None:
            self._names[(record.owner, record.name)] = record.id
        if adding is not None:
            self._count_usage(record.owner, adding)

    async def get_conversation(self, owner: str, key: str) -> ConversationRecord | None:
        entry = self._owned(owner, key)
        if entry is None:
            named = self._names.get((owner, key))
            entry = None if named is None else self._conversations[named]
        return None if entry is None else entry.record()

    async def list_conversations(
        self, owner: str, *, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        mine = sorted(
            (e for e in self._conversations.values() if e.owner == owner),
            key=lambda e: e.updated,
            reverse=True,
        )
        return [e.record() for e in mine[offset : offset + limit]]

    async def advance_conversation(
        self,
        owner: str,
        conversation_id: str,
        expected_head: str | None,
        updated: ConversationRecord,
        *,
        usage: UsageEntry | None = None,
    ) -> bool:
        adding = None if usage is None else counted(usage.day, usage.model, usage.usage)
        current = self._owned(owner, conversation_id)
        if current is None or current.head != expected_head:
            return False
        self._put_conversation(
            updated.model_copy(update={"id": conversation_id, "owner": owner, "name": current.name})
        )
        if adding is not None:
            self._count_usage(owner, adding)
        return True

    async def rename_conversation(
        self, owner: str, conversation_id: str, name: str | None
    ) -> ConversationRecord | None:
        current = self._owned(owner, conversation_id)
        if current is None:
            return None
        if name is not None and self._names.get((owner, name), conversation_id) != conversation_id:
            raise NameTakenError(owner, name)
        if current.name is not None:
            del self._names[(owner, current.name)]
        if name is not None:
            self._names[(owner, name)] = conversation_id
        renamed = current.record().model_copy(update={"name": name})
        self._put_conversation(renamed)
        return renamed

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        entry = self._owned(owner, conversation_id)
        if entry is None:
            return False
        if entry.name is not None:
            del self._names[(owner, entry.name)]
        del self._conversations[conversation_id]
        self._unpacked.discard(conversation_id)
        return True

    # -- jobs --------------------------------------------------------------------------------------

    def _put_job(self, job: JobRecord) -> None:
        interaction_id = sys.intern(job.interaction_id)
        self._jobs[interaction_id] = _Job(
            owner=sys.intern(job.owner),
            conversation_id=_shared(job.conversation_id),
            created=job.created,
            finished=job.finished,
            packed=pack(job),
        )
        if job.finished is None:
            self._running.add(interaction_id)
        else:
            self._running.discard(interaction_id)

    async def create_job(self, job: JobRecord) -> None:
        if job.interaction_id in self._jobs:
            raise JobExistsError(job.interaction_id)
        self._put_job(self._capped(job))

    async def get_job(self, owner: str, interaction_id: str) -> JobRecord | None:
        entry = self._jobs.get(interaction_id)
        return None if entry is None or entry.owner != owner else entry.record()

    async def unfinished_jobs(
        self, *, owner: str | None = None, conversation_id: str | None = None
    ) -> list[JobRecord]:
        matching = [
            (e.created, i, e)
            for i, e in ((i, self._jobs[i]) for i in self._running)
            if (owner is None or e.owner == owner)
            and (conversation_id is None or e.conversation_id == conversation_id)
        ]
        return [e.record() for _, _, e in sorted(matching, key=lambda m: m[:2])]

    async def prune_jobs(self, *, finished_before: float, keep_last: int = 0) -> int:
        finished = [(i, e.owner, e.finished) for i, e in self._jobs.items() if e.finished is not None]
        doomed = prunable(finished, finished_before=finished_before, keep_last=keep_last)
        for interaction_id in doomed:
            del self._jobs[interaction_id]
        return len(doomed)

    async def _change_job(self, owner: str, interaction_id: str, change: JobChange) -> JobRecord | None:
        entry = self._jobs.get(interaction_id)
        if entry is None or entry.owner != owner:
            return None
        changed = self._capped(change(entry.record()))
        changed = changed.model_copy(update={"interaction_id": interaction_id, "owner": owner})
        self._put_job(changed)
        return changed

    # -- agents ------------------------------------------------------------------------------------

    async def record_agent(self, owner: str, agent_id: str) -> None:
        if self._agents.setdefault(agent_id, owner) != owner:
            raise AgentTakenError(agent_id)

    async def agent_owner(self, agent_id: str) -> str | None:
        return self._agents.get(agent_id)

    async def list_agents(self, owner: str) -> list[str]:
        return [agent_id for agent_id, who in self._agents.items() if who == owner]

    async def forget_agent(self, agent_id: str) -> bool:
        return self._agents.pop(agent_id, None) is not None

    # -- owned resources ---------------------------------------------------------------------------

    async def put_resource(self, record: ResourceRecord) -> None:
        self._resources[(record.owner, record.kind, record.id)] = record.model_copy(deep=True)

    async def get_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> ResourceRecord | None:
        record = self._resources.get((owner, kind, resource_id))
        if record is not None and record.expired(time.time()):
            del self._resources[(owner, kind, resource_id)]
            return None
        return None if record is None else record.model_copy(deep=True)

    async def list_resources(self, owner: str, kind: ResourceKind) -> list[ResourceRecord]:
        now = time.time()
        mine = [r for (who, what, _), r in self._resources.items() if who == owner and what == kind]
        return [r.model_copy(deep=True) for r in sorted(mine, key=lambda r: r.created) if not r.expired(now)]

    async def delete_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> bool:
        return self._resources.pop((owner, kind, resource_id), None) is not None

    async def prune_resources(self, kind: ResourceKind, *, created_before: float) -> list[ResourceRecord]:
        doomed = [key for key, r in self._resources.items() if key[1] == kind and r.created < created_before]
        return sorted((self._resources.pop(key) for key in doomed), key=lambda r: (r.created, r.owner, r.id))

    # -- usage -------------------------------------------------------------------------------------

    async def add_usage(self, owner: str, day: str, model: str, usage: UsageCounts) -> None:
        self._count_usage(owner, counted(day, model, usage))

    def _count_usage(self, owner: str, usage: Counted) -> None:
        day, model, counters = usage
        row = self._usage.setdefault((owner, day, model), [0] * (1 + len(counters)))
        row[0] += 1
        for index, value in enumerate(counters, 1):
            row[index] += value

    async def daily_usage(self, owner: str, *, since: str) -> list[DailyUsage]:
        rows = self._usage.items()
        mine = sorted((day, model, row) for (who, day, model), row in rows if who == owner and day >= since)
        return [DailyUsage.of_counters(owner, day, model, int(row[0]), row[1:]) for day, model, row in mine]

    # -- leases ------------------------------------------------------------------------------------

    def _holder(self, key: str) -> str | None:
        """Who holds the lease now (an expired lease is dropped on sight)."""
        held = self._leases.get(key)
        if held is None:
            return None
        if held[1] <= time.monotonic():
            del self._leases[key]
            return None
        return held[0]

    async def acquire_lease(self, key: str, holder: str, ttl: float) -> bool:
        if self._holder(key) not in (None, holder):
            return False
        self._leases[key] = (holder, time.monotonic() + ttl)
        return True

    async def renew_lease(self, key: str, holder: str, ttl: float) -> bool:
        if self._holder(key) != holder:
            return False
        self._leases[key] = (holder, time.monotonic() + ttl)
        return True

    async def release_lease(self, key: str, holder: str) -> bool:
        if self._holder(key) != holder:
            return False
        del self._leases[key]
        return True

    async def lease_left(self, key: str) -> float | None:
        if self._holder(key) is None:
            return None
        return self._leases[key][1] - time.monotonic()

    async def close(self) -> None:
        """Nothing to release; the data simply goes away with the object."""

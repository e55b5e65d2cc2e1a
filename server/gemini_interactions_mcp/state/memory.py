"""An in-process store: for tests, demos and `GEMINI_MCP_STATE=memory` (nothing survives a restart).

Every method runs without awaiting in between, so each one is atomic on the event loop; records are
copied in and out so a caller mutating a record it holds cannot change the store behind its back.
"""

from __future__ import annotations

import time
from itertools import islice

from gemini_interactions_mcp.state.base import DEFAULT_MAX_OUTPUT_CHARS, JobChange, Store, prunable
from gemini_interactions_mcp.state.errors import AgentTakenError, JobExistsError, NameTakenError
from gemini_interactions_mcp.state.records import (
    ConversationRecord,
    DailyUsage,
    JobRecord,
    ResourceKind,
    ResourceRecord,
    UsageCounts,
)


class MemoryStore(Store):
    """Dictionaries keyed by id; ownership is checked on every access."""

    def __init__(self, *, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS) -> None:
        super().__init__(max_output_chars=max_output_chars)
        self._conversations: dict[str, ConversationRecord] = {}
        self._jobs: dict[str, JobRecord] = {}
        self._agents: dict[str, str] = {}
        self._resources: dict[tuple[str, str, str], ResourceRecord] = {}
        self._usage: dict[tuple[str, str, str], DailyUsage] = {}

    # -- conversations -----------------------------------------------------------------------------

    def _owned(self, owner: str, conversation_id: str) -> ConversationRecord | None:
        record = self._conversations.get(conversation_id)
        return record if record is not None and record.owner == owner else None

    def _check_name(self, owner: str, name: str | None, conversation_id: str) -> None:
        if name is None:
            return
        for other in self._conversations.values():
            if other.owner == owner and other.name == name and other.id != conversation_id:
                raise NameTakenError(owner, name)

    async def create_conversation(self, record: ConversationRecord) -> None:
        if record.id in self._conversations:
            raise ValueError(f"conversation id {record.id!r} already exists")
        self._check_name(record.owner, record.name, record.id)
        self._conversations[record.id] = record.checked()

    async def get_conversation(self, owner: str, key: str) -> ConversationRecord | None:
        found = self._owned(owner, key) or next(
            (r for r in self._conversations.values() if r.owner == owner and r.name == key), None
        )
        return None if found is None else found.model_copy(deep=True)

    async def list_conversations(
        self, owner: str, *, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        mine = sorted(
            (r for r in self._conversations.values() if r.owner == owner),
            key=lambda r: r.updated,
            reverse=True,
        )
        return [r.model_copy(deep=True) for r in islice(mine, offset, offset + limit)]

    async def advance_conversation(
        self, owner: str, conversation_id: str, expected_head: str | None, updated: ConversationRecord
    ) -> bool:
        current = self._owned(owner, conversation_id)
        if current is None or current.head != expected_head:
            return False
        self._conversations[conversation_id] = updated.checked().model_copy(
            update={"id": conversation_id, "owner": owner, "name": current.name}
        )
        return True

    async def rename_conversation(
        self, owner: str, conversation_id: str, name: str | None
    ) -> ConversationRecord | None:
        current = self._owned(owner, conversation_id)
        if current is None:
            return None
        self._check_name(owner, name, conversation_id)
        renamed = current.model_copy(update={"name": name})
        self._conversations[conversation_id] = renamed
        return renamed.model_copy(deep=True)

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        if self._owned(owner, conversation_id) is None:
            return False
        del self._conversations[conversation_id]
        return True

    # -- jobs --------------------------------------------------------------------------------------

    async def create_job(self, job: JobRecord) -> None:
        if job.interaction_id in self._jobs:
            raise JobExistsError(job.interaction_id)
        self._jobs[job.interaction_id] = self._capped(job)

    async def get_job(self, owner: str, interaction_id: str) -> JobRecord | None:
        job = self._jobs.get(interaction_id)
        return None if job is None or job.owner != owner else job.model_copy(deep=True)

    async def list_jobs(self, owner: str, *, limit: int = 50, offset: int = 0) -> list[JobRecord]:
        mine = sorted(
            (j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.created, reverse=True
        )
        return [j.model_copy(deep=True) for j in islice(mine, offset, offset + limit)]

    async def unfinished_jobs(self) -> list[JobRecord]:
        running = sorted((j for j in self._jobs.values() if j.finished is None), key=lambda j: j.created)
        return [j.model_copy(deep=True) for j in running]

    async def prune_jobs(self, *, finished_before: float, keep_last: int = 0) -> int:
        finished = [
            (j.interaction_id, j.owner, j.finished) for j in self._jobs.values() if j.finished is not None
        ]
        doomed = prunable(finished, finished_before=finished_before, keep_last=keep_last)
        for interaction_id in doomed:
            del self._jobs[interaction_id]
        return len(doomed)

    async def _change_job(self, owner: str, interaction_id: str, change: JobChange) -> JobRecord | None:
        current = self._jobs.get(interaction_id)
        if current is None or current.owner != owner:
            return None
        changed = self._capped(change(current.model_copy(deep=True)))
        changed = changed.model_copy(update={"interaction_id": interaction_id, "owner": owner})
        self._jobs[interaction_id] = changed
        return changed.model_copy(deep=True)

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

    # -- owned resources -----------------------------------------------------------------------------

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

    # -- usage -----------------------------------------------------------------------------------------

    async def add_usage(self, owner: str, day: str, model: str, usage: UsageCounts) -> None:
        current = self._usage.get((owner, day, model)) or DailyUsage(owner=owner, day=day, model=model)
        self._usage[(owner, day, model)] = current.model_copy(
            update={"interactions": current.interactions + 1, "usage": current.usage.plus(usage)}
        )

    async def daily_usage(self, owner: str, *, since: str) -> list[DailyUsage]:
        mine = [u for (who, day, _), u in self._usage.items() if who == owner and day >= since]
        return [u.model_copy(deep=True) for u in sorted(mine, key=lambda u: (u.day, u.model))]

    async def close(self) -> None:
        """Nothing to release; the data simply goes away with the object."""

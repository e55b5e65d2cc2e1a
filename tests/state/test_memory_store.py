"""The memory store's own economy: what it keeps per record, beyond what every store guarantees."""

from __future__ import annotations

import anyio
import pytest

from gemini_interactions_mcp.state import ConversationRecord, JobRecord, MemoryStore, new_conversation_id
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio


def fresh(text: str) -> str:
    """An equal string that is another object, as every unpacked record or parsed answer brings."""
    return "".join(list(text))


async def test_an_id_kept_in_several_places_is_one_string() -> None:
    """A finished research job's ids come back from every unpacked record as new strings: the job's
    conversation, the conversation's head (the job), the end announced to the job service. One object
    per id is kept (bench/memory.py: about 330 B less per finished job)."""
    store = MemoryStore()
    conversation_id, interaction_id = new_conversation_id(), "v1_" + "j" * 48
    created = ConversationRecord(id=conversation_id, owner="alice", created=1.0, updated=1.0)
    await store.create_conversation(created)
    job = JobRecord(
        interaction_id=fresh(interaction_id),
        owner="alice",
        kind="research",
        conversation_id=fresh(conversation_id),
        created=1.0,
        updated=1.0,
    )
    await store.create_job(job)
    await store.finish_job("alice", fresh(interaction_id), status="completed", output="report")
    moved = created.model_copy(update={"head": fresh(interaction_id), "turns": 1})
    assert await store.advance_conversation("alice", fresh(conversation_id), None, moved)

    conversation_key = next(key for key in store._conversations if key == conversation_id)
    job_key = next(key for key in store._jobs if key == interaction_id)
    assert store._jobs[interaction_id].conversation_id is conversation_key
    assert store._conversations[conversation_id].head is job_key
    async with anyio.create_task_group() as tg:
        heard: list[str] = []

        async def hear_one() -> None:
            async for announced in store.job_finished_events():
                heard.append(announced)
                return

        tg.start_soon(hear_one)

        async def subscribed() -> bool:
            return bool(store._finished_listeners)

        await async_wait_until(subscribed, what="the listener to subscribe")
        await store.publish_job_finished(fresh(interaction_id))
    assert heard[0] is job_key, "a job end heard (kept by the job service) is the job's own key"
    finished = await store.get_job("alice", interaction_id)
    assert finished is not None and finished.status == "completed" and finished.output == "report"

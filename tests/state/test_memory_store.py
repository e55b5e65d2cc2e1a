"""The memory store's own economy: what it keeps per record, beyond what every store guarantees."""

from __future__ import annotations

import anyio
import pytest

from gemini_interactions_mcp.state import (
    ConversationRecord,
    JobRecord,
    MemoryStore,
    Transcript,
    TranscriptTurn,
    new_conversation_id,
)
from gemini_interactions_mcp.state.memory import UNPACKED_BYTES, UNPACKED_CONVERSATIONS
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


def conversation(transcript_chars: int = 0) -> ConversationRecord:
    turn = TranscriptTurn(prompt="question", answer="a" * transcript_chars)
    transcript = Transcript.of([turn]) if transcript_chars else Transcript()
    return ConversationRecord(
        id=new_conversation_id(), owner="alice", transcript=transcript, created=1.0, updated=1.0
    )


def unpacked(store: MemoryStore) -> list[str]:
    """The conversations kept as JSON text, not packed."""
    return [key for key, entry in store._conversations.items() if isinstance(entry.stored, str)]


async def test_only_the_conversations_written_last_stay_unpacked() -> None:
    """A continued conversation is read and written back every turn: the ones written last skip
    packing and unpacking, the others are packed as they fall out (so a store of many stays small)."""
    store = MemoryStore()
    records = [conversation(100) for _ in range(UNPACKED_CONVERSATIONS + 5)]
    for record in records:
        await store.create_conversation(record)
    newest = [record.id for record in records[-UNPACKED_CONVERSATIONS:]]
    assert unpacked(store) == newest
    continued = records[0].model_copy(update={"head": "v1_turn", "turns": 1})
    assert await store.advance_conversation("alice", records[0].id, None, continued)
    assert unpacked(store) == [records[0].id, *newest[1:]], "written again, it is the newest"
    for record in records:
        got = await store.get_conversation("alice", record.id)
        assert got == (continued if record is records[0] else record)
    for record in records:
        assert await store.delete_conversation("alice", record.id)
    assert store._unpacked.size == 0 and len(store._unpacked) == 0


async def test_the_unpacked_conversations_are_bounded_in_bytes() -> None:
    store = MemoryStore()
    large = [conversation(UNPACKED_BYTES // 5) for _ in range(8)]
    for record in large:
        await store.create_conversation(record)
    assert unpacked(store) == [record.id for record in large[-4:]]
    assert store._unpacked.size <= UNPACKED_BYTES
    too_large = conversation(UNPACKED_BYTES)
    await store.create_conversation(too_large)
    assert unpacked(store) == [record.id for record in large[-4:]], "packed at once, pushing none out"
    got = await store.get_conversation("alice", too_large.id)
    assert got == too_large


async def test_every_read_is_a_fresh_copy_unpacked_or_packed() -> None:
    store = MemoryStore()
    records = [conversation(100) for _ in range(UNPACKED_CONVERSATIONS + 1)]
    for record in records:
        await store.create_conversation(record)
    packed, kept = records[0], records[-1]
    assert unpacked(store) == [record.id for record in records[1:]]
    for record in (packed, kept):
        record.settings["tools"] = ["changed after writing"]
        got = await store.get_conversation("alice", record.id)
        assert got is not None and got.settings == {}
        got.settings["x"] = 1
        got.usage.input_tokens = 7
        got.transcript.json = "[]"
        again = await store.get_conversation("alice", record.id)
        assert again is not None and again.settings == {} and again.usage.input_tokens == 0
        assert again.transcript.turns()[0].answer == "a" * 100
        assert again is not got and again.transcript is not got.transcript

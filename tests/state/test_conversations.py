"""Conversation records: CRUD, ownership isolation, names, and the compare-and-set on the head."""

from __future__ import annotations

import json

import anyio
import pytest
from pydantic import BaseModel, ValidationError

from gemini_interactions_mcp.state import (
    ConversationRecord,
    NameTakenError,
    Store,
    Transcript,
    TranscriptTurn,
    Usage,
    new_conversation_id,
)

pytestmark = pytest.mark.anyio


def conversation(owner: str = "alice", name: str | None = None, updated: float = 100.0) -> ConversationRecord:
    return ConversationRecord(
        id=new_conversation_id(),
        owner=owner,
        name=name,
        model="gemini-3.5-flash",
        created=updated,
        updated=updated,
    )


def test_ids_are_long_random_and_prefixed() -> None:
    ids = {new_conversation_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("conv_") and len(i) >= 5 + 27 for i in ids)  # 160 bits of base64url


def test_usage_adds_partial_mappings() -> None:
    total = Usage(input_tokens=1, total_tokens=1, cost_usd=0.25).plus(
        {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5, "cost_usd": 0.5, "unpriced": 1}
    )
    assert total.as_dict() == {
        **Usage().as_dict(),
        "input_tokens": 3,
        "output_tokens": 3,
        "total_tokens": 6,
        "cost_usd": 0.75,
        "unpriced": 1,
    }
    doubled = total.plus(total)
    assert (doubled.total_tokens, doubled.cost_usd, doubled.unpriced) == (12, 1.5, 2)
    assert isinstance(doubled.total_tokens, int)


async def test_create_and_get_by_id_and_name(store: Store) -> None:
    record = conversation(name="plans")
    record.settings = {"system_instruction": "Be brief.", "tools": [{"type": "google_search"}]}
    await store.create_conversation(record)
    assert await store.get_conversation("alice", record.id) == record
    assert await store.get_conversation("alice", "plans") == record
    assert await store.get_conversation("alice", "nope") is None


async def test_other_owners_records_are_invisible(store: Store) -> None:
    record = conversation(name="secret")
    await store.create_conversation(record)
    assert await store.get_conversation("bob", record.id) is None
    assert await store.get_conversation("bob", "secret") is None
    assert await store.list_conversations("bob") == []
    assert not await store.advance_conversation(
        "bob", record.id, None, record.model_copy(update={"head": "x"})
    )
    assert await store.rename_conversation("bob", record.id, "mine") is None
    assert not await store.delete_conversation("bob", record.id)
    assert await store.get_conversation("alice", record.id) == record


async def test_names_are_unique_per_owner_only(store: Store) -> None:
    await store.create_conversation(conversation(name="daily"))
    with pytest.raises(NameTakenError):
        await store.create_conversation(conversation(name="daily"))
    await store.create_conversation(conversation(owner="bob", name="daily"))
    await store.create_conversation(conversation())  # unnamed ones never clash
    await store.create_conversation(conversation())
    assert len(await store.list_conversations("alice")) == 3


async def test_a_record_that_fails_its_check_takes_no_name(store: Store) -> None:
    """A conversation refused as invalid leaves its name free for the next one."""
    bad = conversation(name="kept").model_copy(update={"turns": "many"})
    with pytest.raises(ValidationError):
        await store.create_conversation(bad)
    await store.create_conversation(conversation(name="kept"))
    assert await store.get_conversation("alice", "kept") is not None


async def test_an_id_wins_over_a_name_that_looks_like_it(store: Store) -> None:
    first = conversation()
    await store.create_conversation(first)
    await store.create_conversation(conversation(name=first.id))
    found = await store.get_conversation("alice", first.id)
    assert found is not None and found.name is None


async def test_list_is_most_recent_first_and_paged(store: Store) -> None:
    records = [conversation(updated=float(i)) for i in range(5)]
    for record in records:
        await store.create_conversation(record)
    listed = await store.list_conversations("alice", limit=2, offset=1)
    assert [r.id for r in listed] == [records[3].id, records[2].id]


async def test_advance_is_compare_and_set_on_head(store: Store) -> None:
    record = conversation()
    await store.create_conversation(record)
    turn1 = record.model_copy(update={"head": "int_1", "turns": 1, "updated": 200.0, "preview": "hi"})
    assert await store.advance_conversation("alice", record.id, None, turn1)
    assert not await store.advance_conversation(
        "alice", record.id, None, turn1.model_copy(update={"head": "x"})
    )
    turn2 = turn1.model_copy(update={"head": "int_2", "turns": 2, "usage": Usage(total_tokens=7)})
    assert await store.advance_conversation("alice", record.id, "int_1", turn2)
    assert await store.get_conversation("alice", record.id) == turn2


async def test_advance_keeps_a_concurrent_rename(store: Store) -> None:
    record = conversation(name="old")
    await store.create_conversation(record)
    await store.rename_conversation("alice", record.id, "new")
    assert await store.advance_conversation(
        "alice", record.id, None, record.model_copy(update={"head": "int_1"})
    )
    stored = await store.get_conversation("alice", record.id)
    assert stored is not None and stored.name == "new" and stored.head == "int_1"


async def test_exactly_one_of_many_concurrent_advances_wins(store: Store) -> None:
    record = conversation()
    await store.create_conversation(record)
    wins: list[str] = []

    async def attempt(n: int) -> None:
        head = f"int_{n}"
        if await store.advance_conversation(
            "alice", record.id, None, record.model_copy(update={"head": head})
        ):
            wins.append(head)

    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon(attempt, n)
    assert len(wins) == 1
    stored = await store.get_conversation("alice", record.id)
    assert stored is not None and stored.head == wins[0]


async def test_rename_and_clear_name(store: Store) -> None:
    a, b = conversation(name="a"), conversation(name="b")
    await store.create_conversation(a)
    await store.create_conversation(b)
    with pytest.raises(NameTakenError):
        await store.rename_conversation("alice", a.id, "b")
    renamed = await store.rename_conversation("alice", a.id, "c")
    assert renamed is not None and renamed.name == "c"
    assert await store.get_conversation("alice", "c") == renamed
    cleared = await store.rename_conversation("alice", a.id, None)
    assert cleared is not None and cleared.name is None
    assert await store.get_conversation("alice", "a") is None


async def test_delete(store: Store) -> None:
    record = conversation(name="gone")
    await store.create_conversation(record)
    assert await store.delete_conversation("alice", record.id)
    assert not await store.delete_conversation("alice", record.id)
    assert await store.get_conversation("alice", "gone") is None
    await store.create_conversation(conversation(name="gone"))  # the name is free again


async def test_returned_records_are_copies(store: Store) -> None:
    record = conversation()
    await store.create_conversation(record)
    record.settings["tools"] = ["mutated after create"]
    got = await store.get_conversation("alice", record.id)
    assert got is not None and got.settings == {}
    got.settings["x"] = 1
    again = await store.get_conversation("alice", record.id)
    assert again is not None and again.settings == {}


async def test_a_long_preview_is_clipped_never_fatal(store: Store) -> None:
    record = conversation()
    await store.create_conversation(record)
    unvalidated = record.model_copy(update={"head": "int_1", "preview": "word\n" * 100})
    assert await store.advance_conversation("alice", record.id, None, unvalidated)
    stored = await store.get_conversation("alice", record.id)
    assert stored is not None and len(stored.preview) == 120 and stored.preview.endswith("…")
    assert "\n" not in stored.preview


async def test_a_write_is_validated_nested_plain_data_included(store: Store) -> None:
    """The stores validate what `model_copy(update=...)` let through: a bad field is refused (the record
    stays as it was), and nested records given as plain data are checked and stored as records."""
    record = conversation()
    await store.create_conversation(record)
    with pytest.raises(ValidationError):
        await store.advance_conversation(
            "alice", record.id, None, record.model_copy(update={"turns": "many"})
        )
    with pytest.raises(ValidationError):
        await store.advance_conversation(
            "alice", record.id, None, record.model_copy(update={"transcript": [{"answer": "no prompt"}]})
        )
    assert await store.get_conversation("alice", record.id) == record
    plain = record.model_copy(update={"head": "int_1", "transcript": [{"prompt": "hi", "answer": "hello"}]})
    assert await store.advance_conversation("alice", record.id, None, plain)
    stored = await store.get_conversation("alice", record.id)
    assert stored is not None and stored.transcript.turns() == [TranscriptTurn(prompt="hi", answer="hello")]


async def test_the_local_copy_keeps_any_text_exactly(store: Store) -> None:
    """The copy is kept as JSON text and spliced, not dumped again: line breaks, quotes and any other
    character inside a turn come back exactly, and never split it."""
    record = conversation()
    await store.create_conversation(record)
    tricky = TranscriptTurn(
        prompt='line one\nline "two"\u2028three\r\n', answer="é 🙂 \\n [1, 2]\n", files=["a\nb.pdf"]
    )
    copy = Transcript.of([TranscriptTurn(prompt="first"), tricky])
    moved = record.model_copy(update={"head": "int_1", "transcript": copy})
    assert await store.advance_conversation("alice", record.id, None, moved)
    stored = await store.get_conversation("alice", record.id)
    assert stored is not None and len(stored.transcript) == 2
    assert stored.transcript.turns() == [TranscriptTurn(prompt="first"), tricky]


def test_the_local_copy_is_stored_as_earlier_releases_store_it() -> None:
    """Where the copy is in the stored object does not matter: an earlier release's record (the copy
    among the other fields) reads as this one's (the copy last, cut off unparsed), and an earlier
    release, which validates the whole object, reads this one's."""

    class Earlier(BaseModel):
        transcript: list[TranscriptTurn]
        turns: int

    copy = Transcript.of(
        [TranscriptTurn(prompt="hi", answer="yo"), TranscriptTurn(prompt='"]}', files=["a"])]
    )
    record = conversation().model_copy(update={"transcript": copy, "turns": 2})
    written = record.stored_json()
    assert Earlier.model_validate_json(written) == Earlier(transcript=copy.turns(), turns=2)
    assert ConversationRecord.from_stored(written) == record
    earlier = json.loads(written)
    earlier = {"transcript": earlier.pop("transcript"), **earlier}  # as an earlier release ordered it
    assert ConversationRecord.from_stored(json.dumps(earlier)).transcript.turns() == copy.turns()

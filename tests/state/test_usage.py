"""Daily usage per principal and model, in every backend: atomic increments, read back by owner only."""

from __future__ import annotations

import time

import anyio
import pytest

from gemini_interactions_mcp.state import ConversationRecord, Store, UsageEntry

pytestmark = pytest.mark.anyio


async def test_adds_accumulate_per_owner_day_and_model(store: Store) -> None:
    await store.add_usage("alice", "2026-12-04", "gemini-3.5-flash", {"total_tokens": 10, "cost_usd": 0.5})
    await store.add_usage("alice", "2026-12-05", "gemini-3.5-flash", {"total_tokens": 20, "cost_usd": 0.25})
    await store.add_usage("alice", "2026-12-05", "gemini-3.5-flash", {"total_tokens": 5, "unpriced": 1})
    await store.add_usage("alice", "2026-12-05", "deep-research-preview-04-2026", {"cost_usd": 3.0})
    rows = await store.daily_usage("alice", since="2026-12-04")
    assert [(r.day, r.model, r.interactions) for r in rows] == [
        ("2026-12-04", "gemini-3.5-flash", 1),
        ("2026-12-05", "deep-research-preview-04-2026", 1),
        ("2026-12-05", "gemini-3.5-flash", 2),
    ]
    today = rows[2].usage
    assert (today.total_tokens, today.cost_usd, today.unpriced) == (25, 0.25, 1)
    assert [r.day for r in await store.daily_usage("alice", since="2026-12-05")] == ["2026-12-05"] * 2


async def test_another_owner_sees_nothing(store: Store) -> None:
    await store.add_usage("alice", "2026-12-05", "gemini-3.5-flash", {"total_tokens": 10})
    assert await store.daily_usage("bob", since="2000-01-01") == []


async def test_concurrent_adds_all_count(store: Store) -> None:
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(store.add_usage, "alice", "2026-12-05", "m", {"total_tokens": 1, "cost_usd": 0.5})
    (row,) = await store.daily_usage("alice", since="2026-12-05")
    assert (row.interactions, row.usage.total_tokens, row.usage.cost_usd) == (20, 20, 10.0)


async def test_a_turn_and_its_usage_move_together(store: Store) -> None:
    """The compare-and-set that moves a conversation's head counts the turn's usage in the same call,
    and only if the head moved."""
    now = time.time()
    await store.create_conversation(ConversationRecord(id="conv_u", owner="alice", created=now, updated=now))
    entry = UsageEntry(day="2026-12-05", model="gemini-3.5-flash", usage={"total_tokens": 7})
    turn = ConversationRecord(id="conv_u", owner="alice", head="v1_a", turns=1, created=now, updated=now)
    assert await store.advance_conversation("alice", "conv_u", None, turn, usage=entry)
    assert not await store.advance_conversation("alice", "conv_u", None, turn, usage=entry), "lost race"
    (row,) = await store.daily_usage("alice", since="2026-12-05")
    assert (row.interactions, row.usage.total_tokens) == (1, 7)
    current = await store.get_conversation("alice", "conv_u")
    assert current is not None and current.head == "v1_a"


async def test_a_new_conversation_and_its_first_turns_usage_are_stored_together(store: Store) -> None:
    """A conversation a call starts is stored with its first turn, and the turn's usage counted in the
    same call; a clash (the id exists) stores and counts nothing."""
    now = time.time()
    entry = UsageEntry(day="2026-12-05", model="gemini-3.5-flash", usage={"total_tokens": 7})
    first = ConversationRecord(id="conv_n", owner="alice", head="v1_a", turns=1, created=now, updated=now)
    await store.create_conversation(first, usage=entry)
    with pytest.raises(ValueError, match="already exists"):
        await store.create_conversation(first, usage=entry)
    (row,) = await store.daily_usage("alice", since="2026-12-05")
    assert (row.interactions, row.usage.total_tokens) == (1, 7)
    assert await store.get_conversation("alice", "conv_n") == first

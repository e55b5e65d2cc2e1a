"""The same scenarios against the real Gemini API: opt-in (GEMINI_LIVE_TESTS=1 plus a key), never in CI.

Kept small and cheap: a flash model, short prompts, one short background run.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio
import pytest

from gemini_interactions_mcp.gemini import (
    ClientConfig,
    InteractionAccumulator,
    InteractionsClient,
    NotFoundError,
)
from gemini_interactions_mcp.gemini.models import InteractionCompletedEvent

LIVE = os.environ.get("GEMINI_LIVE_TESTS") == "1" and bool(
    os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
)
pytestmark = [
    pytest.mark.live,
    pytest.mark.anyio,
    pytest.mark.skipif(not LIVE, reason="set GEMINI_LIVE_TESTS=1 and GEMINI_API_KEY to run live tests"),
]
MODEL = os.environ.get("GEMINI_LIVE_MODEL", "gemini-3.5-flash")


@pytest.fixture
async def live() -> AsyncIterator[InteractionsClient]:
    async with InteractionsClient(ClientConfig.from_env()) as client:
        yield client


async def test_unary_get_and_delete(live: InteractionsClient) -> None:
    created = await live.create({"model": MODEL, "input": "Reply with the single word: pong"})
    assert created.status == "completed" and created.output_text
    fetched = await live.get(created.id, include_input=True)
    assert fetched.id == created.id
    await live.delete(created.id)
    with pytest.raises(NotFoundError):
        await live.get(created.id)


async def test_stream_and_replay(live: InteractionsClient) -> None:
    accumulator = InteractionAccumulator()
    async with live.stream_create({"model": MODEL, "input": "Count from 1 to 5."}) as stream:
        events = [event async for event in stream]
    for event in events:
        accumulator.feed(event)
    assert isinstance(events[-1], InteractionCompletedEvent)
    assert accumulator.text
    assert stream.interaction_id
    async with live.stream_get(stream.interaction_id) as replay:
        replayed = [event async for event in replay]
    assert replayed


async def test_background_and_poll(live: InteractionsClient) -> None:
    started = await live.create({"model": MODEL, "input": "Say hi.", "background": True})
    for _ in range(120):  # bounded polling
        current = await live.get(started.id)
        if current.is_terminal:
            break
        await anyio.sleep(1)
    assert current.output_text


async def test_agents_list(live: InteractionsClient) -> None:
    page = await live.list_agents(page_size=5)
    assert len(page.agents) <= 5

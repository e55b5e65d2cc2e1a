"""Resumable 2025-era streams: a cut-off client gets what it missed, and only its own session's events."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from mcp.server.streamable_http import EventMessage
from mcp.types import JSONRPCNotification, JSONRPCResponse
from starlette.applications import Starlette

from gemini_interactions_mcp.transport.resumability import (
    EVENT_OVERHEAD_BYTES,
    RETRY_MILLISECONDS,
    EventBuffer,
)
from tests.helpers.legacy import LegacyCaller, result_of, sse_events
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio


def response(request_id: int, text: str) -> JSONRPCResponse:
    return JSONRPCResponse(jsonrpc="2.0", id=request_id, result={"text": text})


async def replayed(view: Any, last_event_id: str) -> tuple[str | None, list[EventMessage]]:
    sent: list[EventMessage] = []

    async def collect(event: EventMessage) -> None:
        sent.append(event)

    stream = await view.replay_events_after(last_event_id, collect)
    return stream, sent


async def test_a_session_replays_only_its_own_events_for_a_repeated_request_id() -> None:
    buffer = EventBuffer()
    alice, bob = buffer.open_session(), buffer.open_session()
    alice_priming = await alice.store_event("5", None)
    await bob.store_event("5", None)
    await bob.store_event("5", response(5, "secret-of-bob"))
    await alice.store_event("7", response(7, "another stream of alice"))
    alice_answer = await alice.store_event("5", response(5, "alice's answer"))

    stream, sent = await replayed(alice, alice_priming)
    assert stream == "5"
    assert [(e.event_id, e.message.result) for e in sent] == [(alice_answer, {"text": "alice's answer"})]  # type: ignore[union-attr]
    for foreign in (await bob.store_event("5", None), "not-a-number", "999999"):
        assert await replayed(alice, foreign) == (None, [])


async def test_memory_stays_within_budget_oldest_first_and_closed_sessions_free_theirs() -> None:
    message = JSONRPCNotification(jsonrpc="2.0", method="notifications/progress", params={"n": "x" * 500})
    size = EVENT_OVERHEAD_BYTES + len(message.model_dump_json(by_alias=True, exclude_unset=True))
    buffer = EventBuffer(max_bytes=10 * size)
    view = buffer.open_session()
    ids = [await view.store_event("1", message) for _ in range(25)]
    assert buffer.stored_bytes <= buffer.max_bytes
    assert await replayed(view, ids[0]) == (None, [])  # evicted
    stream, sent = await replayed(view, ids[-3])
    assert stream == "1" and [e.event_id for e in sent] == ids[-2:]
    buffer.close_session(view)
    assert buffer.stored_bytes == 0 and await replayed(view, ids[-3]) == (None, [])


async def test_reconnecting_alice_gets_her_answer_never_bobs(
    http_server: ServerThread, emulator: Starlette
) -> None:
    """Alice's request 5 is cut off; bob's request 5 completes; alice resumes and gets her own answer."""
    emulator.state.emulator.configure(research_seconds=120)  # alice's poll runs until she cancels
    url = f"{http_server.url}/mcp"
    async with httpx2.AsyncClient(timeout=30) as raw:
        alice = LegacyCaller(raw, url, "alice-token-1")
        bob = LegacyCaller(raw, url, "bob-token-2")
        await alice.open()
        await bob.open()
        async with alice.call(4, "start_deep_research", {"query": "owls"}) as started:
            research = await result_of(started, 4)
        interaction_id = research["result"]["structuredContent"]["interaction_id"]

        async with alice.call(
            5, "poll_interaction", {"interaction_id": interaction_id, "wait_seconds": 50}
        ) as cut:
            priming = await anext(aiter(sse_events(cut)))
        assert priming["data"] == "" and priming["retry"] == str(RETRY_MILLISECONDS)

        async with bob.call(5, "list_conversations", {}) as bobs:
            bobs_answer = await result_of(bobs, 5)
        assert "conversations" in bobs_answer["result"]["structuredContent"]

        async with alice.resume(priming["id"]) as resumed, anyio.create_task_group() as tg:
            assert resumed.status_code == 200

            async def cancel() -> None:
                async with alice.call(6, "cancel_interaction", {"interaction_id": interaction_id}) as done:
                    await result_of(done, 6)

            tg.start_soon(cancel)
            with anyio.fail_after(30):
                answer = await result_of(resumed, 5)
        assert answer["result"]["structuredContent"]["interaction_id"] == interaction_id
        assert answer["result"]["structuredContent"]["status"] == "cancelled"

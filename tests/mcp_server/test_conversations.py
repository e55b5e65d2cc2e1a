"""Finding, renaming, forgetting and resuming conversations; they survive a new server process."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.state import open_store
from tests.helpers.results import data, text_of
from tests.helpers.waiting import async_wait_until

from .conftest import requests_log

pytestmark = pytest.mark.anyio


async def test_list_is_most_recent_first_with_preview(client: Client) -> None:
    a = data(await client.call_tool("ask_gemini", {"prompt": "About apples", "conversation": "apples"}))
    b = data(await client.call_tool("ask_gemini", {"prompt": "About pears"}))
    listed = data(await client.call_tool("list_conversations", {}))["conversations"]
    assert [c["id"] for c in listed] == [b["conversation"], a["conversation"]]
    assert listed[1]["name"] == "apples" and listed[1]["turns"] == 1
    assert "About apples" in listed[1]["preview"]
    assert listed[1]["model"] == "gemini-3.5-flash"


async def test_list_pages(client: Client) -> None:
    for i in range(3):
        await client.call_tool("ask_gemini", {"prompt": f"p{i}"})
    page = data(await client.call_tool("list_conversations", {"limit": 2}))
    assert len(page["conversations"]) == 2 and page["next_offset"] == 2
    rest = data(await client.call_tool("list_conversations", {"limit": 2, "offset": 2}))
    assert len(rest["conversations"]) == 1 and rest["next_offset"] is None


async def test_rename_then_continue_by_new_name(client: Client) -> None:
    first = data(await client.call_tool("ask_gemini", {"prompt": "My dog is Rex."}))
    renamed = await client.call_tool(
        "manage_conversation", {"conversation": first["conversation"], "action": "rename", "name": "pets"}
    )
    assert not renamed.is_error
    follow = data(await client.call_tool("ask_gemini", {"prompt": "And then?", "conversation": "pets"}))
    assert follow["conversation"] == first["conversation"] and follow["turn"] == 2


async def test_rename_to_a_taken_name_is_refused(client: Client) -> None:
    await client.call_tool("ask_gemini", {"prompt": "x", "conversation": "one"})
    await client.call_tool("ask_gemini", {"prompt": "y", "conversation": "two"})
    result = await client.call_tool(
        "manage_conversation", {"conversation": "two", "action": "rename", "name": "one"}
    )
    assert result.is_error and "already have a conversation named" in text_of(result)


async def test_forget_removes_it(client: Client) -> None:
    first = data(await client.call_tool("ask_gemini", {"prompt": "x", "conversation": "gone"}))
    assert not (
        await client.call_tool("manage_conversation", {"conversation": "gone", "action": "forget"})
    ).is_error
    listed = data(await client.call_tool("list_conversations", {}))["conversations"]
    assert first["conversation"] not in [c["id"] for c in listed]
    again = await client.call_tool(
        "manage_conversation", {"conversation": first["conversation"], "action": "forget"}
    )
    assert again.is_error and "list_conversations" in text_of(again)


async def test_conversation_continues_in_a_new_server_process(tmp_path: Path, emulator: Starlette) -> None:
    settings = ServerSettings(state=str(tmp_path / "state.sqlite3"), allow_dirs=(tmp_path,))
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:
        await c.call_tool("ask_gemini", {"prompt": "My city is Lisbon.", "conversation": "trip"})
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:
        listed = data(await c.call_tool("list_conversations", {}))["conversations"]
        assert [x["name"] for x in listed] == ["trip"]
        answer = await c.call_tool("ask_gemini", {"prompt": "What is my city?", "conversation": "trip"})
        assert "Your city is Lisbon" in text_of(answer)
        assert data(answer)["turn"] == 2


async def test_a_turn_that_loses_the_head_to_another_process_is_replayed_on_the_new_head(
    tmp_path: Path, emulator: Starlette
) -> None:
    """The compare-and-set on the head across processes: another process (here: its own connection to
    the state file) advances the conversation while this server's turn is being answered. The turn is
    replayed on the new head, so the chain stays one line and no turn is lost."""
    path = tmp_path / "state.sqlite3"
    settings = ServerSettings(state=str(path), allow_dirs=(tmp_path,))
    upstream = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator), base_url="http://e")
    other_process = await open_store(str(path))
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:
        first = data(
            await c.call_tool("ask_gemini", {"prompt": "My city is Lisbon.", "conversation": "race"})
        )

        async def other_turn() -> None:
            async def asked() -> bool:
                return len(requests_log(emulator)) == 2

            await async_wait_until(asked, what="this server's second POST")
            record = await other_process.get_conversation("local", first["conversation"])
            assert record is not None and record.head == first["interaction_id"]
            body = {
                "model": "gemini-3.5-flash",
                "input": "My dog is Rex.",
                "previous_interaction_id": record.head,
            }
            created = (await upstream.post("/v1beta/interactions", json=body)).json()
            moved = record.model_copy(update={"head": created["id"], "turns": 2})
            assert await other_process.advance_conversation("local", record.id, record.head, moved)
            elsewhere.append(created["id"])

        elsewhere: list[str] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(other_turn)
            third = await c.call_tool(
                "ask_gemini", {"prompt": "[[think 1]] What is my city?", "conversation": "race"}
            )
    await other_process.close()
    await upstream.aclose()
    result = data(third)
    assert result["turn"] == 3 and "Your city is Lisbon" in text_of(third)
    assert "turn 3 of our conversation" in text_of(third)  # upstream saw one line: turn 1, theirs, mine
    mine = [r["body"] for r in requests_log(emulator) if "What is my city" in str(r["body"]["input"])]
    assert [b["previous_interaction_id"] for b in mine] == [first["interaction_id"], elsewhere[0]]

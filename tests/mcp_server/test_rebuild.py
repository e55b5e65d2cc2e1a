"""Conversations whose thread is gone upstream (expired or deleted) are rebuilt from the local copy."""

from __future__ import annotations

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

from .conftest import quick_runs, requests_log

pytestmark = pytest.mark.anyio


async def delete_upstream(emulator: Starlette, interaction_id: str) -> None:
    """What expiry does upstream: the interaction is gone (later reads and chains answer 404)."""
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=emulator), base_url="http://e") as raw:
        response = await raw.delete(f"/v1beta/interactions/{interaction_id}")
    assert response.status_code == 200


async def test_an_expired_thread_is_rebuilt_and_remembers_turn_one(
    client: Client, emulator: Starlette
) -> None:
    first = data(
        await client.call_tool("ask_gemini", {"prompt": "My city is Lisbon.", "conversation": "trip"})
    )
    second = data(await client.call_tool("ask_gemini", {"prompt": "I like trams.", "conversation": "trip"}))
    await delete_upstream(emulator, second["interaction_id"])
    third = await client.call_tool("ask_gemini", {"prompt": "What is my city?", "conversation": "trip"})
    assert "Your city is Lisbon" in text_of(third)
    result = data(third)
    assert result["conversation"] == first["conversation"] and result["turn"] == 3
    assert any("rebuilt from the server's local copy" in n for n in result["notes"]), result["notes"]
    assert second["interaction_id"] in " ".join(result["notes"])  # and why: which interaction is gone
    rebuilt = requests_log(emulator)[-1]["body"]
    assert "previous_interaction_id" not in rebuilt
    assert "I like trams." in str(rebuilt["input"])
    fourth = data(await client.call_tool("ask_gemini", {"prompt": "Thanks!", "conversation": "trip"}))
    assert fourth["notes"] == [] and fourth["turn"] == 4
    assert requests_log(emulator)[-1]["body"]["previous_interaction_id"] == result["interaction_id"]


async def test_a_lost_background_turn_does_not_kill_the_conversation(
    live_emulator: ServerThread, emulator: Starlette, settings: ServerSettings
) -> None:
    """The head's GET answers 404 too: the job fails, and the next turn rebuilds. (A real socket: the
    soft deadline needs the stream's first event as it is produced.)"""
    server = build_server(settings, client_config=ClientConfig(base_url=live_emulator.url))
    async with Client(server) as client:
        first = data(
            await client.call_tool("ask_gemini", {"prompt": "My pet is Tom.", "conversation": "pets"})
        )
        slow = data(
            await client.call_tool(
                "ask_gemini",
                {"prompt": "[[think 3]] Tell me more.", "conversation": "pets", "wait_seconds": 1},
            )
        )
        assert slow["status"] == "in_progress"
        await delete_upstream(emulator, slow["interaction_id"])
        polled = data(
            await client.call_tool(
                "poll_interaction", {"interaction_id": slow["interaction_id"], "wait_seconds": 20}
            )
        )
        assert polled["status"] == "failed"
        again = await client.call_tool("ask_gemini", {"prompt": "What is my pet?", "conversation": "pets"})
    assert "Your pet is Tom" in text_of(again)
    assert data(again)["conversation"] == first["conversation"]
    assert any("rebuilt" in n for n in data(again)["notes"])


async def test_a_research_follow_up_on_an_expired_report_is_rebuilt(
    client: Client, emulator: Starlette
) -> None:
    quick_runs(emulator)
    started = data(await client.call_tool("start_deep_research", {"query": "History of teal"}))
    await client.call_tool(
        "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 30}
    )
    await delete_upstream(emulator, started["interaction_id"])
    follow = data(
        await client.call_tool(
            "start_deep_research", {"query": "Go deeper on dyes", "conversation": started["conversation"]}
        )
    )
    assert any("rebuilt" in n for n in follow["notes"]), follow
    body = requests_log(emulator)[-1]["body"]
    assert "previous_interaction_id" not in body and "History of teal" in str(body["input"])
    report = data(
        await client.call_tool(
            "poll_interaction", {"interaction_id": follow["interaction_id"], "wait_seconds": 30}
        )
    )
    assert report["status"] == "completed"


async def test_an_agent_follow_up_keeps_its_sandbox_on_a_rebuilt_thread(
    client: Client, emulator: Starlette
) -> None:
    first = data(await client.call_tool("run_agent", {"input": "Create notes.txt", "wait_seconds": 20}))
    assert first["status"] == "completed" and first["environment_id"]
    await delete_upstream(emulator, first["interaction_id"])
    again = await client.call_tool(
        "run_agent", {"input": "Append a line", "conversation": first["conversation"], "wait_seconds": 20}
    )
    assert "rebuilt" in text_of(again)
    body = requests_log(emulator)[-1]["body"]
    assert "previous_interaction_id" not in body and body["environment"] == first["environment_id"]
    assert "Create notes.txt" in str(body["input"])


async def test_reset_keeps_the_handle_and_starts_afresh(client: Client, emulator: Starlette) -> None:
    first = data(
        await client.call_tool(
            "ask_gemini",
            {"prompt": "My city is Lisbon.", "conversation": "fresh", "system_instruction": "Be brief."},
        )
    )
    reset = data(await client.call_tool("manage_conversation", {"conversation": "fresh", "action": "reset"}))
    assert reset["conversation"]["id"] == first["conversation"] and reset["conversation"]["turns"] == 0
    after = await client.call_tool("ask_gemini", {"prompt": "What is my city?", "conversation": "fresh"})
    assert "Lisbon" not in text_of(after) and data(after)["turn"] == 1
    body = requests_log(emulator)[-1]["body"]
    assert "previous_interaction_id" not in body and body["system_instruction"] == "Be brief."

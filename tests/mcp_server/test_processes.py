"""Two server processes on one state file: turns on one conversation never fork, and nothing billed is
wasted (a lease in the store serialises them before anything is created upstream)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from tests.helpers.processes import ServerProcess
from tests.helpers.results import data
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio
TURNS = 10


async def test_two_processes_waste_no_upstream_interaction(tmp_path: Path) -> None:
    emulator = create_app(EmulatorConfig(model_seconds=0.2))
    state = tmp_path / "state.sqlite3"
    with (
        ServerThread(emulator) as upstream,
        ServerProcess(state, upstream.url) as one,
        ServerProcess(state, upstream.url) as two,
    ):
        await one.ready()
        await two.ready()
        async with (
            Client(streamable_http_client(one.mcp_url)) as first,
            Client(streamable_http_client(two.mcp_url)) as second,
        ):
            opened = data(await first.call_tool("ask_gemini", {"prompt": "Hello.", "conversation": "shared"}))
            emulator.state.emulator.clear_requests()
            results: list[dict[str, object]] = []

            async def turn(client: Client, i: int) -> None:
                results.append(
                    data(
                        await client.call_tool(
                            "ask_gemini", {"prompt": f"Turn {i}.", "conversation": "shared"}
                        )
                    )
                )

            async with anyio.create_task_group() as tg:
                for i in range(TURNS):
                    tg.start_soon(turn, (first, second)[i % 2], i)
            listed = data(await second.call_tool("list_conversations", {}))["conversations"]
    creates = [r for r in emulator.state.emulator.requests() if r["method"] == "POST"]
    assert len(creates) == TURNS, f"{len(creates) - TURNS} billed interactions wasted"
    assert sorted(r["turn"] for r in results) == list(range(2, TURNS + 2))
    chain = [r["body"].get("previous_interaction_id") for r in creates]
    assert chain[0] == opened["interaction_id"] and len(set(chain)) == TURNS  # one line, no fork
    assert [c["turns"] for c in listed if c["name"] == "shared"] == [TURNS + 1]

"""The function-calling loop outlives the process running it: a server SIGKILLed while its watcher ran a
call, started again on the same state, finishes the turn (the call was read-only, so it runs again)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.state import open_store
from tests.helpers.downstream import SERVER_SCRIPT
from tests.helpers.processes import SHORT_LEASE, ServerProcess
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread
from tests.helpers.waiting import async_wait_until

from .test_tool_loop import directive, until_done

pytestmark = pytest.mark.anyio
TAKEOVER_SECONDS = 30.0
"""Bound on the second process finishing the turn: the dead watcher's lease (SHORT_LEASE) must run out
and the call run again, on a loaded machine."""


async def test_a_server_killed_mid_call_is_started_again_and_the_loop_goes_on(tmp_path: Path) -> None:
    emulator = create_app(EmulatorConfig(model_seconds=0.2))
    config = tmp_path / "mcp.json"
    config.write_text(
        json.dumps({"mcpServers": {"local": {"command": sys.executable, "args": [str(SERVER_SCRIPT)]}}})
    )
    state = tmp_path / "state.sqlite3"
    flags = ("--mcp-config", str(config), *SHORT_LEASE)
    with ServerThread(emulator) as upstream:
        with ServerProcess(state, upstream.url, *flags, log=tmp_path / "first.log") as first:
            await first.ready()
            async with Client(streamable_http_client(first.mcp_url)) as client:
                prompt = "[[think 2]] Look it up " + directive("local__slow", seconds=2)
                arguments = {"prompt": prompt, "tools": ["mcp:local"], "wait_seconds": 1}
                handle = data(await client.call_tool("ask_gemini", arguments))["interaction_id"]
            store = await open_store(str(state))
            try:

                async def calls_begun() -> bool:
                    job = await store.get_job("local", handle)
                    return job is not None and job.calls_started is not None

                await async_wait_until(calls_begun, within=30, what="the watcher to begin the call")
            finally:
                await store.close()
            first.kill()  # mid-call: the slow call had 2 s to go
        with ServerProcess(state, upstream.url, *flags, log=tmp_path / "second.log") as second:
            await second.ready()
            async with Client(streamable_http_client(second.mcp_url)) as client:
                with anyio.fail_after(TAKEOVER_SECONDS):
                    polled = await until_done(client, handle)
    assert data(polled)["status"] == "completed", text_of(polled)
    assert "local__slow returned: slept 2" in text_of(polled)
    creates = [r["body"] for r in emulator.state.emulator.requests() if r["method"] == "POST"]
    assert [[s["type"] for s in body["input"]] for body in creates[1:]] == [["function_result"]]

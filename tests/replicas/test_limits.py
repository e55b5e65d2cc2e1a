"""Limits and usage across two server processes on one Redis: each caller has one allowance, whichever
replica its calls land on (the GCRA counters, running jobs, start leases and daily usage are in Redis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.state.redis_store import RedisStore
from tests.helpers.principals import ALICE, BOB, connect
from tests.helpers.processes import ServerProcess
from tests.helpers.redis import RedisServer
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio


async def test_one_allowance_per_caller_across_replicas(redis_server: RedisServer, tmp_path: Path) -> None:
    store = RedisStore(redis_server.url)
    await store.flush()
    await store.close()
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alice:{ALICE}\nbob:{BOB}\n")
    flags = ["--token-file", str(tokens), "--requests-per-minute", "2", "--max-running-jobs", "1"]
    emulator = create_app(EmulatorConfig(research_seconds=30.0))
    with (
        ServerThread(emulator) as upstream,
        ServerProcess(redis_server.url, upstream.url, *flags, log=tmp_path / "a.log") as a,
        ServerProcess(redis_server.url, upstream.url, *flags, log=tmp_path / "b.log") as b,
    ):
        await a.ready()
        await b.ready()
        async with (
            connect(a, ALICE) as alice_on_a,
            connect(b, ALICE, mode="legacy") as alice_on_b,
            connect(a, BOB) as bob_on_a,
            connect(b, BOB) as bob_on_b,
        ):
            data(await alice_on_a.call_tool("ask_gemini", {"prompt": "One"}))
            data(await alice_on_b.call_tool("ask_gemini", {"prompt": "Two"}))
            for replica in (alice_on_a, alice_on_b):
                refused = await replica.call_tool("ask_gemini", {"prompt": "Three"})
                assert refused.is_error and "Rate limit reached" in text_of(refused)

            data(await bob_on_a.call_tool("start_deep_research", {"query": "Teal"}))
            second = await bob_on_b.call_tool("start_deep_research", {"query": "Cyan"})
            assert second.is_error and "Too many background jobs: 1 of your 1" in text_of(second)

            read = await alice_on_b.read_resource("gemini://usage")
            report = json.loads(read.contents[0].text)  # type: ignore[union-attr]
            assert report["principal"] == "alice" and report["today"]["interactions"] == 2
            assert report["today"]["total"]["cost_usd"] > 0
    posts = [r for r in emulator.state.emulator.requests() if r["method"] == "POST"]
    assert len(posts) == 3, "refused calls send nothing upstream"

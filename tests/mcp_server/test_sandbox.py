"""Sandbox files of managed agents: downloaded when a run ends, listed as a resource, owned per principal."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import BlobResourceContents, ResourceLink, TextResourceContents
from starlette.applications import Starlette

from gemini_interactions_mcp.config import ServerSettings
from tests.helpers.media import file_bytes
from tests.helpers.principals import ALICE, BOB, connect, http_server
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio


async def finished(client: Client, interaction_id: str) -> tuple[dict[str, Any], str]:
    while True:
        polled = await client.call_tool(
            "poll_interaction", {"interaction_id": interaction_id, "wait_seconds": 10}
        )
        if data(polled)["done"]:
            return data(polled), text_of(polled)


async def test_a_run_downloads_what_it_wrote(client: Client, settings: ServerSettings) -> None:
    run = await client.call_tool(
        "run_agent", {"input": "Write the notes", "download": ["notes/*.txt"], "wait_seconds": 30}
    )
    result = data(run)
    assert result["done"] and result["environment_id"]
    env = result["environment_id"]
    assert "Downloaded from the sandbox:" in text_of(run)
    saved = settings.allow_dirs[0] / "gemini-output" / f"sandbox-{env}" / "workspace" / "notes" / "turn-1.txt"
    assert str(saved) in text_of(run) and file_bytes(saved) == b"Write the notes\n"
    (link,) = [b for b in run.content if isinstance(b, ResourceLink) and b.uri.startswith("gemini://media/")]
    assert link.mime_type == "text/plain"
    (read,) = (await client.read_resource(link.uri)).contents
    assert isinstance(read, BlobResourceContents) and read.mime_type == "text/plain"
    assert base64.b64decode(read.blob) == b"Write the notes\n"
    (contents,) = (await client.read_resource(f"gemini://environments/{env}")).contents
    assert (
        isinstance(contents, TextResourceContents)
        and "`workspace/notes/turn-1.txt` (16 bytes" in contents.text
    )


async def test_a_download_waits_for_a_run_that_outlives_the_call(
    client: Client, settings: ServerSettings
) -> None:
    run = data(
        await client.call_tool(
            "run_agent", {"input": "Slow notes", "download": ["**/turn-*.txt"], "wait_seconds": 0}
        )
    )
    assert not run["done"]
    _, text = await finished(client, run["interaction_id"])
    assert "Downloaded from the sandbox:" in text and "turn-1.txt" in text
    second = data(
        await client.call_tool(
            "run_agent",
            {
                "input": "More",
                "conversation": run["conversation"],
                "download": ["nothing/*"],
                "wait_seconds": 30,
            },
        )
    )
    assert second["environment_id"] == run["environment_id"]
    assert "No file matched nothing/*." in text_of(
        await client.call_tool("poll_interaction", {"interaction_id": second["interaction_id"]})
    )


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_environments_belong_to_their_run_owner(
    live_emulator: ServerThread, emulator: Starlette, tmp_path: Path, mode: str
) -> None:
    with http_server(live_emulator.url, tmp_path) as server:
        async with connect(server, ALICE, mode) as alice:
            run = data(await alice.call_tool("run_agent", {"input": "Mine", "wait_seconds": 30}))
            env = run["environment_id"]
            assert run["done"] and env
            listing = (await alice.read_resource(f"gemini://environments/{env}")).contents[0]
            assert isinstance(listing, TextResourceContents) and "turn-1.txt" in listing.text
        async with connect(server, BOB, mode) as bob:
            theirs = await bob.call_tool(
                "run_agent", {"input": "Steal", "environment": env, "wait_seconds": 0}
            )
            unknown = await bob.call_tool(
                "run_agent", {"input": "Steal", "environment": "env_nobody", "wait_seconds": 0}
            )
            assert theirs.is_error and unknown.is_error
            assert text_of(theirs).replace(env, "X") == text_of(unknown).replace("env_nobody", "X")
            errors = []
            for uri in (f"gemini://environments/{env}", "gemini://environments/env_nobody"):
                with pytest.raises(MCPError) as caught:
                    await bob.read_resource(uri)
                errors.append(caught.value.error.message.replace(uri.rsplit("/", 1)[1], "X"))
            assert errors[0] == errors[1]
    creates = [
        r
        for r in emulator.state.emulator.requests()
        if r["method"] == "POST" and r["path"].endswith("/interactions")
    ]
    assert len(creates) == 1, "bob's runs never reached the API"

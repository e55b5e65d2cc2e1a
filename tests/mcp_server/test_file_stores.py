"""File Search end to end: stores, adding a folder as a polled job, citations as sources, ownership."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from tests.helpers.principals import ALICE, BOB, connect, http_server
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

from .conftest import requests_log

pytestmark = pytest.mark.anyio


def write_docs(folder: Path) -> Path:
    docs = folder / "docs"
    docs.mkdir()
    (docs / "plan.md").write_text(
        "The launch is in March.\nThe budget for the launch is 40 thousand euros.\n"
    )
    (docs / "team.txt").write_text("Ada leads the team. Bob writes the code.\n")
    (docs / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (docs / "secret.env").write_text("TOKEN=1\n")
    (docs / ".gitignore").write_text("*.env\n")
    return docs


async def store_tool(client: Client, action: str, **arguments: Any) -> Any:
    return await client.call_tool("manage_file_store", {"action": action, **arguments})


async def poll_done(client: Client, interaction_id: str) -> tuple[dict[str, Any], str]:
    """The finished job's structured result and its text (the output is in the text)."""
    while True:
        arguments = {"interaction_id": interaction_id, "wait_seconds": 10}
        polled = await client.call_tool("poll_interaction", arguments)
        if data(polled)["done"]:
            return data(polled), text_of(polled)


async def added(client: Client, store: str, files: list[str]) -> tuple[dict[str, Any], str]:
    started = data(await store_tool(client, "add", store=store, files=files))
    return await poll_done(client, started["interaction_id"])


async def test_a_folder_is_indexed_and_searched_with_citations(
    client: Client, emulator: Starlette, settings: ServerSettings
) -> None:
    docs = write_docs(settings.allow_dirs[0])
    store = data(await store_tool(client, "create", name="Launch notes"))["store"]["name"]
    job, report = await added(client, store, [str(docs)])
    assert job["status"] == "completed" and job["kind"] == "files"
    assert "Added 2 of 3 file(s)" in report, report
    assert "docs/plan.md: indexed as fileSearchStores/" in report and "docs/logo.png: skipped" in report
    assert "secret.env" not in report and ".gitignore" not in report, ".gitignore honoured, hidden files left"
    listed = data(await store_tool(client, "documents", store=store))["documents"]
    assert sorted(d["display_name"] for d in listed) == ["docs/plan.md", "docs/team.txt"]
    assert all(d["state"] == "STATE_ACTIVE" for d in listed)

    answer = await client.call_tool(
        "ask_gemini", {"prompt": "What is the launch budget?", "file_search_stores": [store]}
    )
    assert "40 thousand euros" in text_of(answer)
    sources = data(answer)["sources"]
    plan = next(d["name"] for d in listed if d["display_name"].endswith("plan.md"))
    assert {"title": "docs/plan.md", "url": plan} in sources
    assert "Sources:" in text_of(answer) and f"[docs/plan.md]({plan})" in text_of(answer)
    body = requests_log(emulator)[-1]["body"]
    assert body["tools"][-1] == {"type": "file_search", "file_search_store_names": [store]}

    plan_doc = next(d for d in listed if d["display_name"].endswith("plan.md"))
    assert not (await store_tool(client, "delete_document", name=plan_doc["name"])).is_error
    assert len(data(await store_tool(client, "documents", store=store))["documents"]) == 1
    assert not (await store_tool(client, "delete", store=store)).is_error
    assert data(await store_tool(client, "list"))["stores"] == []


async def test_research_searches_the_stores(
    client: Client, emulator: Starlette, settings: ServerSettings
) -> None:
    docs = write_docs(settings.allow_dirs[0])
    store = data(await store_tool(client, "create", name="R"))["store"]["name"]
    await added(client, store, [str(docs / "plan.md")])
    arguments = {"query": "launch budget", "file_search_stores": [store]}
    started = data(await client.call_tool("start_deep_research", arguments))
    _, report = await poll_done(client, started["interaction_id"])
    body = next(r["body"] for r in requests_log(emulator) if "agent" in r["body"])
    assert body["tools"] == [
        {"type": "code_execution"},
        {"type": "file_search", "file_search_store_names": [store]},
    ]
    assert "40 thousand euros" in report and "docs/plan.md" in report


async def test_file_search_and_web_search_do_not_mix(client: Client, settings: ServerSettings) -> None:
    store = data(await store_tool(client, "create", name="S"))["store"]["name"]
    result = await client.call_tool(
        "ask_gemini", {"prompt": "q", "tools": ["google_search"], "file_search_stores": [store]}
    )
    assert result.is_error and "cannot be combined with google_search" in text_of(result)


async def test_unknown_store_and_missing_arguments(client: Client) -> None:
    unknown = await store_tool(client, "get", store="fileSearchStores/nope")
    assert unknown.is_error and "No File Search store" in text_of(unknown)
    assert "needs `store`" in text_of(await store_tool(client, "add"))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stores_belong_to_their_creator(
    live_emulator: ServerThread, emulator: Starlette, tmp_path: Path, mode: str
) -> None:
    (tmp_path / "a.txt").write_text("Alice's numbers: 7, 8, 9.")
    with http_server(live_emulator.url, tmp_path) as server:
        async with connect(server, ALICE, mode) as alice:
            store = data(await store_tool(alice, "create", name="mine"))["store"]["name"]
            job, _ = await added(alice, store, ["a.txt"])
            (document,) = [
                d["name"] for d in data(await store_tool(alice, "documents", store=store))["documents"]
            ]
        async with connect(server, BOB, mode) as bob:
            assert data(await store_tool(bob, "list"))["stores"] == []
            nobodys = "fileSearchStores/nobody/documents/x"
            theirs = await store_tool(bob, "delete_document", name=document)
            unknown = await store_tool(bob, "delete_document", name=nobodys)
            assert theirs.is_error and unknown.is_error  # each names its store, one as unknown as the other
            assert text_of(theirs).replace(store, "X") == text_of(unknown).replace(
                "fileSearchStores/nobody", "X"
            )
            for tool in ("poll_interaction", "cancel_interaction"):  # the job that added the files
                theirs = await bob.call_tool(tool, {"interaction_id": job["interaction_id"]})
                unknown = await bob.call_tool(tool, {"interaction_id": "local_nobody"})
                assert theirs.is_error and text_of(theirs).replace(job["interaction_id"], "X") == text_of(
                    unknown
                ).replace("local_nobody", "X")
            for action, extra in (
                ("get", {}),
                ("documents", {}),
                ("delete", {}),
                ("add", {"files": ["a.txt"]}),
            ):
                theirs = await store_tool(bob, action, store=store, **extra)
                unknown = await store_tool(bob, action, store="fileSearchStores/nobody", **extra)
                assert theirs.is_error and unknown.is_error
                assert text_of(theirs).replace(store, "X") == text_of(unknown).replace(
                    "fileSearchStores/nobody", "X"
                )
            asked = await bob.call_tool("ask_gemini", {"prompt": "numbers?", "file_search_stores": [store]})
            assert asked.is_error and "No File Search store" in text_of(asked)
        async with connect(server, ALICE, mode) as alice:
            assert [s["name"] for s in data(await store_tool(alice, "list"))["stores"]] == [store]
            assert [
                d["name"] for d in data(await store_tool(alice, "documents", store=store))["documents"]
            ] == [document]
    deletes = [r for r in emulator.state.emulator.requests() if r["method"] == "DELETE"]
    assert not deletes


async def test_research_reaches_mcp_servers_through_gemini(emulator: Starlette, tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    servers = {
        "deploys": {
            "httpUrl": "https://mcp.example.com/mcp",
            "headers": {"Authorization": "Bearer s"},
            "via": "gemini",
        },
        "local": {"command": "no-such-server"},
    }
    config.write_text(json.dumps({"mcpServers": servers}))
    settings = ServerSettings(state="memory", allow_dirs=(tmp_path,), mcp_config=config)
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as client:
        started = await client.call_tool("start_deep_research", {"query": "q", "mcp_servers": ["deploys"]})
        assert not started.is_error, text_of(started)
        relayed = await client.call_tool("start_deep_research", {"query": "q", "mcp_servers": ["local"]})
        unknown = await client.call_tool("start_deep_research", {"query": "q", "mcp_servers": ["nope"]})
    [body] = [r["body"] for r in requests_log(emulator)]
    assert body["tools"] == [
        {"type": "code_execution"},
        {"type": "google_search"},
        {"type": "url_context"},
        {
            "type": "mcp_server",
            "name": "deploys",
            "url": "https://mcp.example.com/mcp",
            "headers": {"Authorization": "Bearer s"},
        },
    ]
    assert relayed.is_error and '"via": "gemini"' in text_of(relayed)
    assert unknown.is_error and "No MCP server 'nope'" in text_of(unknown)


async def test_a_name_that_climbs_or_is_cut_reads_as_unknown(client: Client) -> None:
    """Dot segments never reach the API (they would walk to another store), and never as a crash."""
    store = data(await store_tool(client, "create", name="x"))["store"]["name"]
    for action, key, name in [
        ("get", "store", "fileSearchStores/../other"),
        ("get", "store", "../other"),
        ("delete_document", "name", f"{store}/documents/../../other/documents/d"),
        ("delete_document", "name", f"{store}/documents/"),
    ]:
        result = await store_tool(client, action, **{key: name})
        assert result.is_error and "No File Search store" in text_of(result), (name, text_of(result))

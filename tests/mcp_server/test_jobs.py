"""Long work: Deep Research start/poll/cancel, paging, soft deadline of ask_gemini, announcements."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.subscriptions import ResourceUpdated
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

from .conftest import quick_runs, requests_log

pytestmark = pytest.mark.anyio


async def start_research(client: Client, **extra: Any) -> dict[str, Any]:
    result = data(
        await client.call_tool("start_deep_research", {"query": "History of the teal colour", **extra})
    )
    assert result["status"] == "in_progress"  # returned at once: the research is still running
    assert result["resource"] == f"gemini://interactions/{result['interaction_id']}"
    return result


async def test_research_runs_in_background_and_poll_returns_on_completion(client: Client) -> None:
    started = await start_research(client)
    notes: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")

    t0 = time.monotonic()
    polled = data(
        await client.call_tool(
            "poll_interaction",
            {"interaction_id": started["interaction_id"], "wait_seconds": 30},
            progress_callback=on_progress,
        )
    )
    assert time.monotonic() - t0 < 10, "poll must return when the job completes, not at the end of the wait"
    assert polled["status"] == "completed" and polled["done"] is True
    assert polled["citations"] and all(c["url"].startswith("http") for c in polled["citations"])
    assert polled["progress"], "thought summaries are reported as progress"
    assert notes, "progress notifications were sent while waiting"
    report = await client.read_resource(started["resource"])
    assert "## Sources" in report.contents[0].text  # type: ignore[union-attr]


async def test_paging_returns_the_whole_report_exactly_once(client: Client, emulator: Starlette) -> None:
    quick_runs(emulator)
    started = await start_research(client)
    first = await client.call_tool(
        "poll_interaction",
        {"interaction_id": started["interaction_id"], "wait_seconds": 30, "max_chars": 500},
    )
    meta = data(first)
    assert meta["done"]
    total = meta["total_chars"]
    pieces: list[str] = []
    offset = 0
    while True:
        page = await client.call_tool(
            "poll_interaction",
            {
                "interaction_id": started["interaction_id"],
                "offset": offset,
                "max_chars": 500,
                "wait_seconds": 0,
            },
        )
        info = data(page)
        report = await client.read_resource(started["resource"])
        whole = report.contents[0].text  # type: ignore[union-attr]
        pieces.append(whole[offset : offset + 500])
        assert whole[offset : offset + 500] in text_of(page)
        if info["next_offset"] is None:
            break
        offset = info["next_offset"]
    assert "".join(pieces) == whole and len(whole) == total and len(pieces) > 1


async def test_cancel_reports_cancelled(client: Client) -> None:
    started = await start_research(client)
    cancelled = data(
        await client.call_tool("cancel_interaction", {"interaction_id": started["interaction_id"]})
    )
    assert cancelled["status"] == "cancelled"
    polled = data(
        await client.call_tool(
            "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 0}
        )
    )
    assert polled["status"] == "cancelled" and polled["done"]


async def test_unknown_interaction_is_reported(client: Client) -> None:
    result = await client.call_tool("poll_interaction", {"interaction_id": "v1_nope", "wait_seconds": 0})
    assert result.is_error and "No background interaction" in text_of(result)


async def test_follow_up_research_chains_on_the_report(client: Client, emulator: Starlette) -> None:
    quick_runs(emulator)
    first = await start_research(client)
    await client.call_tool(
        "poll_interaction", {"interaction_id": first["interaction_id"], "wait_seconds": 30}
    )
    second = await start_research(client, query="Go deeper on dyes", conversation=first["conversation"])
    body = requests_log(emulator)[-1]["body"]
    assert body["previous_interaction_id"] == first["interaction_id"]
    assert body["background"] is True and body["agent_config"]["thinking_summaries"] == "auto"
    assert second["conversation"] == first["conversation"]


async def test_deprecated_research_agent_is_substituted(client: Client, emulator: Starlette) -> None:
    started = await start_research(client, agent="deep-research-pro-preview-12-2025")
    assert started["agent"] == "deep-research-preview-04-2026" and started["notes"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_ask_past_its_deadline_returns_a_handle_then_the_answer(
    live_emulator: ServerThread, settings: ServerSettings, mode: str
) -> None:
    """On a real socket, as from Gemini: an in-process transport hands a stream over only once it ended."""
    server = build_server(settings, client_config=ClientConfig(base_url=live_emulator.url))
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        await ask_past_deadline(client)


async def ask_past_deadline(client: Client) -> None:
    result = data(
        await client.call_tool(
            "ask_gemini", {"prompt": "Slow one [[think 2]] my pet is Tom", "wait_seconds": 1}
        )
    )
    assert result["status"] == "in_progress"
    polled = data(
        await client.call_tool(
            "poll_interaction", {"interaction_id": result["interaction_id"], "wait_seconds": 20}
        )
    )
    assert polled["status"] == "completed" and polled["total_chars"] > 0
    follow = await client.call_tool(
        "ask_gemini", {"prompt": "What is my pet?", "conversation": result["conversation"]}
    )
    assert "Your pet is Tom" in text_of(follow)


async def test_completion_reaches_a_2026_listener(emulator: Starlette, settings: ServerSettings) -> None:
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server) as c:
        started = await start_research(c)
        got: list[str] = []
        with anyio.fail_after(20):
            async with c.listen(resource_subscriptions=[started["resource"]]) as events:
                async for event in events:
                    if isinstance(event, ResourceUpdated):
                        got.append(event.uri)
                        break
        assert got == [started["resource"]]

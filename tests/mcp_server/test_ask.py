"""ask_gemini through a real MCP client (both protocol eras) against the in-process emulator."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from tests.helpers.results import data, text_of

from .conftest import requests_log

pytestmark = pytest.mark.anyio


async def test_follow_up_uses_the_kept_thread(client: Client) -> None:
    first = data(await client.call_tool("ask_gemini", {"prompt": "My favourite colour is teal."}))
    assert first["conversation"].startswith("conv_")
    assert first["turn"] == 1 and first["model"] == "gemini-3.5-flash" and first["status"] == "completed"
    assert first["usage"]["total_tokens"] > 0
    second = await client.call_tool(
        "ask_gemini", {"prompt": "What is my favourite colour?", "conversation": first["conversation"]}
    )
    assert "Your favourite colour is teal" in text_of(second)
    assert data(second)["turn"] == 2
    assert first["conversation"] in text_of(second)


async def test_second_turn_chains_and_resends_settings_on_the_wire(
    client: Client, emulator: Starlette
) -> None:
    first = data(
        await client.call_tool(
            "ask_gemini",
            {
                "prompt": "Hello",
                "conversation": "wire",
                "system_instruction": "Answer like a pirate.",
                "tools": ["google_search"],
                "thinking_level": "low",
            },
        )
    )
    second = data(await client.call_tool("ask_gemini", {"prompt": "And now?", "conversation": "wire"}))
    assert second["conversation"] == first["conversation"] and second["name"] == "wire"
    posts = [r["body"] for r in requests_log(emulator)]
    assert len(posts) == 2
    assert "previous_interaction_id" not in posts[0]
    assert posts[1]["previous_interaction_id"] == first["interaction_id"]
    for body in posts:
        assert body["system_instruction"] == "Answer like a pirate."
        assert body["tools"] == [{"type": "google_search"}]
        assert body["generation_config"]["thinking_level"] == "low"
        assert body["model"] == "gemini-3.5-flash"


async def test_call_overrides_replace_stored_settings(client: Client, emulator: Starlette) -> None:
    await client.call_tool(
        "ask_gemini", {"prompt": "a", "conversation": "o", "system_instruction": "Be brief."}
    )
    await client.call_tool(
        "ask_gemini", {"prompt": "b", "conversation": "o", "system_instruction": "Be verbose."}
    )
    await client.call_tool("ask_gemini", {"prompt": "c", "conversation": "o"})
    posts = [r["body"] for r in requests_log(emulator)]
    assert [p["system_instruction"] for p in posts] == ["Be brief.", "Be verbose.", "Be verbose."]


async def test_deprecated_model_is_substituted_with_a_note(client: Client, emulator: Starlette) -> None:
    result = data(await client.call_tool("ask_gemini", {"prompt": "hi", "model": "gemini-2.5-pro"}))
    assert result["model"] == "gemini-3.5-flash"
    assert any("gemini-2.5-pro" in n and "gemini-3.5-flash" in n for n in result["notes"])
    assert requests_log(emulator)[0]["body"]["model"] == "gemini-3.5-flash"


async def test_unknown_model_passes_through_with_a_note(client: Client, emulator: Starlette) -> None:
    result = data(await client.call_tool("ask_gemini", {"prompt": "hi", "model": "gemini-9-ultra"}))
    assert result["model"] == "gemini-9-ultra"
    assert result["notes"]
    assert requests_log(emulator)[0]["body"]["model"] == "gemini-9-ultra"


async def test_response_schema_gives_json(client: Client) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    result = data(
        await client.call_tool("ask_gemini", {"prompt": "Capital of France?", "response_schema": schema})
    )
    assert isinstance(result["data"], dict) and isinstance(result["data"]["city"], str)


async def test_progress_carries_thought_summaries(client: Client) -> None:
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    result = await client.call_tool(
        "ask_gemini", {"prompt": "[[think 2]] Think about boats."}, progress_callback=on_progress
    )
    assert not result.is_error
    assert any(m.startswith("Thinking:") for m in messages), messages


async def test_a_quick_answer_sends_no_progress(settings: ServerSettings) -> None:
    """Within half a second a note helps nobody, and it would turn the response into an event stream."""
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    emulator = create_app(EmulatorConfig(step_delay=0.0))
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:
        result = await c.call_tool(
            "ask_gemini", {"prompt": "Think about boats."}, progress_callback=on_progress
        )
    assert not result.is_error and messages == []


async def test_unknown_conversation_id_says_how_to_list(client: Client) -> None:
    result = await client.call_tool("ask_gemini", {"prompt": "x", "conversation": "conv_doesnotexist"})
    assert result.is_error
    assert "list_conversations" in text_of(result)


async def test_ten_concurrent_asks_become_ten_chained_turns(
    emulator: Starlette, settings: ServerSettings
) -> None:
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server) as c:
        first = data(await c.call_tool("ask_gemini", {"prompt": "start", "conversation": "busy"}))
        results: list[dict[str, Any]] = []

        async def one(i: int) -> None:
            results.append(data(await c.call_tool("ask_gemini", {"prompt": f"q{i}", "conversation": "busy"})))

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(one, i)
        assert sorted(r["turn"] for r in results) == list(range(2, 12))
        posts = [r["body"] for r in requests_log(emulator)][1:]
        previous = [p["previous_interaction_id"] for p in posts]
        by_turn = {r["turn"]: r["interaction_id"] for r in results} | {1: first["interaction_id"]}
        assert previous == [by_turn[t] for t in range(1, 11)]
        listed = data(await c.call_tool("list_conversations", {}))
        assert listed["conversations"][0]["turns"] == 11


async def test_a_plain_turn_reads_no_jobs(
    emulator: Starlette, settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a background turn still runs on the head is on the conversation record: asking costs no
    scan of unfinished jobs (there used to be one per ask) and no job lookup."""
    from gemini_interactions_mcp.state import MemoryStore

    calls: list[str] = []
    for name in ("unfinished_jobs", "get_job"):
        original = getattr(MemoryStore, name)

        def counted(
            self: MemoryStore, *args: Any, _name: str = name, _original: Any = original, **kwargs: Any
        ) -> Any:
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(MemoryStore, name, counted)
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:
        for prompt in ("one", "two", "three"):
            assert not (await c.call_tool("ask_gemini", {"prompt": prompt, "conversation": "c"})).is_error
    assert calls == ["unfinished_jobs"]  # once, when the services were wired, to resume watchers

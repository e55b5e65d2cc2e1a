"""Our client's request bodies validate against the SDK's request models; our output_text matches the SDK's.

Our `InteractionsClient` runs against the emulator in-process (httpx2.ASGITransport); the bodies it sent
are read back from the emulator's request log and checked strictly against the SDK's
`CreateModelInteraction` / `CreateAgentInteraction` (see `sdk_checks.validate_create_body`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from google.genai._gaos.types.interactions import Interaction as SDKInteraction
from google.genai._gaos.utils.serializers import unmarshal

from gemini_interactions_mcp.emulator import Emulator, create_app
from tests.helpers.waiting import async_wait_until

from .conftest import FAST
from .sdk_checks import validate_create_body

gemini = pytest.importorskip("gemini_interactions_mcp.gemini")

pytestmark = pytest.mark.anyio
MODEL = "gemini-3.5-flash"
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
async def ours() -> AsyncIterator[tuple[Any, Emulator]]:
    """Our client wired to a fresh in-process emulator."""
    app = create_app(FAST.model_copy(update={"research_seconds": 0.2, "agent_seconds": 0.1}))
    config = gemini.ClientConfig(base_url="http://emulator.test", api_key="test-key", api_version="v1beta")
    async with gemini.InteractionsClient(config, transport=httpx2.ASGITransport(app=app)) as client:
        yield client, app.state.emulator


def sent_bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [
        r["body"] for r in emu.requests() if r["method"] == "POST" and r["path"].endswith("/interactions")
    ]


def sdk_view(raw: dict[str, Any]) -> SDKInteraction:
    parsed: SDKInteraction = unmarshal(raw, SDKInteraction, allow_unknown_union_variants=True)
    return parsed


async def test_unary_tools_and_function_result_bodies(ours: tuple[Any, Emulator]) -> None:
    """Unary create with tools, then the function_result continuation: both bodies validate."""
    client, emu = ours
    asked = await client.create(
        {"model": MODEL, "input": "get_weather in Rome", "tools": [WEATHER, {"type": "google_search"}]}
    )
    call = asked.steps[-1]
    await client.create(
        {
            "model": MODEL,
            "previous_interaction_id": asked.id,
            "tools": [WEATHER],
            "input": [
                {"type": "function_result", "call_id": call.id, "name": call.name, "result": {"t": 20}}
            ],
        }
    )
    bodies = sent_bodies(emu)
    assert len(bodies) == 2
    for body in bodies:
        validate_create_body(body)


async def test_stream_background_and_response_format_bodies(ours: tuple[Any, Emulator]) -> None:
    """Stream, background and response_format (schema) bodies validate."""
    client, emu = ours
    async with client.stream_create(
        {"model": MODEL, "input": "hi", "generation_config": {"thinking_summaries": "auto"}}
    ) as stream:
        async for _ in stream:
            pass
    await client.create({"model": MODEL, "input": "[[think 0.1]] later", "background": True})
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    await client.create(
        {
            "model": MODEL,
            "input": "count",
            "response_format": {"type": "text", "mime_type": "application/json", "schema": schema},
        }
    )
    bodies = sent_bodies(emu)
    assert len(bodies) == 3 and bodies[0].get("stream") is True and bodies[1].get("background") is True
    for body in bodies:
        validate_create_body(body)


async def test_agent_bodies_with_agent_config_and_environment(ours: tuple[Any, Emulator]) -> None:
    """Deep Research (agent_config) and managed-agent (environment) bodies validate."""
    client, emu = ours
    await client.create(
        {
            "agent": "deep-research-preview-04-2026",
            "input": "Rain",
            "background": True,
            "agent_config": {"type": "deep-research", "thinking_summaries": "auto"},
        }
    )
    await client.create(
        {
            "agent": "antigravity-preview-05-2026",
            "input": "ls",
            "background": True,
            "environment": "remote",
            "agent_config": {"type": "antigravity", "max_total_tokens": "2000"},
        }
    )
    bodies = sent_bodies(emu)
    assert len(bodies) == 2
    for body in bodies:
        validate_create_body(body)


async def test_output_text_matches_sdk(ours: tuple[Any, Emulator]) -> None:
    """Our `output_text` equals the SDK's for the same stored responses (plain, tools, research)."""
    client, _ = ours
    created = [
        await client.create(
            {"model": MODEL, "input": "my pet is Tom", "generation_config": {"thinking_summaries": "auto"}}
        ),
        await client.create(
            {
                "model": MODEL,
                "input": "see https://example.com",
                "tools": [{"type": "google_search"}, {"type": "url_context"}],
            }
        ),
        await client.create({"model": MODEL, "input": "get_weather please", "tools": [WEATHER]}),
    ]
    research = await client.create(
        {"agent": "deep-research-preview-04-2026", "input": "Fog", "background": True}
    )

    async def research_done() -> bool:
        return bool((await client.get(research.id)).is_terminal)

    await async_wait_until(research_done, what="the research run to finish")
    for interaction_id in [c.id for c in created] + [research.id]:
        ours_got = await client.get(interaction_id)
        raw = ours_got.model_dump(mode="json", by_alias=True, exclude_none=True)
        # No answer text: ours gives None, the SDK type "" (its client wrapper leaves the field unset).
        assert (gemini.output_text(ours_got.steps) or "") == (sdk_view(raw).output_text or "")
        assert ours_got.status in ("completed", "requires_action")

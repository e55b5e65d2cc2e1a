"""Every field the emulator puts on the wire is one the SDK declares for that object.

The SDK keeps undeclared fields (`extra="allow"`), so they never break parsing, but each one means the
emulator's shape differs from the upstream schema the SDK was generated from. `Interaction.object` is
the one documented exception (spec section 5.1).
"""

from __future__ import annotations

from typing import Any

from google import genai

from .sdk_checks import assert_declared, assert_known

MODEL = "gemini-3.5-flash"
RESEARCH = "deep-research-preview-04-2026"
TOOLS: list[dict[str, Any]] = [
    {"type": "google_search"},
    {"type": "code_execution"},
    {"type": "url_context"},
    {"type": "function", "name": "lookup", "description": "Look up", "parameters": {"type": "object"}},
]
CONFIG: dict[str, Any] = {
    "model": MODEL,
    "input": "search https://example.com/z",
    "tools": TOOLS,
    "system_instruction": "Be exact.",
    "generation_config": {"thinking_summaries": "auto", "max_output_tokens": 500},
    "response_format": {"type": "text", "mime_type": "text/plain"},
}


def test_interaction_resource_fields_are_declared(sdk: genai.Client) -> None:
    """create, get (with include_input) and cancel responses carry only SDK-declared fields."""
    created = sdk.interactions.create(**CONFIG)
    assert_known(created, "create")
    assert_declared(created, "create")
    assert_declared(sdk.interactions.get(created.id, include_input=True), "get")
    research = sdk.interactions.create(agent=RESEARCH, input="x", background=True)
    assert_declared(research, "background create")
    assert_declared(sdk.interactions.cancel(research.id), "cancel")


def test_stream_event_fields_are_declared(sdk: genai.Client) -> None:
    """Every SSE event, step shell and delta carries only SDK-declared fields."""
    events = list(sdk.interactions.create(**CONFIG, stream=True))
    assert_known(events, "stream")
    assert_declared(events, "stream")


def test_agent_stream_event_fields_are_declared(sdk: genai.Client) -> None:
    """A Deep Research stream (with agent_config) carries only SDK-declared fields."""
    events = list(
        sdk.interactions.create(
            agent=RESEARCH,
            input="Tea",
            background=True,
            stream=True,
            agent_config={"type": "deep-research", "thinking_summaries": "auto"},
        )
    )
    assert_known(events, "research stream")
    assert_declared(events, "research stream")


def test_agent_resources_fields_are_declared(sdk: genai.Client) -> None:
    """Agent create/list/get responses carry only SDK-declared fields."""
    agent = sdk.agents.create(
        id="declared", base_agent="antigravity-preview-05-2026", tools=[{"type": "url_context"}]
    )
    assert_declared(agent, "agent")
    assert_declared(sdk.agents.list(), "agent list")
    assert_declared(sdk.agents.get("declared"), "agent get")


def test_managed_agent_stream_event_fields_are_declared(sdk: genai.Client) -> None:
    """A managed-agent stream in a remote environment carries only SDK-declared fields."""
    events = list(
        sdk.interactions.create(
            agent="antigravity-preview-05-2026",
            input="List files",
            environment="remote",
            background=True,
            stream=True,
        )
    )
    assert_known(events, "agent stream")
    assert_declared(events, "agent stream")

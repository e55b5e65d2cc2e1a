"""SSE through the SDK: create streams, GET streams, resumption by `last_event_id`, delta reassembly."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from google import genai
from google.genai._gaos.types.interactions import (
    ArgumentsDelta,
    InteractionCompletedEvent,
    InteractionCreatedEvent,
    InteractionStatusUpdate,
    StepDelta,
    StepStart,
    StepStop,
    TextDelta,
)

from .conftest import Served
from .sdk_checks import assert_known, emulator_text

MODEL = "gemini-3.5-flash"
RESEARCH = "deep-research-preview-04-2026"
EVENT_TYPES = {
    "interaction.created": InteractionCreatedEvent,
    "interaction.status_update": InteractionStatusUpdate,
    "step.start": StepStart,
    "step.delta": StepDelta,
    "step.stop": StepStop,
    "interaction.completed": InteractionCompletedEvent,
}


def text_of(events: list[Any]) -> str:
    """The answer rebuilt from `text` deltas of the last model_output step (as a streaming client does)."""
    outputs = [e.index for e in events if isinstance(e, StepStart) and e.step.type == "model_output"]
    last = outputs[-1]
    return "".join(
        e.delta.text
        for e in events
        if isinstance(e, StepDelta) and e.index == last and isinstance(e.delta, TextDelta)
    )


def check_sequence(events: list[Any], *, ids: bool = True) -> None:
    """Section 8.2 order: created first, completed last, each step framed by start/stop, known classes;
    event ids on every event of a background stream (`ids`), on none of another."""
    assert_known(events, "stream")
    for event in events:
        assert isinstance(event, EVENT_TYPES[event.event_type]), event
    assert isinstance(events[0], InteractionCreatedEvent)
    assert isinstance(events[-1], InteractionCompletedEvent)
    open_index: int | None = None
    for event in events:
        if isinstance(event, StepStart):
            assert open_index is None
            open_index = event.index
        elif isinstance(event, StepDelta):
            assert event.index == open_index
        elif isinstance(event, StepStop):
            assert event.index == open_index
            open_index = None
    assert open_index is None
    seen = [e.event_id for e in events]
    if ids:
        assert all(seen) and len(set(seen)) == len(seen)
    else:
        assert seen == [None] * len(seen)


@pytest.mark.anyio
async def test_create_stream_parses_and_rebuilds_text(served: Served) -> None:
    """An async create stream parses into known event/delta types; the rebuilt text equals the stored one."""
    client = served.client()
    stream = await client.aio.interactions.create(
        model=MODEL,
        input="my dog is Rex. Tell me a long story about comets and tides, please.",
        generation_config={"thinking_summaries": "auto"},
        stream=True,
    )
    events = [event async for event in stream]
    check_sequence(events, ids=False)
    interaction_id = events[0].interaction.id
    completed = events[-1].interaction
    assert completed.status == "completed" and completed.id == interaction_id
    assert completed.usage is not None and completed.usage.total_tokens
    delta_kinds = {e.delta.type for e in events if isinstance(e, StepDelta)}
    assert {"text", "thought_summary", "thought_signature"} <= delta_kinds
    stored = served.raw_get(interaction_id)
    assert text_of(events) == emulator_text(stored)
    got = await client.aio.interactions.get(interaction_id)
    assert got.output_text == text_of(events)
    [post] = [r for r in served.requests() if r["method"] == "POST"]
    assert post["body"]["stream"] is True


def test_get_stream_resumes_after_last_event_id(sdk: genai.Client) -> None:
    """`get(stream=True, last_event_id=...)` yields exactly the events after that id."""
    created = sdk.interactions.create(agent=RESEARCH, input="Volcanoes", background=True)
    full = list(sdk.interactions.get(created.id, stream=True))  # waits for the run (research_seconds)
    check_sequence(full)
    assert full[-1].interaction.status == "completed"
    cut = 4
    rest = list(sdk.interactions.get(created.id, stream=True, last_event_id=full[cut - 1].event_id))
    assert_known(rest, "resumed stream")
    assert [e.event_id for e in rest] == [e.event_id for e in full[cut:]]
    assert text_of(full) == sdk.interactions.get(created.id).output_text


def test_background_create_stream(sdk: genai.Client) -> None:
    """`stream=True` with `background=True` streams the run live and ends `completed`."""
    started = time.monotonic()
    events = list(sdk.interactions.create(agent=RESEARCH, input="Auroras", background=True, stream=True))
    check_sequence(events)
    assert events[-1].interaction.status == "completed"
    assert events[-1].interaction.agent == RESEARCH
    assert time.monotonic() - started < 5


def test_function_call_stream_arguments(sdk: genai.Client) -> None:
    """A streamed function call: shell with empty arguments, `arguments_delta` pieces that join to JSON."""
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a place",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
            },
        }
    ]
    events = list(
        sdk.interactions.create(model=MODEL, input="get_weather for Oslo", tools=tools, stream=True)
    )
    check_sequence(events, ids=False)
    thought, start = [e for e in events if isinstance(e, StepStart)]
    assert thought.step.type == "thought"
    assert start.step.type == "function_call" and start.step.name == "get_weather"
    deltas = [e.delta for e in events if isinstance(e, StepDelta) and e.index == start.index]
    assert all(isinstance(delta, ArgumentsDelta) for delta in deltas)
    pieces = [delta.arguments for delta in deltas]
    assert events[-1].interaction.status == "requires_action"
    stored = sdk.interactions.get(events[0].interaction.id)
    assert json.loads("".join(pieces)) == stored.steps[-1].arguments


def test_server_tool_stream_deltas(sdk: genai.Client) -> None:
    """Server-tool steps stream as `*_call`/`*_result` deltas the SDK knows, plus annotation deltas."""
    tools: list[dict[str, Any]] = [
        {"type": "google_search"},
        {"type": "code_execution"},
        {"type": "url_context"},
    ]
    events = list(
        sdk.interactions.create(model=MODEL, input="read https://example.com/x", tools=tools, stream=True)
    )
    check_sequence(events, ids=False)
    kinds = {e.delta.type for e in events if isinstance(e, StepDelta)}
    expected = {
        "google_search_call",
        "google_search_result",
        "code_execution_call",
        "code_execution_result",
        "url_context_call",
        "url_context_result",
        "text",
        "text_annotation_delta",
    }
    assert expected <= kinds

"""The strict request validator used for our client's bodies: the SDK's own bodies pass, mistakes fail.

Bodies are read back from the emulator's request log after the official SDK sent them, so they are
exactly what travels on the wire.
"""

from __future__ import annotations

from typing import Any

import pytest
from google import genai

from .conftest import Served
from .sdk_checks import validate_create_body

MODEL = "gemini-3.5-flash"
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def test_sdk_sent_bodies_validate(sdk: genai.Client, served: Served) -> None:
    """Every create body the SDK itself sent (model, tools, stream, agent) passes the strict check."""
    tools = [WEATHER, {"type": "url_context"}]
    asked = sdk.interactions.create(model=MODEL, input="get_weather now", tools=tools)
    call = (asked.steps or [])[-1]
    sdk.interactions.create(
        model=MODEL,
        previous_interaction_id=asked.id,
        tools=[WEATHER],
        input=[{"type": "function_result", "call_id": call.id, "name": "get_weather", "result": "sunny"}],
    )
    list(sdk.interactions.create(model=MODEL, input="hi", stream=True, generation_config={"seed": 3}))
    sdk.interactions.create(
        model=MODEL,
        input=[{"type": "text", "text": "x"}],
        response_format={"type": "text", "mime_type": "application/json", "schema": {"type": "object"}},
    )
    sdk.interactions.create(
        agent="antigravity-preview-05-2026",
        input="x",
        environment="remote",
        background=True,
        agent_config={"type": "antigravity", "max_total_tokens": 100},
    )
    bodies = [r["body"] for r in served.requests() if r["method"] == "POST"]
    assert len(bodies) == 5
    for body in bodies:
        validate_create_body(body)


@pytest.mark.parametrize(
    "body",
    [
        {"model": MODEL, "input": "x", "stream": "true"},
        {"model": MODEL, "input": "x", "generation_config": {"max_output_tokens": "5"}},
        {"model": MODEL, "input": "x", "generation_config": {"max_tokens": 5}},
        {"model": MODEL, "input": "x", "tools": [{"type": "function", "nam": "f"}]},
        {"model": MODEL, "input": "x", "tools": [{"type": "googlesearch"}]},
        {"model": MODEL, "input": "x", "previous_interaction": "v1_a"},
        {"model": MODEL, "input": [{"type": "function_result", "callid": "a", "result": "r"}]},
        {"model": MODEL, "input": "x", "response_format": {"type": "text", "mimetype": "application/json"}},
        {"agent": "reviewer", "input": "x", "agent_config": {"type": "antigravity", "max_tokens": 1}},
        {"agent": "reviewer", "input": "x", "environment": 3},
        {"model": "", "input": "x"},
    ],
)
def test_mistakes_fail_validation(body: dict[str, Any]) -> None:
    """A misspelt field, a wrong type or an unknown variant is caught by the strict check."""
    with pytest.raises((AssertionError, ValueError)):
        validate_create_body(body)

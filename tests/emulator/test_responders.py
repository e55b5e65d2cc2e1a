"""The deterministic model: thinking, function calling, server tools, structured output."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import pytest

from gemini_interactions_mcp.emulator.schema_gen import instance

pytestmark = pytest.mark.anyio
MODEL = "gemini-3.5-flash"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a place",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["location"],
    },
}


async def create(client: httpx2.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("model", MODEL)
    response = await client.post("/v1beta/interactions", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_thinking_summaries_produce_thought_step(client: httpx2.AsyncClient) -> None:
    data = await create(client, input="why?", generation_config={"thinking_summaries": "auto"})
    thought = data["steps"][0]
    assert thought["type"] == "thought" and thought["signature"]
    assert thought["summary"][0]["type"] == "text" and thought["summary"][0]["text"]
    assert data["usage"]["total_thought_tokens"] > 0
    plain = await create(client, input="why?", generation_config={"thinking_summaries": "none"})
    assert [s["type"] for s in plain["steps"]] == ["thought", "model_output"]


@pytest.mark.parametrize(
    ("model", "thinks"),
    [
        ("gemini-3.5-flash", True),
        ("gemini-3.1-pro-preview", True),
        ("gemini-3.1-flash-lite", True),
        ("gemini-3.1-flash-tts-preview", False),
        ("gemma-4-31b-it", False),
    ],
)
async def test_thinking_models_always_sign_a_thought(
    client: httpx2.AsyncClient, model: str, thinks: bool
) -> None:
    """Real thinking models always emit a signed `thought` step; its summary only when asked for."""
    data = await create(client, model=model, input="why?")
    thoughts = [s for s in data["steps"] if s["type"] == "thought"]
    if thinks:
        (thought,) = thoughts
        assert set(thought) == {"type", "signature"} and thought["signature"]
    else:
        assert thoughts == []


async def test_function_call_round_trip(client: httpx2.AsyncClient) -> None:
    first = await create(client, input="Use get_weather for Boston", tools=[WEATHER])
    assert first["status"] == "requires_action"
    thought, call = first["steps"]
    assert thought["type"] == "thought" and thought["signature"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert re.fullmatch(r"[a-z0-9]{8}", call["id"])
    assert call["arguments"] == {"location": "example location", "unit": "c"}
    result = {"content": [{"type": "text", "text": '{"weather":"Sunny and 22C"}'}]}
    second = await create(
        client,
        previous_interaction_id=first["id"],
        tools=[WEATHER],
        input=[{"type": "function_result", "call_id": call["id"], "name": "get_weather", "result": result}],
    )
    assert second["status"] == "completed"
    text = second["steps"][-1]["content"][0]["text"]
    assert 'The function get_weather returned: {"weather":"Sunny and 22C"}' in text
    assert "This is turn 1" in text  # handing results back continues the turn that asked for them
    third = await create(client, previous_interaction_id=second["id"], input="And tomorrow?")
    assert "This is turn 2" in third["steps"][-1]["content"][0]["text"]


async def test_function_result_as_a_block_of_user_input(client: httpx2.AsyncClient) -> None:
    """An SDK sends the result as a content block inside a `user_input` step (full history, no
    previous id); the real service accepts and answers it, and so must the emulator."""
    first = await create(client, input="Use get_weather for Boston", tools=[WEATHER])
    thought, call = first["steps"]
    result = {"type": "function_result", "call_id": call["id"], "name": "get_weather", "result": "Sunny"}
    history = [
        {"type": "user_input", "content": [{"type": "text", "text": "Use get_weather for Boston"}]},
        thought,
        call,
        {"type": "user_input", "content": [result]},
    ]
    answered = await create(client, tools=[WEATHER], input=history)
    assert answered["status"] == "completed"
    assert "The function get_weather returned: Sunny" in answered["steps"][-1]["content"][0]["text"]
    chained = await create(
        client,
        previous_interaction_id=first["id"],
        tools=[WEATHER],
        input=[{"type": "user_input", "content": [result]}],
    )
    assert "get_weather returned: Sunny" in chained["steps"][-1]["content"][0]["text"]
    assert "This is turn 1" in chained["steps"][-1]["content"][0]["text"]
    unmatched = {**result, "call_id": "zzzzzzzz"}
    response = await client.post(
        "/v1beta/interactions",
        json={
            "model": MODEL,
            "previous_interaction_id": first["id"],
            "input": [{"type": "user_input", "content": [unmatched]}],
        },
    )
    assert response.status_code == 400 and "call_id 'zzzzzzzz'" in response.json()["error"]["message"]


async def test_function_result_must_match_a_call(client: httpx2.AsyncClient) -> None:
    first = await create(client, input="Use get_weather", tools=[WEATHER])
    response = await client.post(
        "/v1beta/interactions",
        json={
            "model": MODEL,
            "previous_interaction_id": first["id"],
            "input": [{"type": "function_result", "call_id": "zzzzzzzz", "result": "x"}],
        },
    )
    assert response.status_code == 400
    assert "call_id 'zzzzzzzz'" in response.json()["error"]["message"]


async def test_no_call_when_function_not_mentioned(client: httpx2.AsyncClient) -> None:
    data = await create(client, input="Just chat", tools=[WEATHER])
    assert data["status"] == "completed"


async def test_server_tools_steps_and_citations(client: httpx2.AsyncClient) -> None:
    tools = [{"type": "google_search"}, {"type": "code_execution"}, {"type": "url_context"}]
    data = await create(client, input="Summarise https://example.net/page now", tools=tools)
    kinds = [s["type"] for s in data["steps"]]
    assert kinds == [
        "thought",
        "google_search_call",
        "google_search_result",
        "code_execution_call",
        "code_execution_result",
        "url_context_call",
        "url_context_result",
        "model_output",
    ]
    steps = data["steps"][1:]
    for call, result in ((steps[0], steps[1]), (steps[2], steps[3]), (steps[4], steps[5])):
        assert result["call_id"] == call["id"]
    assert steps[0]["arguments"]["queries"] == ["Summarise https://example.net/page now"]
    assert steps[3]["result"] == "3\n"
    assert steps[4]["arguments"]["urls"] == ["https://example.net/page"]
    block = steps[-1]["content"][0]
    (citation,) = block["annotations"]
    assert citation["type"] == "url_citation" and citation["url"].startswith("https://")
    cited = block["text"].encode()[citation["start_index"] : citation["end_index"]].decode()
    assert cited.startswith("Search found a page about")
    assert "The code printed 3." in block["text"]
    assert data["usage"]["grounding_tool_count"] == [{"type": "google_search", "count": 1}]


async def test_response_format_json_schema(client: httpx2.AsyncClient) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "year": {"type": "integer", "minimum": 1900},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "kind": {"enum": ["book", "film"]},
        },
        "required": ["title", "year"],
    }
    fmt = {"type": "text", "mime_type": "application/json", "schema": schema}
    data = await create(client, input="Give me a book", response_format=fmt)
    value = json.loads(data["steps"][-1]["content"][0]["text"])
    assert value == {
        "title": "example title",
        "year": 1900,
        "tags": ["example tags", "example tags"],
        "kind": "book",
    }


def test_schema_generator_handles_refs_unions_and_formats() -> None:
    schema = {
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "type": "object",
        "properties": {
            "p": {"$ref": "#/$defs/Point"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
            "when": {"type": "string", "format": "date-time"},
            "short": {"type": "string", "maxLength": 3},
            "nullable": {"type": ["null", "integer"], "exclusiveMinimum": 5},
            "fixed": {"const": 7},
            "merged": {
                "allOf": [
                    {"properties": {"a": {"type": "integer"}}},
                    {"properties": {"b": {"type": "boolean"}}},
                ]
            },
        },
    }
    assert instance(schema) == {
        "p": {"x": 1.0},
        "maybe": True,
        "when": "2026-01-01T00:00:00Z",
        "short": "exa",
        "nullable": 6,
        "fixed": 7,
        "merged": {"a": 1, "b": True},
    }


async def test_blocked_directive_fails_like_a_safety_block(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1beta/interactions", json={"model": "gemini-3.5-flash", "input": "tell me [[blocked]]"}
    )
    body = response.json()
    assert body["status"] == "failed"
    assert "safety" in body["steps"][-1]["error"]["message"].lower()

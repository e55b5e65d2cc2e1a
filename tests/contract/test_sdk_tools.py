"""Tools and structured output through the SDK: function-calling round trips, server tools, schemas."""

from __future__ import annotations

import json
import re
from typing import Any

from google import genai
from google.genai._gaos.types.interactions import (
    CodeExecutionCallStep,
    CodeExecutionResultStep,
    FunctionCallStep,
    GoogleSearchCallStep,
    GoogleSearchResultStep,
    MCPServerToolCallStep,
    MCPServerToolResultStep,
    ModelOutputStep,
    StepDelta,
    ThoughtStep,
    URLCitation,
    URLContextCallStep,
    URLContextResultStep,
)

from .conftest import Served
from .sdk_checks import assert_known, emulator_text

MODEL = "gemini-3.5-flash"
WEATHER: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a location",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["location"],
    },
}


def test_function_calling_round_trip(sdk: genai.Client, served: Served) -> None:
    """requires_action with a FunctionCallStep, then a function_result turn completes with the result."""
    asked = sdk.interactions.create(model=MODEL, input="Use get_weather for Paris", tools=[WEATHER])
    assert_known(asked, "function call")
    assert asked.status == "requires_action"
    thought, call = asked.steps or []
    assert isinstance(thought, ThoughtStep) and thought.signature
    assert isinstance(call, FunctionCallStep)
    assert call.name == "get_weather" and re.fullmatch(r"[a-z0-9]{8}", call.id)
    assert isinstance(call.arguments, dict) and "location" in call.arguments
    assert not asked.output_text

    result = {"type": "function_result", "call_id": call.id, "name": call.name, "result": {"temp_c": 21}}
    answered = sdk.interactions.create(
        model=MODEL, previous_interaction_id=asked.id, tools=[WEATHER], input=[result]
    )
    assert_known(answered, "function result turn")
    assert answered.status == "completed"
    assert "The function get_weather returned:" in (answered.output_text or "")
    assert answered.output_text == emulator_text(served.raw_get(answered.id))
    sent = [r["body"] for r in served.requests() if r["method"] == "POST"][-1]
    assert sent["input"] == [result]
    assert sent["previous_interaction_id"] == asked.id


def test_function_result_with_content_list(sdk: genai.Client) -> None:
    """A function result given as a content list (text blocks) is accepted and reported."""
    asked = sdk.interactions.create(model=MODEL, input="call get_weather", tools=[WEATHER])
    call = (asked.steps or [])[-1]
    assert isinstance(call, FunctionCallStep)
    content = [{"type": "text", "text": "Sunny, 22 C"}]
    answered = sdk.interactions.create(
        model=MODEL,
        previous_interaction_id=asked.id,
        tools=[WEATHER],
        input=[{"type": "function_result", "call_id": call.id, "result": content}],
    )
    assert_known(answered, "content-list result")
    assert "returned: Sunny, 22 C" in (answered.output_text or "")


def test_server_tools_steps_and_citations(sdk: genai.Client, served: Served) -> None:
    """google_search, code_execution and url_context produce paired call/result steps the SDK knows."""
    tools: list[dict[str, Any]] = [
        {"type": "google_search"},
        {"type": "code_execution"},
        {"type": "url_context"},
    ]
    result = sdk.interactions.create(model=MODEL, input="Check https://example.com/page now", tools=tools)
    report = assert_known(result, "server tools")
    kinds = [type(s) for s in result.steps or []]
    assert kinds == [
        ThoughtStep,
        GoogleSearchCallStep,
        GoogleSearchResultStep,
        CodeExecutionCallStep,
        CodeExecutionResultStep,
        URLContextCallStep,
        URLContextResultStep,
        ModelOutputStep,
    ]
    steps = (result.steps or [])[1:]
    for call, done in zip(steps[0:6:2], steps[1:6:2], strict=True):
        assert done.call_id == call.id
    assert steps[4].arguments.urls == ["https://example.com/page"]
    assert steps[5].result[0].status == "success"
    assert "URLCitation" in report.types
    text = steps[-1].content[0]
    citation = text.annotations[0]
    assert isinstance(citation, URLCitation)
    cited = text.text.encode()[citation.start_index : citation.end_index].decode()
    assert cited.startswith("Search found a page")
    assert result.output_text == emulator_text(served.raw_get(result.id))
    assert result.usage is not None and result.usage.grounding_tool_count


def test_structured_output_with_schema(sdk: genai.Client, served: Served) -> None:
    """`response_format` with a JSON schema yields JSON text that matches it and equals output_text."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "count": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        },
        "required": ["name", "count", "tags"],
    }
    response_format = {"type": "text", "mime_type": "application/json", "schema": schema}
    result = sdk.interactions.create(model=MODEL, input="Describe a cat", response_format=response_format)
    assert_known(result, "structured output")
    data = json.loads(result.output_text or "")
    assert isinstance(data["name"], str) and isinstance(data["count"], int)
    assert len(data["tags"]) >= 2 and all(isinstance(t, str) for t in data["tags"])
    assert result.output_text == emulator_text(served.raw_get(result.id))
    assert result.response_format is None  # a create response never echoes it; the stored one does
    assert sdk.interactions.get(result.id).response_format is not None


def test_function_result_inside_user_input(sdk: genai.Client, served: Served) -> None:
    """A result sent as a `function_result` block of a `user_input` step (as an SDK sends full history)
    is accepted and answered; the SDK keeps the block as given."""
    asked = sdk.interactions.create(model=MODEL, input="Use get_weather for Oslo", tools=[WEATHER])
    call = (asked.steps or [])[-1]
    assert isinstance(call, FunctionCallStep)
    block = {"type": "function_result", "call_id": call.id, "name": call.name, "result": "Snow"}
    answered = sdk.interactions.create(
        model=MODEL,
        previous_interaction_id=asked.id,
        tools=[WEATHER],
        input=[{"type": "user_input", "content": [block]}],
    )
    assert answered.status == "completed"
    assert "get_weather returned: Snow" in (answered.output_text or "")
    sent = [r["body"] for r in served.requests() if r["method"] == "POST"][-1]
    assert sent["input"] == [{"type": "user_input", "content": [block]}]


MCP_SERVER: dict[str, Any] = {
    "type": "mcp_server",
    "name": "deploy_tracker",
    "url": "https://mcp.example.com/mcp",
    "headers": {"Authorization": "Bearer token"},
    "allowed_tools": [{"mode": "auto", "tools": ["status"]}],
}


def test_parallel_calls_from_directives(sdk: genai.Client, served: Served) -> None:
    """Two `[[call ...]]` directives: two FunctionCallSteps with the given arguments; both results in one
    turn are quoted in the answer."""
    prompt = (
        '[[call get_weather {"location": "Oslo"}]] [[call get_weather {"location": "Rome", "unit": "f"}]]'
    )
    asked = sdk.interactions.create(model=MODEL, input=prompt, tools=[WEATHER])
    assert_known(asked, "parallel calls")
    assert asked.status == "requires_action"
    calls = [s for s in asked.steps or [] if isinstance(s, FunctionCallStep)]
    assert [c.arguments for c in calls] == [{"location": "Oslo"}, {"location": "Rome", "unit": "f"}]
    results = [
        {
            "type": "function_result",
            "call_id": c.id,
            "name": c.name,
            "result": f"sunny in {c.arguments['location']}",
        }
        for c in calls
    ]
    answered = sdk.interactions.create(
        model=MODEL, previous_interaction_id=asked.id, tools=[WEATHER], input=results
    )
    assert_known(answered, "parallel results")
    assert "get_weather returned: sunny in Oslo" in (answered.output_text or "")
    assert "get_weather returned: sunny in Rome" in (answered.output_text or "")


def test_mcp_server_steps(sdk: genai.Client, served: Served) -> None:
    """A remote MCP server's tool runs inside the interaction as MCPServerToolCall/ResultSteps, unary
    and streamed, all known to the SDK."""
    prompt = '[[call status {"service": "api"}]]'
    done = sdk.interactions.create(model=MODEL, input=prompt, tools=[MCP_SERVER])
    assert_known(done, "mcp steps")
    call, result = [
        s for s in done.steps or [] if isinstance(s, MCPServerToolCallStep | MCPServerToolResultStep)
    ]
    assert isinstance(call, MCPServerToolCallStep) and isinstance(result, MCPServerToolResultStep)
    assert (call.name, call.server_name, call.arguments) == ("status", "deploy_tracker", {"service": "api"})
    assert result.call_id == call.id
    assert "The MCP tool deploy_tracker.status returned:" in (done.output_text or "")
    assert done.output_text == emulator_text(served.raw_get(done.id))
    events = list(sdk.interactions.create(model=MODEL, input=prompt, tools=[MCP_SERVER], stream=True))
    assert_known(events, "mcp stream")
    kinds = {e.delta.type for e in events if isinstance(e, StepDelta)}
    assert {"mcp_server_tool_call", "mcp_server_tool_result"} <= kinds

"""Open unions: known types parse into their models; unknown types and fields survive verbatim."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from gemini_interactions_mcp.gemini import CreateInteraction, Interaction
from gemini_interactions_mcp.gemini.models import (
    DELTA_TYPES,
    STEP_TYPES,
    TOOL_TYPES,
    Agent,
    Content,
    Delta,
    FunctionCallStep,
    GoogleSearchCallStep,
    InteractionEvent,
    ModelOutputStep,
    Step,
    StepDeltaEvent,
    TextContent,
    Tool,
    ToolCallStep,
    UnknownContent,
    UnknownDelta,
    UnknownEvent,
    UnknownStep,
    UnknownTool,
    UrlCitation,
    UserInputStep,
)
from gemini_interactions_mcp.gemini.models.files import File

STEPS: TypeAdapter[Any] = TypeAdapter(Step)
EVENTS: TypeAdapter[Any] = TypeAdapter(InteractionEvent)


def roundtrip(adapter: TypeAdapter[Any], payload: dict[str, Any]) -> dict[str, Any]:
    parsed = adapter.validate_python(payload)
    dumped: dict[str, Any] = parsed.wire()
    return dumped


def test_every_step_type_has_its_model_and_roundtrips() -> None:
    for kind in STEP_TYPES:
        payload = {"type": kind, "id": "abc", "call_id": "abc", "future": {"n": None}}
        step = STEPS.validate_python(payload)
        assert not isinstance(step, UnknownStep), kind
        assert step.wire() == payload


def test_every_delta_and_tool_type_has_its_model() -> None:
    deltas: TypeAdapter[Any] = TypeAdapter(Delta)
    tools: TypeAdapter[Any] = TypeAdapter(Tool)
    for kind in DELTA_TYPES:
        assert not isinstance(deltas.validate_python({"type": kind}), UnknownDelta), kind
    for kind in TOOL_TYPES:
        payload = {"type": kind, "name": "f"}
        assert not isinstance(tools.validate_python(payload), UnknownTool), kind


def test_unknown_step_is_kept_whole() -> None:
    payload = {"type": "hologram_call", "id": "h1", "beam": [1, {"x": None}], "signature": ""}
    step = STEPS.validate_python(payload)
    assert isinstance(step, UnknownStep)
    assert step.type == "hologram_call"
    assert step.wire() == payload


def test_known_step_keeps_unknown_fields_and_nulls() -> None:
    payload = {"type": "google_search_call", "id": "s1", "arguments": {"queries": ["q"]}, "new": None}
    step = STEPS.validate_python(payload)
    assert isinstance(step, GoogleSearchCallStep) and isinstance(step, ToolCallStep)
    assert step.wire() == payload


def test_unknown_event_delta_content_roundtrip_through_an_interaction() -> None:
    event = {
        "event_type": "step.delta",
        "event_id": "e9",
        "index": 2,
        "delta": {"type": "hologram", "frames": [1, 2]},
        "novel": {"deep": True},
    }
    parsed = EVENTS.validate_python(event)
    assert isinstance(parsed, StepDeltaEvent) and isinstance(parsed.delta, UnknownDelta)
    assert parsed.wire() == event

    brand_new = {"event_type": "interaction.paused", "interaction_id": "v1_x", "why": "tea"}
    assert isinstance(EVENTS.validate_python(brand_new), UnknownEvent)
    assert roundtrip(EVENTS, brand_new) == brand_new

    body = {
        "id": "v1_x",
        "status": "some_future_status",
        "object": "interaction",
        "steps": [
            {"type": "user_input", "content": [{"type": "smell", "scent": "rose"}]},
            {
                "type": "model_output",
                "content": [
                    {
                        "type": "text",
                        "text": "Hi",
                        "annotations": [
                            {"type": "url_citation", "url": "https://a", "start_index": 0, "end_index": 2},
                            {"type": "vibe_citation", "vibe": 3},
                        ],
                    }
                ],
            },
            {"type": "function_call", "id": "f1", "name": "go", "arguments": {}},
        ],
        "usage": {"total_tokens": 3, "new_counter": 1},
        "future_field": [None],
    }
    interaction = Interaction.model_validate_json(json.dumps(body))
    assert interaction.wire() == body
    assert isinstance(interaction.steps, list)
    user, output, call = interaction.steps
    assert isinstance(call, FunctionCallStep)
    assert isinstance(user, UserInputStep) and isinstance(output, ModelOutputStep)
    assert user.content is not None and output.content is not None
    assert isinstance(user.content[0], UnknownContent)
    text = output.content[0]
    assert isinstance(text, TextContent) and isinstance(text.annotations, list)
    assert isinstance(text.annotations[0], UrlCitation)


def test_lenient_interaction_without_status() -> None:
    assert Interaction.model_validate({"id": "v1_x"}).status is None


def test_request_omits_unset_and_none_but_keeps_extras() -> None:
    body = CreateInteraction.model_validate(
        {
            "model": "gemini-3.5-flash",
            "input": [{"type": "text", "text": "hi"}, {"type": "user_input", "content": []}],
            "tools": [{"type": "function", "name": "f"}, {"type": "teleport", "range": 5}],
            "system_instruction": None,
            "extra_flag": None,
        }
    )
    assert body.wire() == {
        "model": "gemini-3.5-flash",
        "input": [{"type": "text", "text": "hi"}, {"type": "user_input", "content": []}],
        "tools": [{"type": "function", "name": "f"}, {"type": "teleport", "range": 5}],
        "extra_flag": None,
    }
    assert isinstance(body.input, list) and isinstance(body.input[0], TextContent)


def test_constructed_models_always_write_their_type() -> None:
    assert TextContent(text="a").wire() == {"type": "text", "text": "a"}
    assert TextContent(text="a").given() == {"type": "text", "text": "a"}
    nested = ModelOutputStep(content=[TextContent(text="a"), TextContent(text="b", annotations=None)])
    assert nested.wire() == {
        "type": "model_output",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }
    assert STEPS.validate_python(nested.wire()).wire() == nested.wire()
    content: TypeAdapter[Any] = TypeAdapter(Content)
    assert content.validate_python({"type": "image", "uri": "gs://x"}).wire() == {
        "type": "image",
        "uri": "gs://x",
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"model": "m", "agent": "a"},
        {"agent": "a", "generation_config": {}},
        {"model": "m", "agent_config": {}},
    ],
)
def test_request_rejects_model_agent_mixups(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CreateInteraction.model_validate(body)


def test_agent_roundtrip() -> None:
    payload = {
        "id": "code-reviewer",
        "base_agent": "antigravity-preview-05-2026",
        "base_environment": {"type": "remote", "sources": []},
        "tools": [{"type": "code_execution"}],
        "created": "2026-01-01T00:00:00Z",
    }
    assert Agent.model_validate(payload).wire() == payload


def test_an_echoed_interaction_keeps_no_mcp_server_header_values() -> None:
    """A GET of a stored interaction echoes its tools with their headers: parsed, they are gone."""
    echoed = {
        "id": "v1_x",
        "status": "completed",
        "tools": [
            {"type": "mcp_server", "name": "m", "url": "https://x/mcp", "headers": {"Authorization": "sk-9"}},
            {"type": "function", "name": "f"},
        ],
    }
    interaction = Interaction.model_validate(echoed)
    for shown in (repr(interaction), interaction.model_dump_json(), str(interaction.model_dump())):
        assert "sk-9" not in shown and "Authorization" in shown


def test_given_is_wire_without_the_dump() -> None:
    """`given()` names what `wire()` would send (declared nulls left out, unknown nulls kept), with
    nested models as they are, and validates back into the same model."""
    payload = {
        "id": "v1_a",
        "status": "completed",
        "model": None,
        "novel": None,
        "usage": {"total_tokens": 7, "input_tokens_by_modality": [{"modality": "text", "tokens": 3}]},
    }
    interaction = Interaction.model_validate(payload)
    given = interaction.given()
    assert set(given) == set(interaction.wire()) == {"id", "status", "novel", "usage"}
    assert given["novel"] is None and given["usage"] is interaction.usage
    assert Interaction.model_validate(given).wire() == interaction.wire()


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "thought"},
        {"type": "thought", "signature": "s", "later": None, "count": 3, "flag": True},
        {"type": "model_output", "error": None},
        {"type": "function_call", "id": "c1", "name": "f", "arguments": {"a": None}},
        {"type": "model_output", "content": [{"type": "text", "text": "hi", "novel": None}]},
        {"type": "code_execution_call", "id": "x", "weird": [1, None]},
    ],
)
def test_wire_is_the_serialisers_output_in_its_order(payload: dict[str, Any]) -> None:
    """`wire()` reads a model of plain values off directly: it must give what the serialiser gives,
    key for key and in the same order (declared nulls dropped, unknown nulls kept)."""
    step = STEPS.validate_python(payload)
    dumped = step.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert list(step.wire().items()) == list(dumped.items())
    constructed = type(step).model_validate(dumped)
    assert list(constructed.wire().items()) == list(dumped.items())


def test_wire_renames_aliased_fields() -> None:
    """A model whose fields have other names on the wire (the Files API's camelCase) is always dumped."""
    uploaded = File.model_validate({"name": "files/a", "mimeType": "text/plain", "sizeBytes": "3"})
    assert uploaded.wire() == {"name": "files/a", "mimeType": "text/plain", "sizeBytes": 3}


@pytest.mark.parametrize(
    "body",
    [
        {
            "model": "gemini-3.5-flash",
            "input": [
                {"type": "text", "text": "hi", "novel": None},
                {"type": "image", "uri": "https://x/a.png"},
            ],
            "previous_interaction_id": "v1_a",
            "generation_config": {"temperature": 0.25, "thinking_summaries": "auto", "stop": ["x", None]},
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}],
            "system_instruction": None,
            "store": True,
        },
        {"model": "m", "input": "plain text", "generation_config": {"temperature": float("nan")}},
        {"agent": "deep-research-preview-04-2026", "input": [], "agent_config": {"type": "deep-research"}},
    ],
    ids=["nested", "nan", "agent"],
)
def test_a_nested_wire_is_the_serialisers_output_in_its_order(body: dict[str, Any]) -> None:
    """Read off directly, a body with nested models, lists and dicts must still be exactly what the
    serialiser gives, nested keys in the same order too; a value only the serialiser can write (NaN:
    null) leaves the whole body to it."""
    model = CreateInteraction.model_validate(body)
    dumped = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert json.dumps(model.wire()) == json.dumps(dumped)

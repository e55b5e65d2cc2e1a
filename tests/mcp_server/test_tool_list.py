"""What the calling model pays for our tools: `tools/list` as the model sees it (names, descriptions, input
schemas) stays within its budget, and the compacted input schemas still accept exactly what the tools do."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from mcp import Client

from gemini_interactions_mcp.tools._schema import compact, type_lists

pytestmark = pytest.mark.anyio

MODEL_CONTEXT_BUDGET = 9_000
"""Bytes of `tools/list` the model sees with every tool (issue 10: under 9 KB with all tools)."""
MODEL_SEES = ("name", "description", "inputSchema")


async def listed(client: Client) -> list[dict[str, Any]]:
    tools = (await client.list_tools()).tools
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


async def test_what_the_model_sees_stays_within_its_budget(client: Client) -> None:
    seen = [{k: tool[k] for k in MODEL_SEES if k in tool} for tool in await listed(client)]
    assert len(json.dumps({"tools": seen}, separators=(",", ":"))) < MODEL_CONTEXT_BUDGET


async def test_no_input_schema_needs_a_reference(client: Client) -> None:
    """Every `$defs` entry of our tools is used once, so each is written in place: no `$ref` is left for
    a client that cannot follow one."""
    for tool in await listed(client):
        assert "$ref" not in json.dumps(tool["inputSchema"]), tool["name"]


async def test_the_inlined_agent_schema_accepts_what_manage_agent_accepts(client: Client) -> None:
    schema = next(t["inputSchema"] for t in await listed(client) if t["name"] == "manage_agent")
    good = {
        "action": "create",
        "id": "reviewer",
        "tools": ["google_search", {"type": "mcp_server", "url": "https://tickets.example/mcp", "name": "t"}],
        "base_environment": {
            "sources": [
                {"type": "repository", "source": "https://github.com/owner/repo"},
                {"type": "inline", "content": "notes", "target": "/workspace/notes.txt"},
            ],
            "network": ["*.python.org"],
        },
    }
    jsonschema.validate(good, schema)
    inline_without_target = {"type": "inline", "content": "x"}
    missing_target = {"action": "create", "base_environment": {"sources": [inline_without_target]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing_target, schema)


def test_entries_used_twice_or_recursive_keep_their_reference() -> None:
    point = {"type": "object", "properties": {"x": {"type": "number"}}}
    node = {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}
    schema = {
        "type": "object",
        "$defs": {"Point": point, "Node": node, "Once": {"type": "string", "description": "d"}},
        "properties": {
            "a": {"$ref": "#/$defs/Point"},
            "b": {"$ref": "#/$defs/Point"},
            "tree": {"$ref": "#/$defs/Node"},
            "once": {"$ref": "#/$defs/Once", "description": "kept"},
        },
    }
    out = compact(schema)
    assert out["properties"]["once"] == {"type": "string", "description": "kept"}
    assert out["properties"]["a"] == {"$ref": "#/$defs/Point"} and out["properties"]["tree"] == {
        "$ref": "#/$defs/Node"
    }
    assert set(out["$defs"]) == {"Point", "Node"}


def bare_type_choices(schema: Any) -> list[Any]:
    """Every `anyOf` in `schema` whose options are each a bare `{"type": T}`."""
    if isinstance(schema, list):
        return [found for item in schema for found in bare_type_choices(item)]
    if not isinstance(schema, dict):
        return []
    found = [found for value in schema.values() for found in bare_type_choices(value)]
    options = schema.get("anyOf")
    if isinstance(options, list) and all(isinstance(o, dict) and set(o) == {"type"} for o in options):
        found.append(options)
    return found


async def test_output_schemas_spell_type_choices_as_one_type_list(client: Client) -> None:
    """A client that validates each result (the Python SDK's does) pays for every `anyOf` option on every
    value: `ask_gemini`'s usage figures were `anyOf: [integer, number]` each."""
    for tool in await listed(client):
        if "outputSchema" in tool:
            assert bare_type_choices(tool["outputSchema"]) == [], tool["name"]


def test_type_lists_accept_exactly_what_the_choices_did() -> None:
    schema = {
        "type": "object",
        "properties": {
            "figures": {"additionalProperties": {"anyOf": [{"type": "integer"}, {"type": "number"}]}},
            "name": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]},
        },
    }
    out = type_lists(schema)
    assert out["properties"]["figures"]["additionalProperties"] == {"type": "number"}
    assert out["properties"]["name"] == {"type": ["string", "null"], "default": None}
    assert out["properties"]["either"] == schema["properties"]["either"]  # a bound is not a bare type
    samples = [
        {"figures": {"a": 1, "b": 2.5}, "name": None, "either": "x"},
        {"figures": {"a": "1"}},
        {"figures": {"a": True}},
        {"name": 3},
        {"name": "n", "either": -1},
        {"either": 4},
        {"figures": {"a": None}},
    ]
    for sample in samples:
        before = jsonschema.Draft202012Validator(schema).is_valid(sample)
        assert jsonschema.Draft202012Validator(out).is_valid(sample) == before, sample

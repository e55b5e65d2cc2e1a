"""Tool schemas in Gemini's subset (nothing sent half-converted) and function names under its rules."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gemini_interactions_mcp.downstream.names import MAX_NAME, function_names, mcp_server_name, sanitise
from gemini_interactions_mcp.downstream.schema import MAX_DEPTH, to_gemini

GEMINI_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
ALLOWED_KEYS = {
    "type",
    "description",
    "properties",
    "required",
    "items",
    "anyOf",
    "enum",
    "format",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
}


def keys_everywhere(schema: Any) -> set[str]:
    if isinstance(schema, list):
        return set().union(*(keys_everywhere(s) for s in schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key == "properties":
            found |= set().union(*(keys_everywhere(v) for v in value.values())) if value else set()
        elif key in ("items", "anyOf"):
            found |= keys_everywhere(value)
    return found


PYDANTIC_STYLE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "create_issueArguments",
    "type": "object",
    "additionalProperties": False,
    "$defs": {
        "Label": {"type": "object", "title": "Label", "properties": {"name": {"type": "string"}}},
        "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}},
    },
    "properties": {
        "title": {"type": "string", "minLength": 1, "title": "Title"},
        "body": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "labels": {"type": "array", "items": {"$ref": "#/$defs/Label"}, "maxItems": 5},
        "priority": {"type": "integer", "enum": [1, 2, 3]},
        "state": {"const": "open"},
        "due": {"type": "string", "format": "date-time"},
        "url": {"type": "string", "format": "uri", "pattern": "^https://"},
        "count": {"type": ["integer", "null"]},
        "id": {"type": ["string", "integer"], "description": "Issue id or number"},
        "tree": {"$ref": "#/$defs/Node"},
        "anything": {},
        "meta": {
            "allOf": [{"properties": {"a": {"type": "string"}}}, {"properties": {"b": {"type": "number"}}}]
        },
        "kind": {"oneOf": [{"type": "string"}, {"type": "boolean"}]},
        "not_this": {"not": {"type": "string"}, "type": "string"},
    },
    "required": ["title", "anything", "tree"],
}


def test_a_rich_schema_keeps_its_meaning_in_the_subset() -> None:
    parameters, notes = to_gemini(PYDANTIC_STYLE)
    props = parameters["properties"]
    assert keys_everywhere(parameters) <= ALLOWED_KEYS
    assert parameters["required"] == ["title", "tree"]
    assert props["title"] == {"type": "string", "minLength": 1}
    assert props["body"] == {"type": "string"}
    assert props["labels"]["items"] == {
        "type": "object",
        "properties": {"name": {"type": "string"}},
    }
    assert props["priority"] == {"type": "integer", "description": "One of: 1, 2, 3."}
    assert props["state"] == {"type": "string", "enum": ["open"]}
    assert props["due"]["format"] == "date-time"
    assert props["url"] == {"type": "string", "description": "Format: uri. Must match the pattern ^https://."}
    assert props["count"] == {"type": "integer"}
    assert props["id"]["anyOf"] == [{"type": "string"}, {"type": "integer"}]
    assert props["id"]["description"] == "Issue id or number"
    assert props["tree"] == {"type": "object", "properties": {}}
    assert props["meta"]["properties"] == {"a": {"type": "string"}, "b": {"type": "number"}}
    assert props["kind"]["anyOf"] == [{"type": "string"}, {"type": "boolean"}]
    assert "anything" not in props
    assert "tree.child dropped (recursive reference #/$defs/Node)" in notes
    assert "anything dropped (has no type)" in notes
    assert "not_this: 'not' dropped (not expressible for Gemini)" in notes


def test_deep_nesting_is_cut_with_a_note() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_DEPTH + 3):
        schema = {"type": "object", "properties": {"x": schema}}
    parameters, notes = to_gemini(schema)
    assert any(f"nested deeper than {MAX_DEPTH}" in n for n in notes)
    assert keys_everywhere(parameters) <= ALLOWED_KEYS


@pytest.mark.parametrize(
    "broken", [None, "string", [], {"type": "object", "properties": {"a": {"type": "blob"}}}]
)
def test_unreadable_schemas_become_empty_parameters(broken: Any) -> None:
    parameters, notes = to_gemini(broken)
    assert parameters["type"] == "object" and notes


def test_arrays_need_an_item_type() -> None:
    parameters, notes = to_gemini({"type": "object", "properties": {"xs": {"type": "array"}}})
    assert parameters["properties"] == {} and notes == ["xs dropped (array without an item type)"]
    tuple_schema = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}
    parameters, _ = to_gemini({"type": "object", "properties": {"pair": tuple_schema}})
    assert parameters["properties"]["pair"]["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}


def test_names_follow_gemini_rules_and_never_collide() -> None:
    pairs = [
        ("github", "create_issue"),
        ("my server", "list files!"),
        ("9lives", "ping"),
        ("a" * 50, "b" * 50),
        ("a" * 50, "b" * 49 + "c"),
        ("x.y", "z"),
        ("x_y", "z"),
        ("x y", "z"),
    ]
    names = function_names(pairs)
    assert names[("github", "create_issue")] == "github__create_issue"
    assert names[("my server", "list files!")] == "my_server__list_files_"
    assert names[("9lives", "ping")] == "_9lives__ping"
    assert len(set(names.values())) == len(pairs)
    assert all(GEMINI_NAME.match(n) and len(n) <= MAX_NAME for n in names.values())
    assert sanitise("ok-name.v1:x") == "ok-name.v1:x"


def test_mcp_server_names_are_snake_case() -> None:
    assert mcp_server_name("deploy-tracker") == "deploy_tracker"
    assert mcp_server_name("1st") == "_1st"

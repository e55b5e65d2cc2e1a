"""Smaller tool schemas: every byte of `tools/list` sits in the calling model's context on every turn.

Pydantic's schemas carry a `title` on every property and spell an optional parameter as
`anyOf: [T, null]` with `default: null`. Neither helps a model call the tool: arguments are validated
by the tool's own pydantic model (which still accepts an explicit null), never against this schema, so
the titles go and optional parameters are written as plain `T`. Bounds and defaults that say nothing go
too: an `additionalProperties: true`, the `default` of a `const`, `minLength: 1`, and maxima that only
guard against absurd numbers (the tool's model still enforces them all). A `$defs` entry used once is
written where it is used: the `$ref` and the entry's name cost bytes, and some clients handle no `$ref`.
Annotations lose the hints that repeat the specification's defaults. Output schemas lose only their
titles, and say the same in fewer words: a client may validate structured content against them, and
results hold nulls, so nothing they accept changes. An `anyOf` of bare types is one `type` list, and
`integer` goes where `number` (which includes it) is listed: the Python SDK's client validates every
result against the schema, and `anyOf` costs it a sub-validation per option per value (`ask_gemini`'s
result: 263 to 167 us per call).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations

NULL = {"type": "null"}
NO_REAL_LIMIT = 1_000_000
REF_PREFIX = "#/$defs/"


def bottom_up(schema: Any, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """`schema` with `rewrite` applied to every object in it, innermost first (each sees rewritten parts)."""
    if isinstance(schema, list):
        return [bottom_up(item, rewrite) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return rewrite({k: bottom_up(v, rewrite) for k, v in schema.items()})


def _untitled(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if not (k == "title" and isinstance(v, str))}


def without_titles(schema: Any) -> Any:
    return bottom_up(schema, _untitled)


def _one_type_list(node: dict[str, Any]) -> dict[str, Any]:
    options = node.get("anyOf")
    if not (isinstance(options, list) and options and "type" not in node):
        return node
    if not all(isinstance(o, dict) and set(o) == {"type"} and isinstance(o["type"], str) for o in options):
        return node
    types = list(dict.fromkeys(o["type"] for o in options))
    if "number" in types and "integer" in types:
        types.remove("integer")
    out = {k: v for k, v in node.items() if k != "anyOf"}
    out["type"] = types[0] if len(types) == 1 else types
    return out


def type_lists(schema: Any) -> Any:
    """`anyOf` options that are each a bare `{"type": T}` written as one `type: [T, ...]`, the same test."""
    return bottom_up(schema, _one_type_list)


def _tidied(out: dict[str, Any]) -> dict[str, Any]:
    if out.get("additionalProperties") is True:  # the default: any extra key is allowed
        del out["additionalProperties"]
    if "const" in out and out.get("default", ...) == out["const"]:  # a constant needs no default
        del out["default"]
    if out.get("minLength") == 1:  # a required text is not empty: no model needs telling
        del out["minLength"]
    if isinstance(out.get("maximum"), int) and out["maximum"] >= NO_REAL_LIMIT:  # a guard, not a hint
        del out["maximum"]
    options = out.get("anyOf")
    if isinstance(options, list) and NULL in options and out.get("default", ...) is None:
        rest = [o for o in options if o != NULL]
        del out["default"]
        if len(rest) == 1:
            del out["anyOf"]
            out = {**rest[0], **out}
        else:
            out["anyOf"] = rest
    return out


def tidy(schema: Any) -> Any:
    """Without what says nothing, and `anyOf: [T, null]` with `default: null` written as plain `T`."""
    return bottom_up(schema, _tidied)


def inline_single_use(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with each `$defs` entry that is referenced once (and refers to no entry) put in place."""
    definitions = schema.get("$defs")
    if not isinstance(definitions, dict):
        return schema
    text = json.dumps(schema)
    inlined = {
        name: body
        for name, body in definitions.items()
        if text.count(json.dumps(REF_PREFIX + name)) == 1 and REF_PREFIX not in json.dumps(body)
    }

    def put(node: Any) -> Any:
        if isinstance(node, list):
            return [put(item) for item in node]
        if not isinstance(node, dict):
            return node
        name = str(node.get("$ref", "")).removeprefix(REF_PREFIX)
        if name in inlined:
            return {**inlined[name], **{k: put(v) for k, v in node.items() if k != "$ref"}}
        return {k: put(v) for k, v in node.items()}

    out = put({k: v for k, v in schema.items() if k != "$defs"})
    kept = {name: put(body) for name, body in definitions.items() if name not in inlined}
    return {**out, "$defs": kept} if kept else out


def compact(schema: Any) -> Any:
    schema = tidy(without_titles(schema))
    while isinstance(schema, dict) and (inlined := inline_single_use(schema)) != schema:
        schema = inlined  # an entry whose own references were just put in place may go next
    return schema


HINT_DEFAULTS = {
    "read_only_hint": False,
    "destructive_hint": True,
    "idempotent_hint": False,
    "open_world_hint": True,
}
"""What the MCP specification assumes for a hint that is absent: saying it again says nothing."""


def compact_annotations(annotations: ToolAnnotations | None) -> ToolAnnotations | None:
    """The annotations without hints equal to their defaults (None when nothing else is left)."""
    if annotations is None:
        return None
    update = {k: None for k, default in HINT_DEFAULTS.items() if getattr(annotations, k) == default}
    if annotations.read_only_hint:  # destructive and idempotent mean something only for writers
        update.update(destructive_hint=None, idempotent_hint=None)
    compacted = annotations.model_copy(update=update)
    return compacted if compacted.model_dump(exclude_none=True) else None


def compact_tool(tool: Tool) -> None:
    """Rewrite a registered tool's schemas and annotations in place (tools/_registry.py, once per build)."""
    tool.parameters = compact(tool.parameters)
    tool.annotations = compact_annotations(tool.annotations)
    if tool.fn_metadata.output_schema is not None:
        tool.fn_metadata.output_schema = type_lists(without_titles(tool.fn_metadata.output_schema))

"""MCP tool input schemas (full JSON Schema) turned into the subset Gemini accepts for `parameters`.

Kept: `type` (one), `description`, `properties`, `required`, `items`, `anyOf`, `enum` (strings),
`format` where Gemini knows it (`date-time`, `enum`; `int32`/`int64`; `float`/`double`), `minimum`,
`maximum`, `minItems`, `maxItems`, `minLength`, `maxLength`. Rewritten: local `$ref`s inlined, `oneOf`
as `anyOf`, object `allOf`s merged, `const` and non-string enums as `enum` or words in the description,
other formats and `pattern` as words in the description, a `null` member of a type list dropped (the
property is just optional). `title` is dropped: generators fill it with the property name.

What cannot be said in the subset is dropped with a note, never sent half-converted: a property without
any type, recursion, nesting past MAX_DEPTH, and keywords like `not`, `if`, `patternProperties`. A
dropped property is also removed from `required`.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 8
TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
FORMATS = {"string": {"date-time", "enum"}, "integer": {"int32", "int64"}, "number": {"float", "double"}}
BOUNDS = ("minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength")
SILENT = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "default",
        "examples",
        "readOnly",
        "writeOnly",
        "deprecated",
        "nullable",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "contentMediaType",
        "contentEncoding",
    }
)
HANDLED = frozenset(
    {"type", "description", "properties", "required", "items", "anyOf", "oneOf", "allOf", "enum", "const"}
    | {"format", "pattern", "$ref", "additionalProperties", *BOUNDS}
)


class Dropped(Exception):
    """This (sub)schema cannot be expressed; the message says why."""


def _words(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.notes: list[str] = []

    def _resolve(self, ref: str, trail: tuple[str, ...]) -> dict[str, Any]:
        if ref in trail:
            raise Dropped(f"recursive reference {ref}")
        if not ref.startswith("#/"):
            raise Dropped(f"external reference {ref}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise Dropped(f"unresolvable reference {ref}")
            node = node[part]
        if not isinstance(node, dict):
            raise Dropped(f"reference {ref} is not a schema")
        return node

    def convert(self, schema: Any, where: str, depth: int, trail: tuple[str, ...]) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise Dropped(f"nested deeper than {MAX_DEPTH} levels")
        if not isinstance(schema, dict):
            raise Dropped("not a schema object" if schema is not True else "accepts any value (no type)")
        if "$ref" in schema:
            ref = str(schema["$ref"])
            resolved = self._resolve(ref, trail)
            merged = {**resolved, **{k: v for k, v in schema.items() if k != "$ref"}}
            return self.convert(merged, where, depth, (*trail, ref))
        if "allOf" in schema:
            return self.convert(self._merge_all_of(schema, trail), where, depth, trail)
        for key in sorted(set(schema) - HANDLED - SILENT):
            self.notes.append(f"{where}: '{key}' dropped (not expressible for Gemini)")
        out: dict[str, Any] = {}
        description = schema.get("description")
        extra: list[str] = []
        branches = schema.get("anyOf", schema.get("oneOf"))
        kind = self._type(schema, where)
        if isinstance(branches, list):
            kept = self._branches(branches, where, depth, trail)
            if len(kept) > 1:
                out["anyOf"] = kept
            else:  # `X or null` is just an optional X
                out.update(kept[0])
                description = description or out.pop("description", None)
        elif isinstance(kind, list):
            plain = {k: v for k, v in schema.items() if k != "description"}
            out["anyOf"] = [self.convert({**plain, "type": t}, where, depth, trail) for t in kind]
            return self._described(out, description, extra)
        elif kind is None:
            raise Dropped("has no type")
        else:
            out["type"] = kind
        self._values(schema, kind, out, extra)
        if kind == "object":
            self._object(schema, out, where, depth, trail)
        elif kind == "array":
            self._array(schema, out, where, depth, trail)
        return self._described(out, description, extra)

    @staticmethod
    def _described(out: dict[str, Any], description: Any, extra: list[str]) -> dict[str, Any]:
        text = " ".join([*([str(description)] if description else []), *extra])
        if text:
            out["description"] = text
        return out

    def _type(self, schema: dict[str, Any], where: str) -> str | list[str] | None:
        raw = schema.get("type")
        if isinstance(raw, list):
            kinds = [t for t in raw if t in TYPES]
            return kinds[0] if len(kinds) == 1 else (kinds or None)
        if raw in TYPES:
            return str(raw)
        if raw is not None and raw != "null":
            raise Dropped(f"unknown type {raw!r}")
        if "properties" in schema:
            return "object"
        if "items" in schema:
            return "array"
        values = schema.get("enum", [schema["const"]] if "const" in schema else None)
        if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            return "string"
        return None

    def _branches(
        self, branches: list[Any], where: str, depth: int, trail: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        for index, branch in enumerate(branches):
            if isinstance(branch, dict) and branch.get("type") == "null":
                continue
            try:
                kept.append(self.convert(branch, f"{where}|{index}", depth + 1, trail))
            except Dropped as exc:
                self.notes.append(f"{where}: alternative {index} dropped ({exc})")
        if not kept:
            raise Dropped("no alternative is expressible")
        return kept

    def _merge_all_of(self, schema: dict[str, Any], trail: tuple[str, ...]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            if isinstance(part, dict) and "$ref" in part:
                part = {**self._resolve(str(part["$ref"]), trail), **part}
                part.pop("$ref")
            if not isinstance(part, dict) or part.get("type", "object") != "object":
                raise Dropped("allOf of non-object schemas")
            merged.setdefault("type", "object")
            merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
            merged["required"] = [*merged.get("required", []), *part.get("required", [])]
            if "description" in part and "description" not in merged:
                merged["description"] = part["description"]
        return merged

    @staticmethod
    def _values(schema: dict[str, Any], kind: Any, out: dict[str, Any], extra: list[str]) -> None:
        values = schema.get("enum", [schema["const"]] if "const" in schema else None)
        if isinstance(values, list) and values:
            if kind == "string" and all(isinstance(v, str) for v in values):
                out["enum"] = list(values)
            else:
                extra.append(f"One of: {', '.join(_words(v) for v in values)}.")
        fmt = schema.get("format")
        if isinstance(fmt, str):
            if fmt in FORMATS.get(str(kind), set()):
                out["format"] = fmt
            else:
                extra.append(f"Format: {fmt}.")
        if isinstance(schema.get("pattern"), str):
            extra.append(f"Must match the pattern {schema['pattern']}.")
        for bound in BOUNDS:
            value = schema.get(bound)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[bound] = value

    def _object(
        self, schema: dict[str, Any], out: dict[str, Any], where: str, depth: int, trail: tuple[str, ...]
    ) -> None:
        properties: dict[str, Any] = {}
        raw = schema.get("properties")
        for name, sub in (raw if isinstance(raw, dict) else {}).items():
            path = f"{where}.{name}" if where else str(name)
            try:
                properties[str(name)] = self.convert(sub, path, depth + 1, trail)
            except Dropped as exc:
                self.notes.append(f"{path} dropped ({exc})")
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict) and additional:
            self.notes.append(f"{where or 'arguments'}: free-form keys (additionalProperties) not declared")
        out["properties"] = properties
        required = schema.get("required")
        if isinstance(required, list):
            kept = [str(r) for r in dict.fromkeys(required) if r in properties]
            if kept:
                out["required"] = kept

    def _array(
        self, schema: dict[str, Any], out: dict[str, Any], where: str, depth: int, trail: tuple[str, ...]
    ) -> None:
        items = schema.get("items", schema.get("prefixItems"))
        if isinstance(items, list):
            items = {"anyOf": items} if items else None
        if items is None or items is True or items == {}:
            raise Dropped("array without an item type")
        out["items"] = self.convert(items, f"{where}[]", depth + 1, trail)


def to_gemini(schema: Any) -> tuple[dict[str, Any], list[str]]:
    """`parameters` for a function declaration from an MCP `inputSchema`, and notes on what was dropped.

    The result is always an object schema; a tool whose schema cannot be read gets no parameters.
    """
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}, ["input schema is not an object; no parameters"]
    converter = _Converter(schema)
    try:
        converted = converter.convert({**schema, "type": "object"}, "", 0, ())
    except Dropped as exc:
        return {"type": "object", "properties": {}}, [f"input schema dropped ({exc})"]
    converted.pop("description", None)
    return converted, converter.notes

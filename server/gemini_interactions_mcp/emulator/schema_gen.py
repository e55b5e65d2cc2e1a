"""Build a JSON value that satisfies a JSON Schema, so structured-output requests get valid JSON.

Covers the subset the Interactions API accepts for `response_format.schema` (types, enum/const,
properties/required, items with minItems/maxItems, anyOf/oneOf/allOf, $ref to $defs, numeric bounds,
common string formats). Output is deterministic: tests can assert on it.
"""

from __future__ import annotations

from typing import Any

_FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "12:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def instance(schema: Any, name: str = "value") -> Any:
    """A value valid for `schema`; `name` (the property name) seeds readable strings."""
    return _Generator(schema if isinstance(schema, dict) else {}).make(schema, name, depth=0)


class _Generator:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def make(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > 12:
            return None
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                preferred = [o for o in options if self._resolve(o).get("type") != "null"] or options
                return self.make(preferred[0], name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged = _merge(merged, self._resolve(part))
            return self.make(merged, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        return self._typed(str(kind), schema, name, depth)

    def _typed(self, kind: str, schema: dict[str, Any], name: str, depth: int) -> Any:
        if kind == "object":
            props = schema.get("properties") or {}
            return {key: self.make(sub, key, depth + 1) for key, sub in props.items()}
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            if "maxItems" in schema:
                count = min(count, int(schema["maxItems"]))
            return [self.make(schema.get("items", {}), name, depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        text = f"example {name}"
        min_len = int(schema.get("minLength", 0))
        if len(text) < min_len:
            text = text + "x" * (min_len - len(text))
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])]
        return text

    def _resolve(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 20:
            target: Any = self.root
            for part in schema["$ref"].lstrip("#").strip("/").split("/"):
                target = target.get(part, {}) if isinstance(target, dict) and part else target
            schema = target
            seen += 1
        return schema if isinstance(schema, dict) else {}


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = {**a, **b}
    if "properties" in a and "properties" in b:
        out["properties"] = {**a["properties"], **b["properties"]}
    return out


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = 1
    if isinstance(low, int | float):
        value = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if isinstance(high, int | float) and value > high:
        value = high
    return int(value) if integer else float(value)

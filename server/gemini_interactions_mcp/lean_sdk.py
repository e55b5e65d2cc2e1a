"""Per-call work the MCP SDK does by default, kept for the calls where it can matter.

- OpenTelemetry spans. The SDK puts `OpenTelemetryMiddleware` on every request: attributes, a span
  context manager, a context attached and detached, about 12 µs a call, even when no tracer provider is
  installed and every span is a no-op. Here it runs while a provider is installed. That is checked on
  every call, so a provider installed after start-up (by an embedding application) is honoured.
- `Mcp-Param-*` header checks. On every 2026-07-28 `tools/call` the SDK looks up the tool's input
  schema and walks it twice for `x-mcp-header` annotations: 25 µs for `ask_gemini`'s. Every check
  iterates over those annotations, so a schema without any has nothing to check, and the lookup answers
  None for it, which the SDK reads as "nothing to validate". Whether a schema has annotations is worked
  out once per schema.
- Tool arguments and results (`LeanToolMetadata`, which tools/_registry.py gives every tool). Before
  validating a call's arguments the SDK tries `json.loads` on each string given for a parameter not
  annotated plain `str`, and keeps what parses to an object, an array or null (a client that sent a
  list as JSON text): for `conversation: str | None` that is a raised and caught JSONDecodeError on
  every continued turn. Only text that starts (after JSON whitespace) with `{`, `[` or `n` can parse to
  one of those, so other text is left as it is without trying. It then hands the validated arguments
  on through a walk of the model's fields by name; here, from the model's values by a list made once.
  And it reads its output validator through a pydantic private attribute, whose every read raises and
  catches an AttributeError inside pydantic. Together 14 µs of a continued `ask_gemini` call (argument
  validation 10.6 -> 3.7 µs, result check 10.9 -> 4.1; process_time micro), with the same results.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.shared.inbound import x_mcp_header_map
from opentelemetry import trace
from pydantic import BaseModel, TypeAdapter

SchemaLookup = Callable[[str], Mapping[str, Any] | None]
NO_OP_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
"""What `trace.get_tracer_provider()` answers while nobody has installed a provider."""
JSON_WHITESPACE = " \t\n\r"
MAY_BECOME_STRUCTURED = ("{", "[", "n")
"""How JSON text that parses to an object, an array or null begins (the SDK keeps only those)."""
SHAPES_KEPT = 256
"""Argument models whose shape is kept (one per tool registration: a few dozen in a process)."""
OUTPUT_ADAPTER = "_adapter"
"""The private attribute under which the SDK's `FuncMetadata` keeps its output validator."""


def tracing_installed() -> bool:
    return not isinstance(trace.get_tracer_provider(), NO_OP_PROVIDERS)


class TracedWhileInstalled:
    """The SDK's tracing middleware, entered only while a tracer provider is installed."""

    def __init__(self, traced: ServerMiddleware[Any]) -> None:
        self.traced = traced

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if tracing_installed():
            return await self.traced(ctx, call_next)
        return await call_next(ctx)


def annotated_schemas_only(lookup: SchemaLookup) -> SchemaLookup:
    """`lookup`, answering None for a schema that declares no `x-mcp-header`.

    The verdict is kept per tool name with the schema it was made for, so a tool registered again with
    another schema is looked at afresh; names the lookup does not know are not kept.
    """
    verdicts: dict[str, tuple[Mapping[str, Any], bool]] = {}

    def annotated_schema(name: str) -> Mapping[str, Any] | None:
        schema = lookup(name)
        if schema is None:
            return None
        known = verdicts.get(name)
        if known is None or known[0] is not schema:
            known = verdicts[name] = (schema, bool(x_mcp_header_map(schema)))
        return schema if known[1] else None

    return annotated_schema


def lighten(server: MCPServer[Any]) -> None:
    """Apply both to `server` (once, right after it is made)."""
    lowlevel = server._lowlevel_server  # the SDK offers no public hook for either
    server.middleware[:] = [
        TracedWhileInstalled(layer) if type(layer).__name__ == "OpenTelemetryMiddleware" else layer
        for layer in server.middleware
    ]
    if lowlevel.get_tool_input_schema is not None:
        lowlevel.get_tool_input_schema = annotated_schemas_only(lowlevel.get_tool_input_schema)


class LeanToolMetadata(FuncMetadata):
    """The SDK's `FuncMetadata`, with the two shortcuts of the module docstring."""

    @classmethod
    def of(cls, metadata: FuncMetadata) -> LeanToolMetadata:
        return cls(**{name: getattr(metadata, name) for name in FuncMetadata.model_fields})

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        """The SDK's: the validated arguments one level deep, by alias where a field has one."""
        validated = self.arg_model.model_validate(self.pre_parse_json(arguments_to_validate))
        values = validated.__dict__
        return {key: values[name] for name, key in _shape(self.arg_model).keys}

    def pre_parse_json(self, data: dict[str, Any]) -> dict[str, Any]:
        """The SDK's, trying only text that can parse to something it keeps."""
        parsed = data.copy()
        structured = _shape(self.arg_model).structured
        for key, value in data.items():
            if key not in structured or not isinstance(value, str):
                continue
            if not value.lstrip(JSON_WHITESPACE).startswith(MAY_BECOME_STRUCTURED):
                continue
            try:
                loaded = json.loads(value)
            except (ValueError, RecursionError):
                continue
            if not isinstance(loaded, str | int | float):
                parsed[key] = loaded
        return parsed

    def _output_adapter(self, output_model: Any) -> TypeAdapter[Any]:
        """The SDK's, read from pydantic's store of private values (a dict lookup), where it is there."""
        kept = (self.__pydantic_private__ or {}).get(OUTPUT_ADAPTER)
        if kept is not None and kept[0] is output_model:
            return cast(TypeAdapter[Any], kept[1])
        return super()._output_adapter(output_model)


@dataclass(frozen=True)
class _ArgumentShape:
    keys: tuple[tuple[str, str], ...]
    """Each field's name and the key the tool function gets it under (its alias, if it has one)."""
    structured: frozenset[str]
    """The argument names (and aliases) whose strings the SDK tries as JSON: those not annotated `str`."""


@functools.lru_cache(maxsize=SHAPES_KEPT)
def _shape(arg_model: type[BaseModel]) -> _ArgumentShape:
    """What the shortcuts need of an argument model, worked out once per model."""
    fields = arg_model.model_fields.items()
    return _ArgumentShape(
        keys=tuple((name, info.alias or name) for name, info in fields),
        structured=frozenset(
            key for name, info in fields for key in (name, info.alias) if key and info.annotation is not str
        ),
    )

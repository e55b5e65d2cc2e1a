"""Two pieces of per-call work the MCP SDK does by default, kept for the calls where they can matter.

- OpenTelemetry spans. The SDK puts `OpenTelemetryMiddleware` on every request: attributes, a span
  context manager, a context attached and detached, about 12 µs a call, even when no tracer provider is
  installed and every span is a no-op. Here it runs while a provider is installed. That is checked on
  every call, so a provider installed after start-up (by an embedding application) is honoured.
- `Mcp-Param-*` header checks. On every 2026-07-28 `tools/call` the SDK looks up the tool's input
  schema and walks it twice for `x-mcp-header` annotations: 25 µs for `ask_gemini`'s. Every check
  iterates over those annotations, so a schema without any has nothing to check, and the lookup answers
  None for it, which the SDK reads as "nothing to validate". Whether a schema has annotations is worked
  out once per schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.inbound import x_mcp_header_map
from opentelemetry import trace

SchemaLookup = Callable[[str], Mapping[str, Any] | None]
NO_OP_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
"""What `trace.get_tracer_provider()` answers while nobody has installed a provider."""


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

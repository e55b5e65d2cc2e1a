"""Per-principal limits at the door: a call that starts Gemini work passes the caller's limits first.

A middleware rather than a line in each tool, so no tool that starts work can forget it. The refusal
is the tool error a `ToolError` would make (`isError`, the message for the model), plus structured
content saying which limit and when to retry, for clients that act on it.
"""

from __future__ import annotations

import math
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent

from gemini_interactions_mcp.tools._common import principal
from gemini_interactions_mcp.tools._wiring import Wiring


def tool_error(message: str, structured: dict[str, Any] | None = None) -> CallToolResult:
    """A tools/call result that reports an error to the calling model (the SDK shapes it per era)."""
    return CallToolResult(
        content=[TextContent(type="text", text=message)], is_error=True, structured_content=structured
    )


def refusal(exc: Exception) -> CallToolResult | None:
    """The tool error for a call the limits refused, or could not check; None for anything else."""
    # Past the wiring gate: the services' modules are loaded (imported here, off the path of every call
    # the limits let through: an import statement costs a microsecond each time it runs).
    from gemini_interactions_mcp.services.errors import EXPLAINED, failure_message
    from gemini_interactions_mcp.services.limits import LimitExceeded

    if isinstance(exc, LimitExceeded):
        wait = exc.refusal.retry_after
        return tool_error(
            str(exc),
            {
                "error": "limit_exceeded",
                "limit": exc.refusal.limit,
                "retry_after_seconds": None if wait is None else math.ceil(wait),
            },
        )
    if isinstance(exc, EXPLAINED):
        return tool_error(failure_message(exc))
    return None


class LimitGate:
    """The middleware (see the module docstring)."""

    async def __call__(self, ctx: ServerRequestContext[Wiring, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        name = (ctx.params or {}).get("name")
        limits = ctx.lifespan_context.state.limits
        if not limits.meters(name) or not limits.checks_calls:
            return await call_next(ctx)
        try:
            await limits.admit(principal(), str(name))
        except Exception as exc:
            refused = refusal(exc)
            if refused is None:
                raise
            return refused
        return await call_next(ctx)


def register(server: MCPServer[Any]) -> None:
    server.middleware.append(LimitGate())

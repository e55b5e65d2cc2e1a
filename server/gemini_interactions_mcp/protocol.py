"""MCP protocol details where the SDK's defaults say more (or less) than this server does.

One middleware, seen by every request in both protocol eras and on every transport:
- Capabilities. MCPServer always registers prompt handlers, so the SDK advertises `prompts` with none to
  offer; and it derives `listChanged` per era (false after `initialize`, true in `server/discover`).
  This server never sends a list change (its lists are fixed), so both eras now say so, and `prompts`
  is advertised only once a prompt exists.
- `prompts/get` with an unknown name is invalid params (-32602). The SDK answers code 0 on 2025-era
  connections and -32603, with a traceback in the log, on 2026-07-28 ones.
- The server's icon. It goes into the serverInfo of `initialize` and `server/discover` only (identity.py
  says why), not into the SDK's identity, which is stamped into every 2026-07-28 result.
- Argument validation errors. The SDK puts pydantic's text into the tool error, documentation URLs
  included; the model needs the field and the reason, not a link.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import INVALID_PARAMS, SERVER_INFO_META_KEY

from gemini_interactions_mcp.identity import server_info

CAPABILITY_ANSWERS = frozenset({"initialize", "server/discover"})
LIST_CAPABILITIES = ("prompts", "resources", "tools")
PYDANTIC_DOC_URL = re.compile(r"\n *For further information visit https://errors\.pydantic\.dev/\S*")


def honest_capabilities(capabilities: dict[str, Any], *, has_prompts: bool) -> dict[str, Any]:
    """The SDK's derived capabilities, minus what this server never does."""
    fixed: dict[str, Any] = {}
    for name, value in capabilities.items():
        if name == "prompts" and not has_prompts:
            continue
        if name in LIST_CAPABILITIES and isinstance(value, dict):
            value = {**value, "listChanged": False}
        fixed[name] = value
    return fixed


def without_doc_urls(result: dict[str, Any]) -> dict[str, Any]:
    """An error result's text blocks without pydantic's documentation links."""
    content = [
        {**block, "text": PYDANTIC_DOC_URL.sub("", block["text"])}
        if block.get("type") == "text" and isinstance(block.get("text"), str)
        else block
        for block in result.get("content", [])
    ]
    return {**result, "content": content}


def with_icon(answer: dict[str, Any]) -> dict[str, Any]:
    """An `initialize` or `server/discover` result whose serverInfo carries the icon."""
    if "serverInfo" in answer:  # initialize
        return {**answer, "serverInfo": server_info()}
    meta = answer.get("_meta")
    return {
        **answer,
        "_meta": {**(meta if isinstance(meta, dict) else {}), SERVER_INFO_META_KEY: server_info()},
    }


class ProtocolDetails:
    """The middleware (see the module docstring); `server` is the one it is registered on."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self._server = server

    async def _prompt_names(self) -> set[str]:
        return {prompt.name for prompt in await self._server.list_prompts()}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        method = ctx.method
        if method == "prompts/get":
            name = (ctx.params or {}).get("name")
            if isinstance(name, str) and name not in await self._prompt_names():
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name!r}", data={"name": name})
        result = await call_next(ctx)
        if not isinstance(result, dict):
            return result
        if method in CAPABILITY_ANSWERS and isinstance(result.get("capabilities"), dict):
            has_prompts = bool(await self._prompt_names())
            return with_icon(
                {
                    **result,
                    "capabilities": honest_capabilities(result["capabilities"], has_prompts=has_prompts),
                }
            )
        if method == "tools/call" and result.get("isError"):
            return without_doc_urls(result)
        return result


def close_listen_streams(server: MCPServer[Any]) -> Callable[[], None]:
    """A function that ends every open 2026-07-28 `subscriptions/listen` stream gracefully (each gets
    its closing result), for a drain: such a stream would otherwise hold its connection until the
    shutdown's grace period runs out.

    MCPServer offers no public way to reach its listen handler, so this takes it from the low-level
    server's handler table (the one private path, here only); None served means nothing to close.
    """
    entry = server._lowlevel_server.get_request_handler("subscriptions/listen")
    handler = entry.handler if entry is not None else None
    close = getattr(handler, "close", None)
    return close if callable(close) else (lambda: None)

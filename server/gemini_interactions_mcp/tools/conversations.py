"""list_conversations and manage_conversation: find, rename, reset and forget the caller's conversations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_interactions_mcp.services.results import ConversationSummary
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import MAX_OFFSET, AppContext, app_state, principal, run_service
from gemini_interactions_mcp.tools.outputs import ConversationChange, ConversationPage

MAX_LIMIT = 100


def _line(c: ConversationSummary) -> str:
    name = f" «{c.name}»" if c.name else ""
    return f"- {c.id}{name} · {c.model or '?'} · {c.turns} turns · {c.updated} · {c.preview}"


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name=ToolName.LIST_CONVERSATIONS,
        title="List conversations",
        description="Your Gemini conversations, most recent first (id, name, model, turns, preview). "
        f"Use it to find a conversation to continue with {ToolName.ASK}.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    async def list_conversations(
        ctx: AppContext,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 20,
        offset: Annotated[int, Field(ge=0, le=MAX_OFFSET, description="Skip this many (paging).")] = 0,
    ) -> Annotated[CallToolResult, ConversationPage]:
        found = await run_service(
            app_state(ctx).conversations.summaries(principal(), limit=limit + 1, offset=offset)
        )
        page, more = found[:limit], len(found) > limit
        lines = [_line(c) for c in page] or [f"No conversations yet: {ToolName.ASK} starts one."]
        if more:
            lines.append(f"More: call again with offset={offset + limit}.")
        structured = {
            "conversations": [c.model_dump() for c in page],
            "next_offset": offset + limit if more else None,
        }
        return CallToolResult(
            content=[TextContent(type="text", text="\n".join(lines))], structured_content=structured
        )

    @server.tool(
        name=ToolName.MANAGE_CONVERSATION,
        title="Rename, reset or forget a conversation",
        description="Rename, reset or forget one of your conversations (reset keeps it and its settings but "
        "starts its history afresh; forget removes it from your list).",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False),
    )
    async def manage_conversation(
        conversation: Annotated[str, Field(description="Conversation id or name.")],
        action: Literal["rename", "reset", "forget"],
        ctx: AppContext,
        name: Annotated[str | None, Field(description="New name (rename only).")] = None,
    ) -> Annotated[CallToolResult, ConversationChange]:
        service = app_state(ctx).conversations
        if action == "rename":
            if not name:
                raise ToolError("rename needs `name`: the new name for the conversation.")
            summary = await run_service(service.rename(principal(), conversation, name))
            text = f"Renamed: {_line(summary)}"
            structured: dict[str, Any] = {"conversation": summary.model_dump()}
        elif action == "reset":
            summary = await run_service(service.reset(principal(), conversation))
            text = f"Reset: {_line(summary)}. Its next turn starts a fresh thread."
            structured = {"conversation": summary.model_dump()}
        else:
            forgotten = await run_service(service.forget(principal(), conversation))
            text = f"Forgot conversation {forgotten}."
            structured = {"forgotten": forgotten}
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)

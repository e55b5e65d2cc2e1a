"""ask_gemini: one turn of a stateful conversation with a Gemini model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.requests import AskRequest, ThinkingLevel
from gemini_interactions_mcp.services.results import TurnResult
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import (
    FILES,
    STORES,
    AppContext,
    ProgressReporter,
    app_state,
    principal,
    run_service,
)
from gemini_interactions_mcp.tools.bridge import Confirmer, calls_line, paused_loop
from gemini_interactions_mcp.tools.media import answer_blocks
from gemini_interactions_mcp.tools.outputs import AskOutput
from gemini_interactions_mcp.tools.roots import client_roots
from gemini_interactions_mcp.tools.usage import usage_line

if TYPE_CHECKING:
    from gemini_interactions_mcp.services.media import MediaLibrary

DESCRIPTION = (
    "Ask a Gemini model. Pass the returned `conversation` to continue (history, instruction and tools "
    "carry over)."
)


async def render(result: TurnResult, media: MediaLibrary, owner: str) -> CallToolResult:
    """The answer for the model, text and media in order, with the handle to continue; the rest (saved
    paths included) as structured content."""
    label = f"{result.conversation} ({result.name})" if result.name else result.conversation
    used = usage_line(result.usage, result.conversation_usage)
    footer = [
        f"[conversation {label} · turn {result.turn} · {result.model} · {result.status}"
        + (f" · {used}]" if used else "]"),
        *([calls_line(result.calls)] if result.calls else []),
        *(f"Note: {n}" for n in result.notes),
    ]
    if result.sources:
        footer += ["Sources:", *(f"{i}. [{c.title}]({c.url})" for i, c in enumerate(result.sources, 1))]
    structured: dict[str, Any] = result.model_dump(exclude={"text"}, exclude_none=True)
    if result.parts:
        content = await answer_blocks(media, owner, result.parts, footer)
        return CallToolResult(content=content, structured_content=structured)
    if result.status == "in_progress":
        answer = (
            f"Gemini is still answering. Call {ToolName.POLL} with interaction_id={result.interaction_id!r} "
            "to get the answer; nothing is lost."
        )
    else:
        answer = result.text or "(empty answer)"
    lines = [answer, "", *footer]
    return CallToolResult(
        content=[TextContent(type="text", text="\n".join(lines))], structured_content=structured
    )


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name=ToolName.ASK,
        title="Ask Gemini",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    async def ask_gemini(
        prompt: Annotated[str, Field(min_length=1, description="The question or instruction.")],
        ctx: AppContext,
        conversation: Annotated[
            str | None,
            Field(description="Id or name to continue; omit (or a new name) to start one."),
        ] = None,
        model: Annotated[
            str | None,
            Field(description=f"Model id (default {Catalog.load().default_model}; gemini://models)."),
        ] = None,
        system_instruction: Annotated[str | None, Field(description="Standing instruction.")] = None,
        files: Annotated[
            list[str] | None,
            Field(description=FILES + " Video clip: a.mp4#t=10,30&fps=1&res=low."),
        ] = None,
        tools: Annotated[
            list[str] | None,
            Field(
                description="google_search, code_execution, url_context, workspace (your files), "
                "mcp:NAME[/TOOL] (gemini://tools)."
            ),
        ] = None,
        thinking_level: ThinkingLevel | None = None,
        response_schema: Annotated[
            dict[str, Any] | None, Field(description="JSON Schema: the answer is JSON matching it.")
        ] = None,
        wait_seconds: Annotated[
            float | None, Field(ge=1, le=300, description="Past this (default 45), return a handle to poll.")
        ] = None,
        file_search_stores: Annotated[list[str] | None, Field(description=STORES)] = None,
    ) -> Annotated[CallToolResult, AskOutput] | InputRequiredResult:
        state = app_state(ctx)
        owner = principal()
        wait = wait_seconds if wait_seconds is not None else state.settings.ask_wait_seconds
        stores = (
            await run_service(state.file_stores.usable(owner, file_search_stores))
            if file_search_stores
            else []
        )
        request = AskRequest(
            prompt=prompt,
            conversation=conversation,
            model=model,
            system_instruction=system_instruction,
            files=files or [],
            tools=tools,
            thinking_level=thinking_level,
            response_schema=response_schema,
            file_search_stores=stores,
        )
        after = paused_loop(ctx)
        roots = await client_roots(ctx) if request.files and after is None else None
        confirm = Confirmer(ctx)
        result = await run_service(
            state.asks.ask(
                owner,
                request,
                ProgressReporter(ctx),
                wait_seconds=wait,
                roots=roots,
                confirm=confirm,
                workspace_roots=lambda: client_roots(ctx),
                after=after,
            )
        )
        if result.paused is not None:
            return confirm.input_required(result.paused)
        return await render(result, state.media, owner)

"""speak: text to speech, saved as a WAV file; and the voices to choose from (`gemini://voices`)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from gemini_interactions_mcp.services.requests import SpeechRequest
from gemini_interactions_mcp.services.voices import voices_markdown
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import (
    AppContext,
    ProgressReporter,
    app_state,
    principal,
    run_service,
)
from gemini_interactions_mcp.tools.media import answer_blocks
from gemini_interactions_mcp.tools.outputs import SpeechOutput
from gemini_interactions_mcp.tools.roots import client_roots
from gemini_interactions_mcp.tools.usage import usage_line

DESCRIPTION = "Text to speech as a WAV file (saved and shown). Voices: gemini://voices (default Kore)."


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name=ToolName.SPEAK,
        title="Speak text aloud",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    async def speak(
        text: Annotated[
            str, Field(min_length=1, description="What to say; with speakers, lines 'Name: ...'.")
        ],
        ctx: AppContext,
        voice: str | None = None,
        speakers: Annotated[dict[str, str] | None, Field(description="Name -> voice (up to 2).")] = None,
        model: str | None = None,
        language: str | None = None,
        style: Annotated[str | None, Field(description="e.g. 'cheerfully'.")] = None,
    ) -> Annotated[CallToolResult, SpeechOutput]:
        state = app_state(ctx)
        request = SpeechRequest(
            text=text, voice=voice, speakers=speakers, model=model, language=language, style=style
        )
        owner = principal()
        roots = await client_roots(ctx)
        result = await run_service(
            state.speech.speak(
                owner,
                request,
                ProgressReporter(ctx),
                wait_seconds=state.settings.ask_wait_seconds,
                roots=roots,
            )
        )
        structured = result.model_dump(exclude_none=True)
        used = usage_line(result.usage)
        footer = [
            f"[{result.model} · {result.status}" + (f" · {used}]" if used else "]"),
            *(f"Note: {n}" for n in result.notes),
        ]
        if result.status == "in_progress":
            text = (
                f"Still speaking. Call {ToolName.POLL} with interaction_id={result.interaction_id!r} for the "
                "audio; nothing is lost."
            )
            return CallToolResult(
                content=[TextContent(type="text", text=text)], structured_content=structured
            )
        content = await answer_blocks(state.media, owner, result.parts, footer)
        return CallToolResult(content=content, structured_content=structured)

    @server.resource(
        "gemini://voices",
        name="voices",
        description="The voices speak can use, with their character.",
        mime_type="text/markdown",
    )
    def voices() -> str:
        return voices_markdown()

"""generate_image: images from a prompt, edited by continuing the conversation."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from gemini_interactions_mcp.services.requests import ImageRequest, ImageSize
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._common import (
    AppContext,
    ProgressReporter,
    app_state,
    principal,
    run_service,
)
from gemini_interactions_mcp.tools.ask import render
from gemini_interactions_mcp.tools.outputs import AskOutput
from gemini_interactions_mcp.tools.roots import client_roots

DESCRIPTION = (
    "Generate or edit images (saved as files and shown). Pass the returned `conversation` to keep "
    'editing the last image ("make the sky darker").'
)


def register(server: MCPServer[Any]) -> None:
    @server.tool(
        name=ToolName.GENERATE_IMAGE,
        title="Generate or edit an image",
        description=DESCRIPTION,
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    async def generate_image(
        prompt: Annotated[str, Field(min_length=1, description="What to draw or change.")],
        ctx: AppContext,
        files: Annotated[list[str] | None, Field(description="Images to edit or use as references.")] = None,
        conversation: Annotated[str | None, Field(description="Continue editing (id or name).")] = None,
        model: str | None = None,
        aspect_ratio: Annotated[str | None, Field(description="W:H, e.g. 16:9 (default 1:1).")] = None,
        image_size: ImageSize | None = None,
    ) -> Annotated[CallToolResult, AskOutput]:
        state = app_state(ctx)
        request = ImageRequest(
            prompt=prompt,
            files=files or [],
            conversation=conversation,
            model=model,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
        )
        owner = principal()
        roots = await client_roots(ctx)
        result = await run_service(
            state.images.generate(
                owner,
                request,
                ProgressReporter(ctx),
                wait_seconds=state.settings.ask_wait_seconds,
                roots=roots,
            )
        )
        return await render(result, state.media, owner)

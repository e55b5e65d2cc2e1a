"""The model catalog as a resource: what to pass as `model` or `agent`, and what is deprecated."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from gemini_interactions_mcp.services.catalog import Catalog


def register(server: MCPServer[Any]) -> None:
    @server.resource(
        "gemini://models",
        name="models",
        description="Current Gemini models and agents, and deprecated ids with their replacements.",
        mime_type="text/markdown",
    )
    def models() -> str:
        return Catalog.load().render_markdown()

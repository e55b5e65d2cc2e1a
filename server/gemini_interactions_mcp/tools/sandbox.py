"""The files of one of your agents' sandbox environments, as a resource (`gemini://environments/{id}`)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from gemini_interactions_mcp.services.uris import ENVIRONMENT_URI_TEMPLATE
from gemini_interactions_mcp.tools._common import AppContext, app_state, principal, read_resource


def register(server: MCPServer[Any]) -> None:
    @server.resource(
        ENVIRONMENT_URI_TEMPLATE,
        name="environment",
        description="The files an agent run left in one of your sandboxes (download them with run_agent).",
        mime_type="text/markdown",
    )
    async def environment_files(environment_id: str, ctx: AppContext) -> str:
        return await read_resource(app_state(ctx).sandbox.listing(principal(), environment_id))

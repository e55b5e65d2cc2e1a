"""Transports: stdio for IDEs, Streamable HTTP (with auth, host checks and /healthz) for remote clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gemini_interactions_mcp.config import ServerSettings
    from gemini_interactions_mcp.transport.stdio import StdioChannel


def run(settings: ServerSettings, stdio: StdioChannel | None = None) -> None:
    """Serve until stopped. Each transport's stack is imported only when it is asked for.

    `stdio` is the channel the command line claimed at start-up (see transport/stdio.py); one is claimed
    here if it did not.
    """
    if settings.transport == "http":
        from gemini_interactions_mcp.transport.http import serve_http

        serve_http(settings)
        return
    from gemini_interactions_mcp.transport.stdio import StdioChannel, serve_stdio

    channel = stdio or StdioChannel.claim()
    from gemini_interactions_mcp.app import build_server

    serve_stdio(build_server(settings), channel)

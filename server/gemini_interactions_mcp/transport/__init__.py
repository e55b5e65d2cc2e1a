"""Transports: stdio for IDEs, Streamable HTTP (with auth, host checks and /healthz) for remote clients."""

from __future__ import annotations

from gemini_interactions_mcp.config import ServerSettings


def run(settings: ServerSettings) -> None:
    """Serve until stopped. The HTTP stack is imported only when HTTP is asked for."""
    if settings.transport == "http":
        from gemini_interactions_mcp.transport.http import serve_http

        serve_http(settings)
        return
    from gemini_interactions_mcp.app import build_server

    build_server(settings).run("stdio")

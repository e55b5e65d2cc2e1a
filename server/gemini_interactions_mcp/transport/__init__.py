"""Transports: stdio for IDEs, Streamable HTTP (with auth, host checks and /healthz) for remote clients."""

from __future__ import annotations

import gc
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

    server = build_server(settings)
    collect_garbage_again()
    serve_stdio(server, channel)


def collect_garbage_again() -> None:
    """End of a stdio start: the command line paused the cyclic garbage collector while the SDK and the
    server were imported and built, since all that makes lives as long as the process (modules, classes,
    schemas) and the collector's 240 passes over it cost about 100 ms CPU before the first answer. It
    resumes now, with what exists frozen (`gc.freeze`): no later collection walks those 150,000 objects
    again (a full one takes about 100 ms), at the price of the start-up garbage that stays (about 5,000
    objects, 1.5 MiB)."""
    gc.freeze()
    gc.enable()

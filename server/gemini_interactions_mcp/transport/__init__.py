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


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation while serving (CPython's default is
700). A call allocates thousands of objects, nearly all freed by reference counting as it ends; at 700,
collections came several times a call and each walked the objects of the calls in flight, promoting
them to older generations that then had to be walked too: about 0.15 ms of CPU per call under 10 HTTP
clients. At 10,000 it is a few hundredths of that; cyclic garbage waits a little longer to be freed."""


def collect_garbage_again() -> None:
    """Once the server is up (built, for stdio; started, for HTTP), the collector runs as serving wants.

    What exists now lives as long as the process (modules, classes, schemas, the app and its store), so
    it is frozen (`gc.freeze`): no later collection walks those 110,000-150,000 objects again (a full
    one took 40-100 ms, and came every few hundred calls under load). The command line paused the
    collector while a stdio server was imported and built (its 240 passes over all that cost about
    100 ms before the first answer): it resumes now, at the price of the start-up garbage that stays
    (about 5,000 objects, 1.5 MiB). And young collections come less often (YOUNG_COLLECTION_THRESHOLD)."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)
    gc.enable()

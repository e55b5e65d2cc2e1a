"""--emulator: the local Interactions API emulator served on a loopback port inside this process.

It runs on a real socket (not an in-process transport) so streams arrive as they are produced, exactly
as from Gemini. Its logs stay off stdout, which on stdio carries the MCP protocol, and it leaves the
process's signals alone: a SIGTERM is for the MCP server (which drains, then stops the emulator with the
rest of its shutdown), not for an emulator that would stop under a server still serving.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio
import uvicorn

from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app


class _EmbeddedServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def embedded_emulator(settings: ServerSettings) -> AsyncIterator[str]:
    """Serve the emulator on 127.0.0.1 and yield its base URL until the context ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(EmulatorConfig(research_seconds=settings.research_seconds))
    config = uvicorn.Config(app, log_config=None, access_log=False, log_level="warning", lifespan="off")
    server = _EmbeddedServer(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no start event to wait on)
            await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True

"""Builds the MCPServer: the lifespan owns the store, the Gemini client and the background task group."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from anyio.abc import TaskGroup
from mcp.server.mcpserver import MCPServer

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.conversations import ConversationService
from gemini_interactions_mcp.services.files import FileLoader
from gemini_interactions_mcp.state import Store, open_store
from gemini_interactions_mcp.tools import ask, catalog, conversations

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Gemini through the Interactions API. ask_gemini answers and keeps the conversation server-side "
    "(continue it with the returned `conversation`); list_conversations finds earlier ones."
)


@dataclass
class AppState:
    """Process-wide services, shared by every request (and every caller)."""

    settings: ServerSettings
    store: Store
    client: InteractionsClient
    conversations: ConversationService
    task_group: TaskGroup


ClientFactory = Callable[[ServerSettings], AsyncIterator[InteractionsClient]]


@asynccontextmanager
async def default_client(settings: ServerSettings) -> AsyncIterator[InteractionsClient]:
    """The real Gemini API from the environment, or an embedded emulator with --emulator."""
    async with AsyncExitStack() as stack:
        if settings.emulator:
            from gemini_interactions_mcp.embedded import embedded_emulator

            base_url = await stack.enter_async_context(embedded_emulator(settings))
            config = ClientConfig.from_env(base_url=base_url, api_key=None)
        else:
            config = ClientConfig.from_env()
        client = await stack.enter_async_context(InteractionsClient(config))
        yield client


def build_server(
    settings: ServerSettings,
    *,
    client_factory: Callable[[ServerSettings], Any] = default_client,
    transport: httpx2.AsyncBaseTransport | None = None,
    **server_options: Any,
) -> MCPServer[AppState]:
    """The MCP server for `settings`; tests pass `transport` to reach an in-process emulator."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with AsyncExitStack() as stack:
            store = await open_store(settings.state)
            stack.push_async_callback(store.close)
            if transport is not None:
                config = ClientConfig.from_env(base_url="http://emulator.invalid", api_key=None)
                client = await stack.enter_async_context(InteractionsClient(config, transport=transport))
            else:
                client = await stack.enter_async_context(client_factory(settings))
            files = FileLoader(
                list(settings.allow_dirs),
                max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
                max_total_bytes=int(settings.max_total_mb * 1024 * 1024),
            )
            task_group = await stack.enter_async_context(anyio.create_task_group())
            state = AppState(
                settings=settings,
                store=store,
                client=client,
                conversations=ConversationService(
                    store=store,
                    client=client,
                    catalog=Catalog.load(),
                    files=files,
                    default_model=settings.default_model,
                ),
                task_group=task_group,
            )
            try:
                yield state
            finally:
                task_group.cancel_scope.cancel()

    server: MCPServer[AppState] = MCPServer(
        "gemini-interactions-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.log_level,
        **server_options,
    )
    ask.register(server)
    conversations.register(server)
    catalog.register(server)
    return server

"""Builds the MCPServer: the lifespan owns the store, the Gemini client and the background task group."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import httpx2
from anyio.abc import TaskGroup
from mcp.server.mcpserver import MCPServer

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig, Interaction, InteractionsClient
from gemini_interactions_mcp.identity import INSTRUCTIONS, SERVER_NAME
from gemini_interactions_mcp.protocol import ProtocolDetails
from gemini_interactions_mcp.services.agents import AgentService
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.conversations import ConversationService
from gemini_interactions_mcp.services.files import FileLoader
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.research import ResearchService
from gemini_interactions_mcp.services.turns import usage_totals
from gemini_interactions_mcp.state import JobRecord, Store, open_store
from gemini_interactions_mcp.tools import agents, ask, catalog, conversations, jobs
from gemini_interactions_mcp.tools._schema import compact_tool_schemas
from gemini_interactions_mcp.tools.subscriptions import UpdateAnnouncer

log = logging.getLogger(__name__)
PRUNE_INTERVAL_SECONDS = 3600


@dataclass
class AppState:
    """Process-wide services, shared by every request (and every caller)."""

    settings: ServerSettings
    store: Store
    client: InteractionsClient
    conversations: ConversationService
    jobs: JobService
    research: ResearchService
    agents: AgentService
    task_group: TaskGroup
    offered_plans: set[str] = field(default_factory=set)


class ClientFactory(Protocol):
    def __call__(self, settings: ServerSettings) -> AbstractAsyncContextManager[InteractionsClient]: ...


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
        yield await stack.enter_async_context(InteractionsClient(config))


async def prune_periodically(store: Store, retention_days: float) -> None:
    """Drop finished jobs past their retention now and every hour (running jobs are never pruned)."""
    while True:
        pruned = await store.prune_jobs(finished_before=time.time() - retention_days * 86_400)
        if pruned:
            log.info("pruned %d finished jobs older than %g days", pruned, retention_days)
        await anyio.sleep(PRUNE_INTERVAL_SECONDS)


def build_server(
    settings: ServerSettings,
    *,
    client_factory: ClientFactory = default_client,
    transport: httpx2.AsyncBaseTransport | None = None,
    client_config: ClientConfig | None = None,
    **server_options: Any,
) -> MCPServer[AppState]:
    """The MCP server for `settings`.

    Tests reach an emulator by passing `client_config` (its URL and key) and/or `transport` (in-process);
    otherwise `client_factory` makes the client (the real API, or the embedded emulator).
    """
    announcer = UpdateAnnouncer()

    @asynccontextmanager
    async def make_client() -> AsyncIterator[InteractionsClient]:
        if transport is None and client_config is None:
            async with client_factory(settings) as client:
                yield client
            return
        config = client_config or ClientConfig.from_env(base_url="http://emulator.local", api_key=None)
        async with InteractionsClient(config, transport=transport) as client:
            yield client

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with AsyncExitStack() as stack:
            store = await open_store(settings.state, max_output_chars=int(settings.max_output_mb * 1_000_000))
            stack.push_async_callback(store.close)
            client = await stack.enter_async_context(make_client())
            task_group = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(task_group.cancel_scope.cancel)
            catalog_data = Catalog.load()
            files = FileLoader(
                list(settings.allow_dirs),
                max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
                max_total_bytes=int(settings.max_total_mb * 1024 * 1024),
                show_roots=settings.transport == "stdio",
            )
            conversation_service = ConversationService(
                store=store,
                client=client,
                catalog=catalog_data,
                files=files,
                default_model=settings.default_model,
            )

            async def on_finished(job: JobRecord, interaction: Interaction | None) -> None:
                if interaction is not None:
                    await conversation_service.record_finished_turn(job, usage_totals(interaction))

            job_service = JobService(
                store=store,
                client=client,
                task_group=task_group,
                announce=announcer.announce,
                on_finished=on_finished,
            )
            conversation_service.attach_jobs(job_service)
            task_group.start_soon(prune_periodically, store, settings.job_retention_days)
            resumed = await job_service.resume_unfinished()
            if resumed:
                log.info("resumed %d unfinished background interactions", resumed)
            yield AppState(
                settings=settings,
                store=store,
                client=client,
                conversations=conversation_service,
                jobs=job_service,
                research=ResearchService(conversations=conversation_service, catalog=catalog_data),
                agents=AgentService(
                    store=store, client=client, catalog=catalog_data, conversations=conversation_service
                ),
                task_group=task_group,
            )

    server: MCPServer[AppState] = MCPServer(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.log_level,
        subscriptions=announcer.bus,
        **server_options,
    )
    ask.register(server)
    conversations.register(server)
    jobs.register(server)
    agents.register(server)
    catalog.register(server)
    announcer.register(server)
    compact_tool_schemas(server)
    server.middleware.append(ProtocolDetails(server))
    return server

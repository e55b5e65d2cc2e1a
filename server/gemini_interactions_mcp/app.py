"""Builds the MCPServer: the lifespan owns the store, the Gemini client and the background task group."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any, Protocol

import anyio
import httpx2
from anyio.abc import TaskGroup
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver import server as sdk_server
from mcp.server.request_state import RequestStateSecurity
from mcp.types import Implementation

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.config import ServerSettings, SettingsError
from gemini_interactions_mcp.downstream.config import ConfigError, ServerConfig, load_config
from gemini_interactions_mcp.downstream.hub import DownstreamHub
from gemini_interactions_mcp.gemini import (
    ClientConfig,
    FilesAPI,
    FileSearchAPI,
    InteractionsClient,
    SandboxFilesAPI,
)
from gemini_interactions_mcp.identity import INSTRUCTIONS, SERVER_NAME
from gemini_interactions_mcp.operations import Operations
from gemini_interactions_mcp.protocol import ProtocolDetails, close_listen_streams
from gemini_interactions_mcp.services.agents import AgentService
from gemini_interactions_mcp.services.ask import AskService
from gemini_interactions_mcp.services.background import BackgroundTurns
from gemini_interactions_mcp.services.caller_keys import caller_key
from gemini_interactions_mcp.services.catalog import Catalog
from gemini_interactions_mcp.services.chain import ConversationChain
from gemini_interactions_mcp.services.conversations import ConversationDirectory
from gemini_interactions_mcp.services.file_stores import FileStoreService
from gemini_interactions_mcp.services.files import FileLoader
from gemini_interactions_mcp.services.heartbeats import Heartbeats
from gemini_interactions_mcp.services.images import ImageService
from gemini_interactions_mcp.services.inputs import TurnInputs
from gemini_interactions_mcp.services.jobs import JobService, resource_uri
from gemini_interactions_mcp.services.limits import Limits, LimitSettings, RefusalListener
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.research import ResearchService
from gemini_interactions_mcp.services.sandbox import SandboxService
from gemini_interactions_mcp.services.speech import SpeechService
from gemini_interactions_mcp.services.toolloop import ToolLoop
from gemini_interactions_mcp.services.uploads import FileUploader
from gemini_interactions_mcp.services.usage import UsageLedger
from gemini_interactions_mcp.state import Store, StoreError, open_store, state_spec
from gemini_interactions_mcp.tools import (
    agents,
    ask,
    bridge,
    catalog,
    completions,
    conversations,
    file_stores,
    images,
    interactions,
    limits,
    media,
    prompts,
    research,
    sandbox,
    speech,
    usage,
)
from gemini_interactions_mcp.tools._common import AppState
from gemini_interactions_mcp.tools._registry import reuse_tool_registrations
from gemini_interactions_mcp.tools.subscriptions import UpdateAnnouncer

log = logging.getLogger(__name__)
PRUNE_INTERVAL_SECONDS = 3600


class ClientFactory(Protocol):
    def __call__(
        self, settings: ServerSettings, **client_options: Any
    ) -> AbstractAsyncContextManager[InteractionsClient]: ...


@asynccontextmanager
async def default_client(
    settings: ServerSettings, **client_options: Any
) -> AsyncIterator[InteractionsClient]:
    """The real Gemini API from the environment, or an embedded emulator with --emulator."""
    async with AsyncExitStack() as stack:
        if settings.emulator:
            from gemini_interactions_mcp.embedded import embedded_emulator

            base_url = await stack.enter_async_context(embedded_emulator(settings))
            config = ClientConfig.from_env(base_url=base_url, api_key=None)
        else:
            config = ClientConfig.from_env()
        client = InteractionsClient(with_tier(config, settings), call_key=caller_key, **client_options)
        yield await stack.enter_async_context(client)


def with_tier(config: ClientConfig, settings: ServerSettings) -> ClientConfig:
    """The client settings with the server's service tier (when one is set)."""
    if settings.service_tier is None:
        return config
    return config.model_copy(update={"service_tier": settings.service_tier})


def limit_settings(settings: ServerSettings) -> LimitSettings:
    return LimitSettings(
        requests_per_minute=settings.requests_per_minute,
        request_burst=settings.request_burst,
        max_running_jobs=settings.max_running_jobs,
        daily_token_budget=settings.daily_token_budget,
        daily_usd_budget=settings.daily_usd_budget,
    )


async def prune_periodically(store: Store, retention_days: float) -> None:
    """Drop finished jobs past their retention now and every hour (running jobs are never pruned)."""
    while True:
        try:
            pruned = await store.prune_jobs(finished_before=time.time() - retention_days * 86_400)
        except StoreError as exc:  # a full disk or an unwritable file must not stop the server
            log.warning("pruning finished jobs skipped until the next round: %s", exc)
        else:
            if pruned:
                log.info("pruned %d finished jobs older than %g days", pruned, retention_days)
        await anyio.sleep(PRUNE_INTERVAL_SECONDS)


async def _services(
    settings: ServerSettings,
    store: Store,
    client: InteractionsClient,
    task_group: TaskGroup,
    announcer: UpdateAnnouncer,
    heartbeats: Heartbeats,
    on_limit_refused: RefusalListener | None = None,
    hub: DownstreamHub | None = None,
) -> AppState:
    """Wire the services (each gets only what it uses) and resume the jobs a previous run left running."""
    catalog_data = Catalog.load()
    loader = FileLoader(
        list(settings.allow_dirs),
        max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
        max_total_bytes=int(settings.max_total_mb * 1024 * 1024),
        show_roots=settings.transport == "stdio",
        max_upload_bytes=int(settings.max_upload_mb * 1024 * 1024),
    )
    inputs = TurnInputs(loader, FileUploader(store=store, files=FilesAPI(client)))
    library = MediaLibrary(
        store,
        output_dir=settings.output_dir,
        allowed_dirs=settings.allow_dirs,
        show_paths=settings.transport == "stdio",
    )
    jobs = JobService(store=store, client=client, task_group=task_group, media=library)
    directory = ConversationDirectory(store)
    chain = ConversationChain(store=store, client=client, jobs=jobs)

    async def announce(interaction_id: str) -> None:
        await announcer.announce(resource_uri(interaction_id))

    jobs.on_finished(chain.job_finished)  # the conversation records the turn before anyone hears of it
    sandbox = SandboxService(store=store, api=SandboxFilesAPI(client), media=library)
    jobs.before_finish(sandbox.finishing)  # a run's downloads are in its output once it reads as finished
    jobs.on_end_heard(announce)  # every process tells its own subscribers, whichever finished the job
    ledger = UsageLedger(store)
    jobs.on_finished(ledger.job_finished)
    limiter = Limits(limit_settings(settings), ledger=ledger, rate_limiter=store.rate_limiter(), store=store)
    if on_limit_refused is not None:
        limiter.on_refusal(on_limit_refused)
    background = BackgroundTurns(directory=directory, chain=chain, client=client, jobs=jobs, limits=limiter)
    task_group.start_soon(heartbeats.run)
    task_group.start_soon(prune_periodically, store, settings.job_retention_days)
    tool_loop = (
        None
        if hub is None
        else ToolLoop(
            hub,
            max_rounds=settings.max_tool_rounds,
            roots=settings.allow_dirs,
            show_roots=settings.transport == "stdio",
        )
    )
    asks = AskService(
        directory=directory,
        chain=chain,
        client=client,
        jobs=jobs,
        catalog=catalog_data,
        inputs=inputs,
        heartbeats=heartbeats,
        default_model=settings.default_model,
        media=library,
        ledger=ledger,
        tool_loop=tool_loop,
    )
    jobs.on_requires_action(asks.carry_on)  # a function-calling loop goes on past the caller's deadline
    resumed = await jobs.sweep()
    if resumed:
        log.info("found %d unfinished background interactions to watch", resumed)
    task_group.start_soon(jobs.keep_watch)
    return AppState(
        settings=settings,
        asks=asks,
        conversations=directory,
        jobs=jobs,
        research=ResearchService(
            background=background, inputs=inputs, catalog=catalog_data, store=store, hub=hub
        ),
        agents=AgentService(
            store=store,
            client=client,
            catalog=catalog_data,
            inputs=inputs,
            background=background,
            tool_loop=tool_loop,
        ),
        media=library,
        images=ImageService(asks=asks, catalog=catalog_data),
        speech=SpeechService(
            client=client,
            jobs=jobs,
            catalog=catalog_data,
            media=library,
            ledger=ledger,
            heartbeats=heartbeats,
        ),
        limits=limiter,
        usage=ledger,
        file_stores=FileStoreService(store=store, api=FileSearchAPI(client), jobs=jobs, files=loader),
        sandbox=sandbox,
    )


def _mcp_servers(settings: ServerSettings) -> list[ServerConfig]:
    """The downstream MCP servers of --mcp-config (none without it); unknown keys are logged."""
    if settings.mcp_config is None:
        return []
    try:
        loaded = load_config(settings.mcp_config)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    for warning in loaded.warnings:
        log.warning("%s", warning)
    return list(loaded.servers)


_SDK_LOGGING_HOOK = "configure_logging"
"""What `MCPServer.__init__` calls to set up logging (a name in the SDK's server module)."""


@contextmanager
def _sdk_logging_skipped() -> Iterator[None]:
    """While our MCPServer is built, the SDK's `configure_logging` is skipped: it imports rich (about
    20 ms of every start) to build a handler that `logging.basicConfig` then drops, since the command
    line configured logging first (logs.py owns it)."""
    configure = getattr(sdk_server, _SDK_LOGGING_HOOK)
    setattr(sdk_server, _SDK_LOGGING_HOOK, _leave_logging_alone)
    try:
        yield
    finally:
        setattr(sdk_server, _SDK_LOGGING_HOOK, configure)


def _leave_logging_alone(level: str = "INFO") -> None:
    """Stands in for the SDK's `configure_logging` (see `_sdk_logging_skipped`)."""


def build_server(
    settings: ServerSettings,
    *,
    client_factory: ClientFactory = default_client,
    transport: httpx2.AsyncBaseTransport | None = None,
    client_config: ClientConfig | None = None,
    on_limit_refused: RefusalListener | None = None,
    operations: Operations | None = None,
    **server_options: Any,
) -> MCPServer[AppState]:
    """The MCP server for `settings`.

    `on_limit_refused` hears of every call a per-principal limit refused (for metrics); `operations`
    (HTTP) is bound to the running app for readiness, draining and metrics (operations.py).

    Tests reach an emulator by passing `client_config` (its URL and key) and/or `transport` (in-process);
    otherwise `client_factory` makes the client (the real API, or the embedded emulator).
    """
    if settings.request_state_keys:  # replicas open each other's sealed multi-round-trip state
        keys = [key.get_secret_value() for key in settings.request_state_keys]
        server_options.setdefault("request_state_security", RequestStateSecurity(keys=keys))
    announcer = UpdateAnnouncer()
    usage_view = usage.UsageView()
    downstream = DownstreamHub(_mcp_servers(settings), Implementation(name=SERVER_NAME, version=__version__))

    @asynccontextmanager
    async def make_client() -> AsyncIterator[InteractionsClient]:
        options = operations.client_options if operations is not None else {}
        if transport is None and client_config is None:
            async with client_factory(settings, **options) as client:
                yield client
            return
        config = client_config or ClientConfig.from_env(base_url="http://emulator.local", api_key=None)
        async with InteractionsClient(
            with_tier(config, settings), transport=transport, call_key=caller_key, **options
        ) as client:
            yield client

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        async with AsyncExitStack() as stack:
            state = state_spec(settings.state, emulated=settings.emulator)
            store = await open_store(
                state,
                max_output_chars=int(settings.max_output_mb * 1_000_000),
                show_location=settings.transport == "stdio",  # paths and hosts mean nothing remotely
            )
            stack.push_async_callback(store.close)
            client = await stack.enter_async_context(make_client())
            task_group = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(task_group.cancel_scope.cancel)
            downstream.attach(task_group)
            heartbeats = Heartbeats()
            services = await _services(
                settings, store, client, task_group, announcer, heartbeats, on_limit_refused, downstream
            )
            usage_view.bind(services.usage, services.limits)
            if operations is not None:
                stop = [services.jobs.drain, heartbeats.drain, close_listen_streams(server)]
                operations.bind(store, jobs=services.jobs.counts, on_drain=stop)
                stack.callback(operations.unbind)
            yield services

    with _sdk_logging_skipped():
        server: MCPServer[AppState] = MCPServer(
            SERVER_NAME,
            version=__version__,
            instructions=INSTRUCTIONS,
            lifespan=lifespan,
            log_level=settings.log_level,
            subscriptions=announcer.bus,
            **server_options,
        )
    reuse_tool_registrations(server)
    ask.register(server)
    conversations.register(server)
    research.register(server)
    interactions.register(server)
    agents.register(server)
    images.register(server)
    speech.register(server)
    file_stores.register(server)
    sandbox.register(server)
    catalog.register(server)
    media.register(server)
    usage.register(server, usage_view)
    limits.register(server)
    bridge.register(server, downstream)
    prompts.register(server)
    completions.register(server)
    announcer.register(server)
    server.middleware.append(ProtocolDetails(server))
    return server

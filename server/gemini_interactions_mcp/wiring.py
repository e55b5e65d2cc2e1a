"""The app's services, wired: the state store, the Gemini client, the background task group, the
downstream MCP servers, and every service on top of them.

The app's lifespan (app.py) enters `running_services` once the server has answered its first listing,
or when a request needs the services, whichever comes first: this module and what it imports (the
Gemini client, the store, the services) are loaded only then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, Protocol

import anyio
import httpx2
from anyio.abc import TaskGroup
from mcp.types import Implementation

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.downstream.config import ServerConfig
from gemini_interactions_mcp.downstream.hub import DownstreamHub
from gemini_interactions_mcp.gemini import (
    ClientConfig,
    FilesAPI,
    FileSearchAPI,
    InteractionsClient,
    SandboxFilesAPI,
)
from gemini_interactions_mcp.gemini.units import MIB
from gemini_interactions_mcp.identity import SERVER_NAME
from gemini_interactions_mcp.operations import Operations
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
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.leases import JOB_WATCHER_TTL_SECONDS
from gemini_interactions_mcp.services.limits import Limits, LimitSettings, RefusalListener
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.research import ResearchService
from gemini_interactions_mcp.services.rounds import RoundsInFlight
from gemini_interactions_mcp.services.sandbox import SandboxService
from gemini_interactions_mcp.services.speech import SpeechService
from gemini_interactions_mcp.services.toolloop import ToolLoop
from gemini_interactions_mcp.services.uploads import FileUploader, forget_expired_uploads
from gemini_interactions_mcp.services.uris import resource_uri
from gemini_interactions_mcp.services.usage import UsageLedger
from gemini_interactions_mcp.state import Store, StoreError, open_store, state_spec
from gemini_interactions_mcp.tools._wiring import AppState
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


async def prune_periodically(store: Store, media: MediaLibrary, retention_days: float) -> None:
    """Drop finished jobs and saved media past their retention, and uploads the Files API has deleted, now
    and every hour (running jobs are never pruned; media files are deleted only from the server's own
    folder: MediaLibrary.prune)."""
    while True:
        now = time.time()
        cutoff = now - retention_days * 86_400
        try:
            pruned = await store.prune_jobs(finished_before=cutoff)
        except StoreError as exc:  # a full disk or an unwritable file must not stop the server
            log.warning("pruning finished jobs skipped until the next round: %s", exc)
        else:
            if pruned:
                log.info("pruned %d finished jobs older than %g days", pruned, retention_days)
        try:
            records, files = await media.prune(created_before=cutoff)
        except StoreError as exc:
            log.warning("pruning saved media skipped until the next round: %s", exc)
        else:
            if records:
                log.info(
                    "pruned %d saved media (%d files) older than %g days", records, files, retention_days
                )
        try:
            forgotten = await forget_expired_uploads(store, now)
        except StoreError as exc:
            log.warning("forgetting expired uploads skipped until the next round: %s", exc)
        else:
            if forgotten:
                log.info("forgot %d uploads the Files API has deleted", forgotten)
        await anyio.sleep(PRUNE_INTERVAL_SECONDS)


async def _services(
    settings: ServerSettings,
    store: Store,
    client: InteractionsClient,
    task_group: TaskGroup,
    announcer: UpdateAnnouncer,
    heartbeats: Heartbeats,
    on_limit_refused: RefusalListener | None,
    hub: DownstreamHub,
) -> AppState:
    """Wire the services (each gets only what it uses) and resume the jobs a previous run left running."""
    catalog_data = Catalog.load()
    loader = FileLoader(
        list(settings.allow_dirs),
        max_file_bytes=int(settings.max_file_mb * MIB),
        max_total_bytes=int(settings.max_total_mb * MIB),
        show_roots=settings.transport == "stdio",
        max_upload_bytes=int(settings.max_upload_mb * MIB),
    )
    inputs = TurnInputs(loader, FileUploader(store=store, files=FilesAPI(client)))
    library = MediaLibrary(
        store,
        output_dir=settings.output_dir,
        allowed_dirs=settings.allow_dirs,
        show_paths=settings.transport == "stdio",
    )
    lease = settings.job_lease_seconds
    jobs = JobService(
        store=store,
        client=client,
        task_group=task_group,
        media=library,
        watcher_ttl=JOB_WATCHER_TTL_SECONDS if lease is None else lease,
    )
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
    task_group.start_soon(prune_periodically, store, library, settings.job_retention_days)
    tool_loop = ToolLoop(
        hub,
        RoundsInFlight(task_group),
        max_rounds=settings.max_tool_rounds,
        roots=settings.allow_dirs,
        show_roots=settings.transport == "stdio",
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
    jobs.on_end_heard(tool_loop.rounds.cancel)  # a job's end stops the round of calls it left running
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
        downstream=hub,
    )


@asynccontextmanager
async def _client(
    settings: ServerSettings,
    client_factory: ClientFactory | None,
    transport: httpx2.AsyncBaseTransport | None,
    client_config: ClientConfig | None,
    operations: Operations | None,
) -> AsyncIterator[InteractionsClient]:
    """The Gemini client: `client_factory`'s (the real API, or the embedded emulator), or for tests
    an emulator reached through `client_config` (its URL and key) and/or `transport` (in-process)."""
    options = operations.client_options if operations is not None else {}
    if transport is None and client_config is None:
        async with (client_factory or default_client)(settings, **options) as client:
            yield client
        return
    config = client_config or ClientConfig.from_env(base_url="http://emulator.local", api_key=None)
    async with InteractionsClient(
        with_tier(config, settings), transport=transport, call_key=caller_key, **options
    ) as client:
        yield client


@asynccontextmanager
async def running_services(
    settings: ServerSettings,
    *,
    announcer: UpdateAnnouncer,
    mcp_servers: list[ServerConfig],
    close_streams: Callable[[], None],
    client_factory: ClientFactory | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    client_config: ClientConfig | None = None,
    on_limit_refused: RefusalListener | None = None,
    operations: Operations | None = None,
) -> AsyncIterator[AppState]:
    """The services for `settings`, running until the block ends (see `build_server` for the options;
    `mcp_servers` are the downstream servers of --mcp-config, `close_streams` ends the open listen
    streams on a drain)."""
    async with AsyncExitStack() as stack:
        state = state_spec(settings.state, emulated=settings.emulator)
        store = await open_store(
            state,
            max_output_chars=int(settings.max_output_mb * 1_000_000),
            show_location=settings.transport == "stdio",  # paths and hosts mean nothing remotely
        )
        stack.push_async_callback(store.close)
        client = await stack.enter_async_context(
            _client(settings, client_factory, transport, client_config, operations)
        )
        task_group = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(task_group.cancel_scope.cancel)
        downstream = DownstreamHub(mcp_servers, Implementation(name=SERVER_NAME, version=__version__))
        downstream.attach(task_group)
        heartbeats = Heartbeats()
        services = await _services(
            settings, store, client, task_group, announcer, heartbeats, on_limit_refused, downstream
        )
        if operations is not None:
            stop = [services.jobs.drain, heartbeats.drain, close_streams]
            operations.bind(store, jobs=services.jobs.counts, on_drain=stop)
            stack.callback(operations.unbind)
        yield services

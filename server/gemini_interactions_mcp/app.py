"""Builds the MCPServer. Its lifespan yields at once and wires the services (wiring.py) in a task of
its own: the server answers its first listing before the Gemini client, the state store and the services
are even loaded, and each request that needs them waits for them (`WiringGate`, tools/_wiring.py).

When the wiring starts: at once when a request needs the services, shortly after the first listing is
answered, `WIRING_GRACE_SECONDS` after the start at the latest (at once over HTTP, where readiness and
drains need the store), and in any case before the server stops: a start on a state file that cannot
be opened fails as it always did, naming the file, even when the client hung up at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver import server as sdk_server
from mcp.server.request_state import RequestStateSecurity

from gemini_interactions_mcp import __version__, lean_sdk
from gemini_interactions_mcp.config import ServerSettings, SettingsError
from gemini_interactions_mcp.identity import INSTRUCTIONS, SERVER_NAME
from gemini_interactions_mcp.protocol import ProtocolDetails, close_listen_streams
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
from gemini_interactions_mcp.tools._registry import reuse_tool_registrations
from gemini_interactions_mcp.tools._wiring import LatestWiring, Wiring, WiringGate
from gemini_interactions_mcp.tools.subscriptions import UpdateAnnouncer

if TYPE_CHECKING:
    import httpx2

    from gemini_interactions_mcp.downstream.config import ServerConfig
    from gemini_interactions_mcp.gemini import ClientConfig
    from gemini_interactions_mcp.operations import Operations
    from gemini_interactions_mcp.services.limits import RefusalListener
    from gemini_interactions_mcp.wiring import ClientFactory

log = logging.getLogger(__name__)


def _mcp_servers(settings: ServerSettings) -> list[ServerConfig]:
    """The downstream MCP servers of --mcp-config (none without it); unknown keys are logged."""
    if settings.mcp_config is None:
        return []
    from gemini_interactions_mcp.downstream.config import ConfigError, load_config

    try:
        loaded = load_config(settings.mcp_config)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    for warning in loaded.warnings:
        log.warning("%s", warning)
    return list(loaded.servers)


WIRING_GRACE_SECONDS = 1.0
"""On stdio, the longest the wiring waits for a reason to start (a request, a listing answered): an
idle client's unfinished jobs are resumed all the same."""


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
    client_factory: ClientFactory | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
    client_config: ClientConfig | None = None,
    on_limit_refused: RefusalListener | None = None,
    operations: Operations | None = None,
    **server_options: Any,
) -> MCPServer[Wiring]:
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
    mcp_servers = _mcp_servers(settings)
    latest = LatestWiring()
    grace = 0.0 if settings.transport == "http" else WIRING_GRACE_SECONDS

    async def serve_services(wiring: Wiring, stop: anyio.Event) -> None:
        await wiring.until_needed(grace)
        from gemini_interactions_mcp.wiring import running_services  # the services load here

        published = False
        try:
            async with running_services(
                settings,
                announcer=announcer,
                mcp_servers=mcp_servers,
                close_streams=close_listen_streams(server),
                client_factory=client_factory,
                transport=transport,
                client_config=client_config,
                on_limit_refused=on_limit_refused,
                operations=operations,
            ) as services:
                wiring.publish(services)
                published = True
                await stop.wait()
        finally:
            if not published:  # requests waiting for the services fail; the lifespan raises why
                wiring.publish(None)

    @asynccontextmanager
    async def lifespan(_: MCPServer[Wiring]) -> AsyncIterator[Wiring]:
        wiring = Wiring()
        latest.bind(wiring)
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(serve_services, wiring, stop)
            try:
                yield wiring
            finally:
                wiring.begin()  # a server stopping before it wired still opens (so checks) its store
                stop.set()

    with _sdk_logging_skipped():
        server: MCPServer[Wiring] = MCPServer(
            SERVER_NAME,
            version=__version__,
            instructions=INSTRUCTIONS,
            lifespan=lifespan,
            log_level=settings.log_level,
            subscriptions=announcer.bus,
            **server_options,
        )
    reuse_tool_registrations(server)
    lean_sdk.lighten(server)
    server.middleware.append(WiringGate())  # first of ours: what follows may use the services
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
    usage.register(server, latest)
    limits.register(server)
    bridge.register(server, latest)
    prompts.register(server)
    completions.register(server)
    announcer.register(server)
    server.middleware.append(ProtocolDetails(server))
    return server

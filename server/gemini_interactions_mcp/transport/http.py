"""Streamable HTTP at /mcp for both protocol eras, plus /healthz, bearer auth and Host/Origin checks."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from sse_starlette.sse import AppStatus
from starlette.types import ASGIApp

from gemini_interactions_mcp import metrics
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings, SettingsError
from gemini_interactions_mcp.operations import Operations
from gemini_interactions_mcp.transport import collect_garbage_again
from gemini_interactions_mcp.transport.auth import auth_options, serve_metadata_at_the_root
from gemini_interactions_mcp.transport.byok import CallerKeys
from gemini_interactions_mcp.transport.http_parser import BoundedHttpToolsProtocol
from gemini_interactions_mcp.transport.lean_exchange import answer_leanly
from gemini_interactions_mcp.transport.observability import Observability
from gemini_interactions_mcp.transport.resumability import RETRY_MILLISECONDS, EventBuffer, resume_per_session

MCP_PATH = "/mcp"
LOOPBACK_HOST_PATTERNS = ("127.0.0.1:*", "localhost:*", "[::1]:*")


def transport_security(settings: ServerSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection: loopback names (on a loopback bind) plus every --allowed-host/origin.

    A non-loopback bind with no --allowed-host accepts any Host: it is reachable under names this
    process cannot know, and bearer tokens (required there) are what keep strangers out.
    """
    hosts = list(settings.allowed_hosts)
    origins = list(settings.allowed_origins)
    if settings.is_loopback:
        hosts += LOOPBACK_HOST_PATTERNS
        origins += [f"http://{pattern}" for pattern in LOOPBACK_HOST_PATTERNS]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=bool(hosts),
        allowed_hosts=hosts,
        allowed_origins=origins,
    )


def http_app(
    settings: ServerSettings, *, operations: Operations | None = None, **build_options: Any
) -> ASGIApp:
    """The ASGI app for `settings`; refuses an open non-loopback bind unless explicitly allowed.

    `operations` (one is made if not given) is what serve_http drains on SIGTERM.
    """
    if (
        not settings.tokens
        and not settings.oauth
        and not settings.is_loopback
        and not settings.allow_unauthenticated
    ):
        raise SettingsError(
            f"refusing to serve {settings.host} without authentication: set GEMINI_MCP_TOKENS or "
            "--token-file, or --oauth-issuer and --oauth-audience, or pass --allow-unauthenticated if every "
            "client that can reach it may use it"
        )
    operations = operations or Operations()
    operations.client_options.update(metrics.client_options())
    build_options.setdefault("on_limit_refused", metrics.count_refusal)
    server = build_server(settings, **auth_options(settings), operations=operations, **build_options)
    serve_metadata_at_the_root(server, settings)
    server.middleware.insert(0, metrics.ToolCallMetrics(server))  # outermost: it sees every refusal too
    metrics.watch(operations.jobs, operations.calls_open)
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=transport_security(settings),
        host=settings.host,
        retry_interval=RETRY_MILLISECONDS,
    )
    resume_per_session(server.session_manager, EventBuffer())
    answer_leanly(server.session_manager)
    if settings.byok:
        authenticated = bool(settings.tokens or settings.oauth)
        app = CallerKeys(app, mcp_path=MCP_PATH, required=settings.byok_required, authenticated=authenticated)
    return Observability(app, operations, mcp_path=MCP_PATH)


class DrainingServer(uvicorn.Server):
    """uvicorn, draining the app first when it is told to stop (SIGTERM, SIGINT).

    uvicorn then stops accepting, waits up to the grace period for open calls (which the drain has
    made short: polls and answers hand back their handles), and runs the app's shutdown, which stops
    the job watchers (releasing their leases, so another replica takes the jobs over at once).

    The event streams of the SDK (sse-starlette) would end by themselves within half a second of the
    signal, a call's stream too, before the call has written the handle the drain gave it (the client
    then sees its stream end without an answer). So they are ended here instead, once every call to
    /mcp has been answered: what stays open then are the clients' listening GET streams.
    """

    def __init__(self, config: uvicorn.Config, operations: Operations) -> None:
        super().__init__(config)
        self._operations = operations
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Task[None] | None = None  # kept: the loop holds tasks only weakly

    def run(self, sockets: Any = None) -> None:
        """Serve under `anyio.run` rather than uvicorn's own asyncio runner: anyio then names the event
        loop's library once, for every task, where otherwise each anyio call (cancel scopes, events,
        clocks: dozens per tool call, in the SDK and here) finds it again by inspecting the current
        task whenever sniffio is installed (about 40 µs of CPU per call, bench/http_load.py)."""
        loop_factory = self.config.get_loop_factory()
        anyio.run(self.serve, sockets, backend="asyncio", backend_options={"loop_factory": loop_factory})

    async def serve(self, sockets: Any = None) -> None:
        self._loop = asyncio.get_running_loop()
        AppStatus.enable_automatic_graceful_drain = False  # ended by _end_streams_once_calls_are_answered
        await super().serve(sockets)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        collect_garbage_again()

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._drain)
        super().handle_exit(sig, frame)

    def _drain(self) -> None:
        self._operations.drain()
        if self._closing is None and self._loop is not None:
            self._closing = self._loop.create_task(self._end_streams_once_calls_are_answered())

    async def _end_streams_once_calls_are_answered(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                await self._operations.calls_answered()
        AppStatus.should_exit = True


def uvicorn_config(settings: ServerSettings, operations: Operations) -> uvicorn.Config:
    """How uvicorn serves the app: on asyncio's own loop, reading requests with httptools.

    Both are pinned rather than left to uvicorn, which picks uvloop and its own httptools protocol
    whenever they are installed: the server is tested and measured on asyncio's loop (uvloop brought
    no gain worth a second loop to test: 2.69-2.79 ms of server CPU per call under 10 clients, against
    2.83 on asyncio's loop, runs that move by 0.1 ms), and uvicorn's httptools protocol lacks the
    limits on request heads that `BoundedHttpToolsProtocol` puts back."""
    return uvicorn.Config(
        http_app(settings, operations=operations),
        host=settings.host,
        port=settings.port,
        loop="asyncio",
        http=BoundedHttpToolsProtocol,
        log_config=None,  # uvicorn's own lines go through our handler (text or JSON)
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
        timeout_graceful_shutdown=settings.drain_seconds,
    )


def serve_http(settings: ServerSettings) -> None:
    operations = Operations()
    DrainingServer(uvicorn_config(settings, operations), operations).run()

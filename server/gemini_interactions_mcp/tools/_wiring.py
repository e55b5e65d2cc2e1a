"""The services as the tools reach them: `AppState`, wired after the server has started answering.

Loading and wiring the services (the Gemini client, the state store, the services: about 150 ms of
CPU) would hold up the first `tools/list`, which needs none of them. So the app's lifespan (app.py)
yields a `Wiring` at once and wires them in a task of its own (wiring.py); `WiringGate` holds each
request that needs them until they are there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from gemini_interactions_mcp.config import ServerSettings

if TYPE_CHECKING:
    from gemini_interactions_mcp.downstream.hub import DownstreamHub
    from gemini_interactions_mcp.services.agents import AgentService
    from gemini_interactions_mcp.services.ask import AskService
    from gemini_interactions_mcp.services.conversations import ConversationDirectory
    from gemini_interactions_mcp.services.file_stores import FileStoreService
    from gemini_interactions_mcp.services.images import ImageService
    from gemini_interactions_mcp.services.jobs import JobService
    from gemini_interactions_mcp.services.limits import Limits
    from gemini_interactions_mcp.services.media import MediaLibrary
    from gemini_interactions_mcp.services.research import ResearchService
    from gemini_interactions_mcp.services.sandbox import SandboxService
    from gemini_interactions_mcp.services.speech import SpeechService
    from gemini_interactions_mcp.services.usage import UsageLedger

NEEDS_NO_SERVICES = frozenset(
    {
        "initialize",
        "server/discover",
        "ping",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "logging/setLevel",
    }
)
"""Requests answered from what the server was built with: every other one waits for the services."""
HANDSHAKE = frozenset({"initialize", "server/discover"})
LISTING_HEAD_START_SECONDS = 0.05
"""After the first listing is answered, how long the wiring waits: time for the answer to leave before
the wiring's imports hold the event loop (the client's next request, a ping say, is answered too)."""


@dataclass(frozen=True)
class AppState:
    """What the tools may use, shared by every request (and every caller): settings and services.

    The app's lifespan builds it; the store and the Gemini client stay behind the services.
    """

    settings: ServerSettings
    asks: AskService
    conversations: ConversationDirectory
    jobs: JobService
    research: ResearchService
    agents: AgentService
    media: MediaLibrary
    images: ImageService
    speech: SpeechService
    limits: Limits
    usage: UsageLedger
    file_stores: FileStoreService
    sandbox: SandboxService
    downstream: DownstreamHub


class Wiring:
    """The app's lifespan state: its services (AppState), once wired (see the module docstring). One
    per lifespan: a server may serve several connections at once, each its own."""

    def __init__(self) -> None:
        self._state: AppState | None = None
        self._begin = anyio.Event()
        self._listed = anyio.Event()
        self._done = anyio.Event()

    @property
    def state(self) -> AppState:
        """The services; only for what runs after `wired()` (every request past the gate)."""
        if self._state is None:
            raise RuntimeError("the services were used before they were wired")
        return self._state

    def begin(self) -> None:
        """Ask for the wiring to start now (idempotent)."""
        self._begin.set()

    def listed(self) -> None:
        """A listing was answered: the wiring may start (after a head start for the answer)."""
        self._listed.set()

    async def until_needed(self, grace: float) -> None:
        """Returns when the wiring should start: at once when asked (`begin`), shortly after the
        first listing was answered, or `grace` seconds from now at the latest (an idle client's
        unfinished jobs are resumed all the same)."""
        with anyio.move_on_after(grace):
            async with anyio.create_task_group() as group:
                group.start_soon(self._begin_after_listing)
                await self._begin.wait()
                group.cancel_scope.cancel()

    async def _begin_after_listing(self) -> None:
        await self._listed.wait()
        await anyio.sleep(LISTING_HEAD_START_SECONDS)
        self._begin.set()

    def publish(self, state: AppState | None) -> None:
        """The wiring's outcome: the services, or None when it failed (the lifespan raises why)."""
        self._state = state
        self._done.set()

    async def wired(self) -> AppState:
        """The services, starting the wiring if it has not started, and waiting for it. Once they are
        there, at once: no checkpoint (an awaited set event still yields to the event loop, a pass of
        it per call for nothing)."""
        if self._state is not None:
            return self._state
        self.begin()
        await self._done.wait()
        if self._state is None:
            raise RuntimeError("the server's services could not be started (its log says why)")
        return self._state


class LatestWiring:
    """The services of the server's latest lifespan, for its static resources, which the SDK calls
    without a request context (an HTTP server has one lifespan; an in-process one, one per connection)."""

    def __init__(self) -> None:
        self._wiring: Wiring | None = None

    def bind(self, wiring: Wiring) -> None:
        self._wiring = wiring

    async def services(self) -> AppState:
        if self._wiring is None:
            raise RuntimeError("a static resource was read before the server started")
        return await self._wiring.wired()


class WiringGate:
    """The middleware between requests and the services (see `Wiring`): a request that needs them
    waits for them, and the first listing (a `tools/list`, typically) starts the wiring once answered.
    Notifications pass: none needs the services."""

    async def __call__(self, ctx: ServerRequestContext[Wiring, Any], call_next: CallNext) -> HandlerResult:
        if ctx.request_id is None:
            return await call_next(ctx)
        wiring = ctx.lifespan_context
        if ctx.method not in NEEDS_NO_SERVICES:
            await wiring.wired()
            return await call_next(ctx)
        result = await call_next(ctx)
        if ctx.method not in HANDSHAKE:
            wiring.listed()
        return result

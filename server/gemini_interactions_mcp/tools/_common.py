"""What every tool needs from the request: the app's services, the caller, errors and progress.

The services arrive after the server has started answering (`Wiring`): nothing here, and nothing the
tools import at the top, loads them (tests/test_layers.py pins it). Where a tool needs a service's
module itself (its errors, say), it imports it inside the function that runs once they are wired.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import anyio
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.services.caller_keys import caller_key, principal_with_key
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL

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

FILES = "Local paths (files or folders) or http(s) URLs."
STORES = "Your File Search stores to search (manage_file_store)."
"""Parameter descriptions several tools share: one wording, so a model learns it once."""
MAX_OFFSET = 1_000_000_000
"""Schema maximum of every offset a tool takes (far past any real list or output, far below int64)."""


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
    """The app's lifespan state: its services (AppState), once wired.

    Loading and wiring the services (the Gemini client, the state store: about 150 ms of CPU) would
    hold up the first `tools/list`, which needs none of them. So the lifespan (app.py) yields this at
    once and wires them in a task of its own, and `WiringGate` holds each request that needs them until
    they are there. One per lifespan (a server may serve several connections at once, each its own).
    """

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
        """The services, starting the wiring if it has not started, and waiting for it."""
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


T = TypeVar("T")
AppContext: TypeAlias = Context[Wiring, Any]


def app_state(ctx: AppContext) -> AppState:
    return ctx.request_context.lifespan_context.state


def principal() -> str:
    """The authenticated subject over HTTP; `local` on stdio and unauthenticated loopback HTTP; with
    the caller's own Gemini key, a principal of that key (services/caller_keys.py)."""
    token = get_access_token()
    return principal_with_key(token.client_id if token is not None else LOCAL_PRINCIPAL, caller_key())


async def read_resource(call: Awaitable[T]) -> T:
    """Await a resource read: an unknown id (someone else's looks the same) is invalid params (-32602),
    another actionable failure a resource error the client can show."""
    from gemini_interactions_mcp.services.errors import EXPLAINED, UnknownHandleError, failure_message

    try:
        return await call
    except UnknownHandleError as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except EXPLAINED as exc:
        raise ResourceError(failure_message(exc)) from None


async def run_service(call: Awaitable[Any]) -> Any:
    """Await a service call, turning its actionable failures into errors the model can read."""
    from gemini_interactions_mcp.services.errors import EXPLAINED, failure_message

    try:
        return await call
    except EXPLAINED as exc:
        raise ToolError(failure_message(exc)) from None


class ProgressReporter:
    """Sends progress notifications for one tool call: monotonic and throttled.

    Progress-aware clients reset their timeout on each notification, so the caller sends at least one
    every `heartbeat_seconds` while it waits; other notes are throttled to one per `min_interval`.
    """

    def __init__(self, ctx: AppContext, *, min_interval: float = 0.5) -> None:
        self._ctx = ctx
        self._min_interval = min_interval
        self._count = 0
        self._last = 0.0

    async def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last < self._min_interval:
            return
        self._last = now
        self._count += 1
        await self._ctx.report_progress(self._count, None, message)

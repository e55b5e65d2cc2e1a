"""What every tool needs from the request: the app's services, the caller, errors and progress."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.services.agents import AgentService
from gemini_interactions_mcp.services.ask import AskService
from gemini_interactions_mcp.services.caller_keys import caller_key, principal_with_key
from gemini_interactions_mcp.services.conversations import ConversationDirectory
from gemini_interactions_mcp.services.errors import EXPLAINED, UnknownHandleError, failure_message
from gemini_interactions_mcp.services.file_stores import FileStoreService
from gemini_interactions_mcp.services.images import ImageService
from gemini_interactions_mcp.services.jobs import JobService
from gemini_interactions_mcp.services.limits import Limits
from gemini_interactions_mcp.services.media import MediaLibrary
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
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


T = TypeVar("T")
AppContext: TypeAlias = Context[AppState, Any]


def app_state(ctx: AppContext) -> AppState:
    return ctx.request_context.lifespan_context


def principal() -> str:
    """The authenticated subject over HTTP; `local` on stdio and unauthenticated loopback HTTP; with
    the caller's own Gemini key, a principal of that key (services/caller_keys.py)."""
    token = get_access_token()
    return principal_with_key(token.client_id if token is not None else LOCAL_PRINCIPAL, caller_key())


async def read_resource(call: Awaitable[T]) -> T:
    """Await a resource read: an unknown id (someone else's looks the same) is invalid params (-32602),
    another actionable failure a resource error the client can show."""
    try:
        return await call
    except UnknownHandleError as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except EXPLAINED as exc:
        raise ResourceError(failure_message(exc)) from None


async def run_service(call: Awaitable[Any]) -> Any:
    """Await a service call, turning its actionable failures into errors the model can read."""
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

"""What every tool needs from the request: the app's services, the caller, errors and progress.

The services arrive after the server has started answering (tools/_wiring.py): nothing the tools
import at the top loads them (tests/mcp_server/test_wiring.py pins it). Where a tool needs a service's
module itself (its errors, say), it imports it inside the function that runs once they are wired.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any, TypeAlias, TypeVar

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from gemini_interactions_mcp.services.caller_keys import caller_key, principal_with_key
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
from gemini_interactions_mcp.tools._context import request_of
from gemini_interactions_mcp.tools._wiring import AppState, Wiring

FILES = "Local paths (files or folders) or http(s) URLs."
STORES = "Your File Search stores to search (manage_file_store)."
"""Parameter descriptions several tools share: one wording, so a model learns it once."""
MAX_OFFSET = 1_000_000_000
"""Schema maximum of every offset a tool takes (far past any real list or output, far below int64)."""


T = TypeVar("T")
AppContext: TypeAlias = Context[Wiring, Any]


def app_state(ctx: AppContext) -> AppState:
    return request_of(ctx).lifespan_context.state


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
    try:
        return await call
    except Exception as exc:
        # Imported here, off the path of every call that succeeds (an import statement costs a
        # microsecond each time it runs).
        from gemini_interactions_mcp.services.errors import EXPLAINED, failure_message

        if isinstance(exc, EXPLAINED):
            raise ToolError(failure_message(exc)) from None
        raise


class ProgressReporter:
    """Sends progress notifications for one tool call: monotonic and throttled.

    Progress-aware clients reset their timeout on each notification, so the caller sends at least one
    every `heartbeat_seconds` while it waits; other notes are throttled to one per `min_interval`.
    """

    def __init__(self, ctx: AppContext, *, min_interval: float = 0.5) -> None:
        self._session = request_of(ctx).session  # ctx.report_progress reads it anew each time (_context.py)
        self._min_interval = min_interval
        self._count = 0
        self._last = 0.0

    async def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last < self._min_interval:
            return
        self._last = now
        self._count += 1
        await self._session.report_progress(self._count, None, message)

"""The client's MCP roots, when it offers them: they bound which local files a tool may read."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

from mcp.shared.exceptions import MCPDeprecationWarning

from gemini_interactions_mcp.tools._common import AppContext, app_state

log = logging.getLogger(__name__)


async def client_roots(ctx: AppContext) -> list[Path] | None:
    """Directories the client declared as roots, or None when it offers none (or cannot be asked).

    Only on stdio: there the client and the server share a machine, so the client's workspace is the
    right boundary. Over HTTP a client's roots name folders on its own machine, so the server's
    --allow-dir folders apply. Roots are a server-to-client request, possible only on connections with
    a back-channel (2025-era sessions); elsewhere the --allow-dir folders apply too.
    """
    if app_state(ctx).settings.transport != "stdio":
        return None
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return None
    try:
        with warnings.catch_warnings():  # roots are deprecated in 2026-07-28; this path serves older clients
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            result = await ctx.session.list_roots()
    except Exception as exc:  # no back-channel, or the client failed: fall back, never fail the call
        log.debug("roots/list unavailable: %s", type(exc).__name__)
        return None
    paths = [
        Path(unquote(urlparse(str(root.uri)).path))
        for root in result.roots
        if str(root.uri).startswith("file:")
    ]
    return paths or None

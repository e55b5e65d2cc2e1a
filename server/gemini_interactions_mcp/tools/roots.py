"""The client's MCP roots, when it offers them: they bound which local files a tool may read."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from mcp.shared.exceptions import MCPDeprecationWarning

from gemini_interactions_mcp.tools._common import AppContext, app_state

log = logging.getLogger(__name__)
ENCODED_DRIVE = re.compile(r"^/([A-Za-z])%3[Aa](?=/|$)")


def root_path(uri: str, *, to_path: Callable[[str], str] = url2pathname) -> str | None:
    """The local folder a `file:` root names, by the standard library's file-URL rules for this system.

    On Windows `file:///C:/x` is `C:\\x` and `file://server/share` the UNC path `\\\\server\\share`; the bare
    URL path (`/C:/x`) is neither. VS Code percent-encodes the drive colon (`file:///c%3A/x`), and
    url2pathname looks for the colon before it decodes, so that colon is decoded first.
    """
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    location = parsed.path if parsed.netloc in ("", "localhost") else f"//{parsed.netloc}{parsed.path}"
    return to_path(ENCODED_DRIVE.sub(r"/\1:", location))


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
    paths = [Path(path) for root in result.roots if (path := root_path(str(root.uri))) is not None]
    return paths or None

"""Who this server says it is: name, instructions and the capabilities it advertises.

Standard library only, on purpose: the stdio transport answers a client's first `server/discover` or
`initialize` from these before the MCP SDK is even imported (transport/stdio.py), and the app states the
same facts through the SDK (app.py, protocol.py). One home, so the early answer and the SDK's never differ;
a test compares them in both protocol eras.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.tool_names import ToolName

SERVER_NAME = "gemini-interactions-mcp"
# The server's icon: a 64x64 palette PNG (1.6 KB) made from manifests/icon.png, the bundle's 512x512 one.
ICON_FILE = Path(__file__).with_name("icon.png")
ICON_SIZE = "64x64"

INSTRUCTIONS = (
    f"Gemini through the Interactions API. {ToolName.ASK} answers and keeps the conversation server-side "
    f"(continue it with the returned `conversation`; {ToolName.LIST_CONVERSATIONS} finds earlier ones). Long "
    f"work ({ToolName.START_RESEARCH}, or an answer past its deadline) returns an interaction_id: "
    f"{ToolName.POLL} it."
)

# What the server really does: it announces resource updates (2025-era `resources/subscribe`, 2026-07-28
# `subscriptions/listen`) but never a list change, since its tool, prompt and resource lists are fixed;
# it completes prompt and resource-template arguments. protocol.py makes the SDK's derived capabilities
# say exactly this.
CAPABILITIES: dict[str, Any] = {
    "completions": {},
    "prompts": {"listChanged": False},
    "resources": {"listChanged": False, "subscribe": True},
    "tools": {"listChanged": False},
}


@functools.cache
def server_info() -> dict[str, Any]:
    """Who the server is, icon included, as `initialize` and `server/discover` state it.

    The icon is a data URI because no public URL is ours to name (stdio has none at all), and it rides
    only on those two answers, once per connection: the SDK also stamps its serverInfo into every
    2026-07-28 result, so icons given to the SDK would add 2.1 KB to each of them (protocol.py adds it).
    """
    icon = base64.b64encode(ICON_FILE.read_bytes()).decode("ascii")
    return {
        "name": SERVER_NAME,
        "version": __version__,
        "icons": [{"src": f"data:image/png;base64,{icon}", "mimeType": "image/png", "sizes": [ICON_SIZE]}],
    }

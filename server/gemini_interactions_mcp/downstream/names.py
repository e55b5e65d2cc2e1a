"""Function names Gemini accepts, made from a server name and a tool name: `NAME__TOOL`.

Gemini's rule for a function name: letters, digits, `_ . : -`, starting with a letter or `_`, at most
64 characters (the older and stricter of the documented limits). Anything else becomes `_`; a long name
keeps its head and tail around `___` plus a short hash, so two long names never collide; names that still
collide after sanitising get a hash suffix too. The declared name is only ever looked up in the table
built here, never parsed back, so the separator may appear inside a part.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MAX_NAME = 64
SEPARATOR = "__"
_INVALID = re.compile(r"[^A-Za-z0-9_.:-]")
_MCP_SERVER_INVALID = re.compile(r"[^A-Za-z0-9_]")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def sanitise(raw: str) -> str:
    """`raw` under Gemini's function-name rule."""
    name = _INVALID.sub("_", raw) or "_"
    if not (name[0].isascii() and (name[0].isalpha() or name[0] == "_")):
        name = "_" + name
    if len(name) > MAX_NAME:
        keep = (MAX_NAME - 10) // 2
        name = f"{name[:keep]}___{_digest(raw)}{name[-(MAX_NAME - keep - 9) :]}"
    return name


def function_names(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A unique declared name for each (server, tool), in the order given."""
    names: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for server, tool in pairs:
        raw = f"{server}{SEPARATOR}{tool}"
        name = sanitise(raw)
        if name in taken:
            name = sanitise(f"{name[: MAX_NAME - 7]}_{_digest(raw)}")
        taken.add(name)
        names[(server, tool)] = name
    return names


def mcp_server_name(name: str) -> str:
    """A name for Gemini's own `mcp_server` tool, which must not contain `-` (snake_case)."""
    cleaned = _MCP_SERVER_INVALID.sub("_", name) or "server"
    return cleaned if cleaned[0].isalpha() or cleaned[0] == "_" else "_" + cleaned

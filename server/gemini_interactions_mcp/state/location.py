"""Where the default state file lives, and how a `--state` / GEMINI_MCP_STATE value picks a store."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path

import anyio.to_thread

from gemini_interactions_mcp.state.base import DEFAULT_MAX_OUTPUT_CHARS, Store
from gemini_interactions_mcp.state.errors import StoreReadOnlyError
from gemini_interactions_mcp.state.memory import MemoryStore
from gemini_interactions_mcp.state.sqlite import SQLiteStore

APP_DIR = "gemini-interactions-mcp"
STATE_FILE = "state.sqlite3"
MEMORY = "memory"
REDIS_SCHEMES = ("redis://", "rediss://")


def user_data_dir(
    *, platform: str | None = None, env: Mapping[str, str] = os.environ, home: Path | None = None
) -> Path:
    """The per-user data folder of this platform (what `platformdirs` would say, without the dependency)."""
    platform = platform or sys.platform
    home = home if home is not None else Path.home()
    if platform == "win32":
        local = env.get("LOCALAPPDATA")
        return Path(local) if local else home / "AppData" / "Local"
    if platform == "darwin":
        return home / "Library" / "Application Support"
    xdg = env.get("XDG_DATA_HOME")
    # The XDG spec says a relative value is invalid and must be ignored.
    return Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"


def default_state_path() -> Path:
    return user_data_dir() / APP_DIR / STATE_FILE


def state_spec(explicit: str | None, *, emulated: bool) -> str | None:
    """The store a server uses: the one it was given; else, for an emulated run, memory (it must never
    read or write the real store, and its state ends with the emulated interactions it refers to);
    else the default file."""
    return explicit or (MEMORY if emulated else None)


async def open_store(
    spec: str | None, *, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS, show_location: bool = True
) -> Store:
    """None: the default SQLite file; "memory": an in-process store; `redis://host:port/db` (or
    `rediss://`): Redis, shared by replicas (checked reachable); anything else: a SQLite file path (`~`
    expanded, parent folders created).

    `show_location`: whether the store's errors name its file or host to callers once it is open (a
    failure to open names it always: the operator who starts the server reads that one)."""
    if spec is not None and spec.strip().lower() == MEMORY:
        return MemoryStore(max_output_chars=max_output_chars)
    if spec is not None and spec.strip().lower().startswith(REDIS_SCHEMES):
        from gemini_interactions_mcp.state.redis_store import RedisStore

        store = RedisStore(spec.strip(), max_output_chars=max_output_chars)
        try:
            await store.ping()
        except BaseException:
            await store.close()
            raise
        store.show_location = show_location
        return store
    opened = partial(_open_file, spec, max_output_chars=max_output_chars, show_location=show_location)
    return await anyio.to_thread.run_sync(opened)


def _open_file(spec: str | None, *, max_output_chars: int, show_location: bool) -> SQLiteStore:
    path = default_state_path() if spec is None else Path(spec).expanduser().absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreReadOnlyError(
            f"The folder {path.parent} for the state file cannot be created ({exc.strerror}): "
            "choose another file with --state (or --state memory)."
        ) from None
    return SQLiteStore(path, max_output_chars=max_output_chars, show_location=show_location)

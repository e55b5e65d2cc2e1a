"""The last `tools/list` answer, kept on disk so the next start can give it before the SDK is loaded.

Clients list tools right after the handshake, and most hold the server's start-up against that answer;
importing the MCP SDK and building the server takes a second. The list is fixed for a given build of this
package and of the SDK (this server never changes it at run time), so the answer the SDK gave last time is
the answer it will give now, as long as nothing it depends on changed. The key says what it depends on:
this package's files (name, size, modification time), the SDK's and pydantic's, the Python version, the
protocol version the client speaks and the request's parameters. The SDK still answers every
`tools/list` itself: its answer is stored when it is new, and compared with the early one when there was
one (a difference is logged and stored, so the next start is right).

Standard library only, and everything slow (walking the package, reading the file) happens once when the
channel is claimed, on the main thread: the thread that answers early must not wait for the GIL between
system calls while the main thread imports.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.identity import SERVER_NAME

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "tools-list.json"
KEPT_ANSWERS = 8
"""Answers kept in the file (one per key: protocol versions and builds seen lately); older ones go."""
DEPENDENCIES = ("mcp", "mcp_types", "pydantic", "pydantic_core")
"""Packages whose build shapes the answer besides this one."""


def user_cache_dir(*, platform: str | None = None, env: dict[str, str] | None = None) -> Path:
    """This platform's per-user cache folder (what `platformdirs` would say, without the dependency)."""
    platform = platform or sys.platform
    env = dict(os.environ) if env is None else env
    home = Path.home()
    if platform == "win32":
        local = env.get("LOCALAPPDATA")
        return (Path(local) if local else home / "AppData" / "Local") / "Cache"
    if platform == "darwin":
        return home / "Library" / "Caches"
    xdg = env.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"


def build_fingerprint() -> str:
    """What the tool list depends on, short of running the code: this package's source files and the
    installed SDK and pydantic (a change of any of them makes a new key)."""
    digest = hashlib.sha256(f"{__version__}\n{sys.version}\n".encode())
    package = Path(__file__).resolve().parent.parent
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                stat = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    for dependency in DEPENDENCIES:
        spec = importlib.util.find_spec(dependency)  # finds the package without importing it
        if spec is not None and spec.origin is not None:
            stat = os.stat(spec.origin)
            digest.update(f"{spec.origin}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class ToolListSnapshot:
    """The stored `tools/list` results of recent builds, by key."""

    def __init__(self, path: Path, fingerprint: str, answers: dict[str, Any]) -> None:
        self._path = path
        self._fingerprint = fingerprint
        self._answers = answers

    @classmethod
    def open(cls, folder: Path | None = None) -> ToolListSnapshot:
        """The snapshot in `folder` (default: this server's folder in the user cache); empty if there
        is none yet or it cannot be read."""
        path = (folder or user_cache_dir() / SERVER_NAME) / SNAPSHOT_FILE
        try:
            answers = json.loads(path.read_bytes())
        except (OSError, ValueError):
            answers = {}
        return cls(path, build_fingerprint(), answers if isinstance(answers, dict) else {})

    def key(self, protocol_version: str, params: Any) -> str | None:
        """The key of a `tools/list` request with these parameters; None for a later page (a cursor)."""
        if isinstance(params, dict) and "cursor" in params:
            return None
        request = json.dumps(params, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(f"{self._fingerprint}\n{protocol_version}\n{request}".encode()).hexdigest()

    def answer(self, key: str) -> dict[str, Any] | None:
        found = self._answers.get(key)
        return found if isinstance(found, dict) else None

    def store(self, key: str, result: dict[str, Any]) -> None:
        """Keep `result` as the answer of `key` (written at once, atomically; a failure only logged)."""
        self._answers.pop(key, None)
        self._answers[key] = result
        while len(self._answers) > KEPT_ANSWERS:
            self._answers.pop(next(iter(self._answers)))
        temporary = self._path.with_name(f".{SNAPSHOT_FILE}.{os.getpid()}")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(self._answers, separators=(",", ":")), encoding="utf-8")
            os.replace(temporary, self._path)
        except OSError as exc:
            log.debug("the tools/list snapshot was not saved: %s", exc)

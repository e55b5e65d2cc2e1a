"""Following Gemini keys in BYOK tests: which key each upstream request carried, and where a key was
written down (it never should be)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send


class KeyRecorder:
    """The emulator, noting which key every request to it carried."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str | None]] = []  # method, path, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            key = dict(scope["headers"]).get(b"x-goog-api-key")
            self.seen.append((scope["method"], scope["path"], key.decode() if key else None))
        await self.app(scope, receive, send)

    def keys_for(self, fragment: str, method: str | None = None) -> list[str | None]:
        return [key for m, path, key in self.seen if fragment in path and method in (None, m)]


def files_holding(secret: str, folder: Path) -> list[str]:
    """The files under `folder` whose bytes contain `secret`."""
    return [
        file.name for file in folder.rglob("*") if file.is_file() and secret.encode() in file.read_bytes()
    ]

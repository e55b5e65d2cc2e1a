"""Two principals over real HTTP: the server with bearer tokens for alice and bob, and a client of each.

Ownership tests (agents, media, stores, environments) all need the same set-up: one server, two callers,
and the check that someone else's id reads exactly like an unknown one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig
from gemini_interactions_mcp.transport.http import http_app
from tests.helpers.servers import ServerThread

ALICE, BOB = "alice-token-1", "bob-token-2"


class HasURL(Protocol):
    url: str


TOKENS = (("alice", SecretStr(ALICE)), ("bob", SecretStr(BOB)))


@contextmanager
def http_server(emulator_url: str, folder: Path, **settings: Any) -> Iterator[ServerThread]:
    """The MCP server over HTTP with alice's and bob's tokens, reaching the emulator at `emulator_url`."""
    config = ServerSettings(
        **{"state": "memory", "allow_dirs": (folder,), "transport": "http", "tokens": TOKENS, **settings}
    )
    app = http_app(config, client_config=ClientConfig(base_url=emulator_url, api_key=None))
    with ServerThread(app) as running:
        yield running


@asynccontextmanager
async def connect(
    server: HasURL, token: str, mode: str = "auto", *, key: str | None = None, **options: Any
) -> AsyncIterator[Client]:
    """An MCP client of `server` (a thread or a process) calling with `token` (and its own Gemini
    `key`, for --byok); `options` go to Client."""
    headers = {"Authorization": f"Bearer {token}"} | ({"X-Goog-Api-Key": key} if key else {})
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as hc,
        Client(streamable_http_client(f"{server.url}/mcp", http_client=hc), mode=mode, **options) as c,  # type: ignore[arg-type]
    ):
        yield c

"""Fixtures for the MCP layer: an in-process emulator, a server wired to it, clients in both eras."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from tests.helpers import principals
from tests.helpers.servers import ServerThread


@pytest.fixture
def emulator() -> Starlette:
    return create_app(EmulatorConfig(research_seconds=1.0, agent_seconds=0.5))


QUICK_RUN_SECONDS = 0.2
"""How long an emulated research or agent run takes in a test that needs it to end, not to be running."""


def quick_runs(app: Starlette) -> None:
    """Research and agent runs created from now on end after QUICK_RUN_SECONDS."""
    app.state.emulator.configure(research_seconds=QUICK_RUN_SECONDS, agent_seconds=QUICK_RUN_SECONDS)


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    return ServerSettings(state="memory", allow_dirs=(tmp_path,))


def requests_log(
    app: Starlette, method: str = "POST", path_suffix: str = "/interactions"
) -> list[dict[str, Any]]:
    """What went over the wire to the emulator, oldest first."""
    log = app.state.emulator.requests()
    return [r for r in log if r["method"] == method and r["path"].endswith(path_suffix)]


@pytest.fixture(params=["auto", "legacy"])
async def client(
    request: pytest.FixtureRequest, emulator: Starlette, settings: ServerSettings
) -> AsyncIterator[Client]:
    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode=request.param, raise_exceptions=True) as c:
        yield c


@pytest.fixture
def http_server(emulator_url: str, tmp_path: Path) -> Iterator[ServerThread]:
    """Our server over Streamable HTTP with two bearer tokens (alice, bob), on the live emulator."""
    with principals.http_server(emulator_url, tmp_path) as running:
        yield running


def authed(token: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)

"""Fixtures for the MCP layer: an in-process emulator, a server wired to it, clients in both eras."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app


@pytest.fixture
def emulator() -> Starlette:
    return create_app(EmulatorConfig(research_seconds=1.0, agent_seconds=0.5))


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """A uvicorn server on 127.0.0.1 in a background thread, for tests that need real sockets."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture
def live_emulator(emulator: Starlette) -> Iterator[ServerThread]:
    """The emulator on a real loopback port, for streams that must arrive as they are produced."""
    with ServerThread(emulator) as running:
        yield running

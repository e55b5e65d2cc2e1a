"""Downstream test fixtures: the test MCP server as a stdio command, and a hub (or a tool loop on one)
in a task group.

Imported by the conftest of each test package that uses them.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.types import Implementation

from gemini_interactions_mcp.downstream.config import ServerConfig
from gemini_interactions_mcp.downstream.hub import DownstreamHub
from gemini_interactions_mcp.services.rounds import RoundsInFlight
from gemini_interactions_mcp.services.toolloop import ToolLoop

SERVER_SCRIPT = Path(__file__).resolve().parent / "downstream_server.py"
MALFORMED_SCRIPT = SERVER_SCRIPT.with_name("malformed_downstream.py")
CLIENT_INFO = Implementation(name="bridge-tests", version="0")


def stdio_config(name: str = "test", **options: object) -> ServerConfig:
    return ServerConfig(
        name=name,
        transport="stdio",
        command=sys.executable,
        args=(str(SERVER_SCRIPT),),
        **options,  # type: ignore[arg-type]
    )


HubFactory = Callable[..., DownstreamHub]


@pytest.fixture
async def make_hub() -> AsyncIterator[HubFactory]:
    async with anyio.create_task_group() as tg:

        def make(*servers: ServerConfig) -> DownstreamHub:
            return DownstreamHub(list(servers), CLIENT_INFO).attach(tg)

        yield make
        tg.cancel_scope.cancel()


LoopFactory = Callable[..., ToolLoop]


@pytest.fixture
async def make_loop() -> AsyncIterator[LoopFactory]:
    """`make_loop(*servers, **options)`: a tool loop on a hub of `servers`, its rounds in a task group."""
    async with anyio.create_task_group() as tg:

        def make(*servers: ServerConfig, **options: Any) -> ToolLoop:
            hub = DownstreamHub(list(servers), CLIENT_INFO).attach(tg)
            return ToolLoop(hub, RoundsInFlight(tg), **options)

        yield make
        tg.cancel_scope.cancel()

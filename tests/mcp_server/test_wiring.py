"""The services are wired after the server starts answering (app.py, tools/_wiring.py): the
first tools/list never waits for them, a request that needs them waits until they are there, and a
wiring that fails fails the connection, as a failed start did."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette

from gemini_interactions_mcp import app
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.tool_names import ToolName
from gemini_interactions_mcp.tools._wiring import AppState, Wiring

pytestmark = pytest.mark.anyio

LOADED_BY_A_BUILD = """
import json, sys
from gemini_interactions_mcp import app
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
build_server(ServerSettings(state="memory"))
print(json.dumps(sorted(m for m in sys.modules if m.startswith("gemini_interactions_mcp"))))
"""
HEAVY = ("gemini_interactions_mcp.gemini", "gemini_interactions_mcp.state", "gemini_interactions_mcp.wiring")


def test_building_the_server_loads_no_client_store_or_service() -> None:
    """What the first tools/list needs is built without the Gemini client, the state store, the services
    or the downstream hub (about 150 ms of CPU at every start, loaded once the first listing is out)."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_BY_A_BUILD], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = json.loads(done.stdout)
    assert "gemini_interactions_mcp.tools.ask" in loaded
    heavy = [m for m in loaded if m.startswith(HEAVY) or m == "gemini_interactions_mcp.downstream.hub"]
    assert heavy == []


class HeldClient:
    """A client factory for the emulator that is held until released: the wiring stands still there."""

    def __init__(self, emulator: Starlette) -> None:
        self._emulator = emulator
        self.entered = anyio.Event()
        self.release = anyio.Event()

    @asynccontextmanager
    async def __call__(self, settings: ServerSettings, **options: Any) -> AsyncIterator[InteractionsClient]:
        self.entered.set()
        await self.release.wait()
        config = ClientConfig.from_env(base_url="http://emulator.local", api_key=None)
        transport = httpx2.ASGITransport(app=self._emulator)
        async with InteractionsClient(config, transport=transport, **options) as client:
            yield client


async def test_the_tool_list_is_answered_while_a_call_waits_for_the_services(
    emulator: Starlette, settings: ServerSettings
) -> None:
    held = HeldClient(emulator)
    server = build_server(settings, client_factory=held)
    async with Client(server, raise_exceptions=True) as client:
        answered: list[str] = []

        async def call() -> None:
            result = await client.call_tool(ToolName.LIST_CONVERSATIONS, {})
            answered.append("call" if not result.is_error else "error")

        async with anyio.create_task_group() as group:
            group.start_soon(call)
            await held.entered.wait()  # the call started the wiring, which is held
            tools = await client.list_tools()
            answered.append("tools/list")
            assert ToolName.ASK in {tool.name for tool in tools.tools}
            held.release.set()
        assert answered == ["tools/list", "call"]


async def test_a_listing_starts_the_wiring(
    emulator: Starlette, settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that lists the tools and then idles still gets its services (and its unfinished jobs
    resumed) soon after, not only at the end of the grace period."""
    monkeypatch.setattr(app, "WIRING_GRACE_SECONDS", 3600.0)
    held = HeldClient(emulator)
    held.release.set()
    server = build_server(settings, client_factory=held)
    async with Client(server, raise_exceptions=True) as client:
        await client.list_tools()
        with anyio.fail_after(60):
            await held.entered.wait()


async def test_an_idle_client_gets_its_services_after_the_grace_period(
    emulator: Starlette, settings: ServerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "WIRING_GRACE_SECONDS", 0.05)
    held = HeldClient(emulator)
    held.release.set()
    server = build_server(settings, client_factory=held)
    async with Client(server, raise_exceptions=True):
        with anyio.fail_after(60):
            await held.entered.wait()


async def test_a_failed_wiring_fails_the_waiting_call_and_the_connection(settings: ServerSettings) -> None:
    @asynccontextmanager
    async def failing(settings: ServerSettings, **options: Any) -> AsyncIterator[InteractionsClient]:
        raise RuntimeError("no client today")
        yield  # pragma: no cover

    server = build_server(settings, client_factory=failing)
    with pytest.raises(BaseExceptionGroup) as failed:
        async with Client(server, raise_exceptions=True) as client:
            await client.call_tool(ToolName.LIST_CONVERSATIONS, {})
    assert "no client today" in [str(e) for e in leaves(failed.value)]


def leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


async def test_wired_services_are_handed_over_without_a_checkpoint() -> None:
    """Once the services are there, a request passes the gate without a pass of the event loop (a set
    event's wait is a checkpoint: one loop pass per call, for nothing); a cancelled scope shows it."""
    wiring = Wiring()
    services = cast(AppState, object())
    wiring.publish(services)
    with anyio.CancelScope() as scope:
        scope.cancel()
        handed = await wiring.wired()
    assert not scope.cancelled_caught
    assert handed is services

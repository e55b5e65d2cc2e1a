"""MCP protocol details in both eras: honest capabilities, error codes, and clean validation errors."""

from __future__ import annotations

import base64
import struct
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import INVALID_PARAMS, SERVER_INFO_META_KEY, ServerNotification
from starlette.applications import Starlette

from gemini_interactions_mcp import __version__
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.identity import CAPABILITIES
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

from .conftest import authed

pytestmark = pytest.mark.anyio


async def test_capabilities_say_what_the_server_does(client: Client) -> None:
    capabilities = client.server_capabilities
    assert capabilities is not None
    assert capabilities.prompts is not None and capabilities.completions is not None
    wire = capabilities.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert wire == CAPABILITIES


async def test_capabilities_agree_between_initialize_and_discover(
    emulator: Starlette, settings: ServerSettings
) -> None:
    seen = []
    for mode in ("auto", "legacy"):
        server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
        async with Client(server, mode=mode) as c:  # type: ignore[arg-type]
            assert c.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
            assert c.server_capabilities is not None
            seen.append(c.server_capabilities.model_dump(exclude_none=True))
    assert seen[0] == seen[1]


async def test_the_icon_comes_once_per_connection_not_with_every_result(client: Client) -> None:
    """initialize / server/discover carry a small PNG icon; other 2026 results keep the lean stamp."""
    assert client.server_info is not None and client.server_info.icons
    [icon] = client.server_info.icons
    assert icon.mime_type == "image/png" and icon.sizes == ["64x64"]
    header, encoded = icon.src.split(",", 1)
    assert header == "data:image/png;base64"
    png = base64.b64decode(encoded)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", png[16:24]) == (64, 64)
    assert len(icon.src) < 2500
    result = await client.call_tool("list_conversations", {})
    if client.protocol_version == "2026-07-28":
        stamp = (result.meta or {})[SERVER_INFO_META_KEY]
        assert stamp == {"name": "gemini-interactions-mcp", "version": __version__}
    else:
        assert not (result.meta or {}).get(SERVER_INFO_META_KEY)


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
async def test_no_list_change_is_ever_sent(emulator: Starlette, settings: ServerSettings) -> None:
    """listChanged is false because nothing of the kind is sent, even while jobs start and finish."""
    notified: list[str] = []
    finished = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ServerNotification):
            notified.append(message.method)
            if message.method == "notifications/resources/updated":
                finished.set()

    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="legacy", message_handler=on_message) as c:
        data(await c.call_tool("ask_gemini", {"prompt": "hello"}))
        started = data(await c.call_tool("start_deep_research", {"query": "lists"}))
        await c.subscribe_resource(started["resource"])
        with anyio.fail_after(20):
            await finished.wait()
        await c.list_tools()
    assert "notifications/resources/updated" in notified
    assert not [m for m in notified if m.endswith("list_changed")], notified


async def test_unknown_prompt_is_invalid_params(client: Client) -> None:
    with pytest.raises(MCPError) as refused:
        await client.get_prompt("no-such-prompt")
    assert refused.value.error.code == INVALID_PARAMS
    assert "no-such-prompt" in refused.value.error.message


async def test_unknown_interaction_resource_is_invalid_params_with_the_uri(client: Client) -> None:
    uri = "gemini://interactions/int_unknown"
    with pytest.raises(MCPError) as refused:
        await client.read_resource(uri)
    assert refused.value.error.code == INVALID_PARAMS
    assert refused.value.error.data == {"uri": uri}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_someone_elses_interaction_resource_looks_unknown(http_server: ServerThread, mode: str) -> None:
    url = f"{http_server.url}/mcp"
    async with (
        authed("alice-token-1") as hc,
        Client(streamable_http_client(url, http_client=hc), mode=mode) as alice,  # type: ignore[arg-type]
    ):
        started = data(await alice.call_tool("start_deep_research", {"query": "owls"}))
        assert (await alice.read_resource(started["resource"])).contents
    async with (
        authed("bob-token-2") as hc,
        Client(streamable_http_client(url, http_client=hc), mode=mode) as bob,  # type: ignore[arg-type]
    ):
        errors = []
        for uri in (started["resource"], "gemini://interactions/int_unknown"):
            with pytest.raises(MCPError) as refused:
                await bob.read_resource(uri)
            assert refused.value.error.code == INVALID_PARAMS
            assert refused.value.error.data == {"uri": uri}
            errors.append(refused.value.error.message.replace(uri.rsplit("/", 1)[1], "ID"))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_validation_errors_over_http_carry_no_documentation_urls(
    http_server: ServerThread, mode: str
) -> None:
    async with (
        authed("alice-token-1") as hc,
        Client(streamable_http_client(f"{http_server.url}/mcp", http_client=hc), mode=mode) as c,  # type: ignore[arg-type]
    ):
        result = await c.call_tool("ask_gemini", {"prompt": "hi", "wait_seconds": 9000})
    assert result.is_error
    message = text_of(result)
    assert "wait_seconds" in message and "less than or equal to 300" in message
    assert "pydantic.dev" not in message and "http" not in message

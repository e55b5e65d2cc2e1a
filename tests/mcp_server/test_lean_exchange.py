"""2026-07-28 calls answered through the SDK's JSON path (transport/lean_exchange.py): the same answers,
a disconnect still cancels the call, a long call still becomes a kept-alive event stream, and calls that
may send notifications keep the SDK's own path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp.server import _streamable_http_modern as modern
from mcp.server import streamable_http_manager as sdk_manager
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import RequestBodyLimitMiddleware

from gemini_interactions_mcp.transport import lean_exchange
from tests.helpers import principals
from tests.helpers.live_emulator import upstream_cancels
from tests.helpers.results import data
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio


@pytest.fixture
def json_answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each 2026-07-28 request went the JSON way (True: the lean path) or the SDK's own."""
    seen: list[bool] = []
    handle = modern.handle_modern_request

    async def recorded(app: Any, security: Any, json_response: bool, *rest: Any) -> None:
        seen.append(json_response)
        await handle(app, security, json_response, *rest)

    monkeypatch.setattr(modern, "handle_modern_request", recorded)  # the lean path's
    monkeypatch.setattr(sdk_manager, "handle_modern_request", recorded)  # the SDK's own
    return seen


def test_the_lean_path_sits_behind_the_sdks_body_limit() -> None:
    """Fails if an SDK update builds its request handler otherwise (then the SDK's path serves all)."""
    server = MCPServer("t")
    server.streamable_http_app()
    lean_exchange.answer_leanly(server.session_manager)
    limited = server.session_manager.asgi_app
    assert isinstance(limited, RequestBodyLimitMiddleware)
    assert isinstance(limited.app, lean_exchange._LeanFront)


async def test_a_call_without_a_progress_token_goes_the_json_way(
    http_server: ServerThread, json_answers: list[bool]
) -> None:
    async with principals.connect(http_server, principals.ALICE) as client:
        asked = data(await client.call_tool("ask_gemini", {"prompt": "hello"}))
        assert asked["status"] == "completed"
        json_answers.clear()
        listed = await client.call_tool("list_conversations", {})
    assert not listed.is_error and json_answers == [True]


async def test_a_call_with_a_progress_token_keeps_the_sdks_stream_and_gets_its_progress(
    http_server: ServerThread, json_answers: list[bool]
) -> None:
    notes: list[str | None] = []

    async def noted(progress: float, total: float | None, message: str | None) -> None:
        notes.append(message)

    async with principals.connect(http_server, principals.ALICE) as client:
        json_answers.clear()
        result = await client.call_tool(
            "ask_gemini", {"prompt": "Take a moment [[think 1.5]]"}, progress_callback=noted
        )
    assert not result.is_error and json_answers[0] is False
    assert notes, "no progress came through the event stream"


async def test_a_client_that_hangs_up_cancels_its_call_and_the_upstream_interaction(
    http_server: ServerThread, emulator_url: str
) -> None:
    async with principals.connect(http_server, principals.ALICE) as client:
        with anyio.move_on_after(1.0):
            await client.call_tool("ask_gemini", {"prompt": "Take your time [[think 6]]", "wait_seconds": 30})

    assert len(await upstream_cancels(emulator_url)) == 1


@pytest.fixture
def quick_keepalive(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    monkeypatch.setattr(lean_exchange, "KEEPALIVE_SECONDS", 0.2)
    yield 0.2


async def test_a_long_call_becomes_a_kept_alive_event_stream_with_its_answer_last(
    http_server: ServerThread, quick_keepalive: float
) -> None:
    """Past the keep-alive time the answer turns into an event stream that pings until the answer
    comes, as its one `message` event (what the SDK's own path sends)."""
    async with principals.connect(http_server, principals.ALICE) as client:
        protocol = client.protocol_version
    assert protocol is not None
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": "ask_gemini",
            "arguments": {"prompt": "Slowly [[think 1]]"},
            "_meta": {
                "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/protocolVersion": protocol,
            },
        },
    }
    headers = {
        "Authorization": f"Bearer {principals.ALICE}",
        "Accept": "application/json, text/event-stream",
        "Mcp-Protocol-Version": protocol,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "ask_gemini",
    }
    async with (
        httpx2.AsyncClient(timeout=30) as raw,
        raw.stream("POST", f"{http_server.url}/mcp", json=call, headers=headers) as response,
    ):
        body = (await response.aread()).decode()
    assert response.status_code == 200, body
    assert response.headers["content-type"].startswith("text/event-stream"), body
    assert body.count(": ping") >= 2, body
    *_, last = [block for block in body.split("\r\n\r\n") if block.strip()]
    event, data_line = last.split("\r\n")
    assert event == "event: message"
    answer = json.loads(data_line.removeprefix("data: "))
    assert answer["id"] == 7 and answer["result"]["structuredContent"]["status"] == "completed"


async def test_what_is_not_an_http_post_goes_to_the_sdk_untouched() -> None:
    """A websocket scope (the body limit passes any non-HTTP scope on) and a GET reach the SDK's
    handler as they came."""
    reached: list[str] = []

    async def sdk(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    server = MCPServer("t")
    server.streamable_http_app()
    front = lean_exchange._LeanFront(server.session_manager, sdk)

    async def nothing() -> Any:
        raise AssertionError("the lean path read the request")

    await front({"type": "websocket", "path": "/mcp", "headers": []}, nothing, nothing)
    get = [(b"mcp-protocol-version", b"2026-07-28")]
    await front({"type": "http", "method": "GET", "path": "/mcp", "headers": get}, nothing, nothing)
    assert reached == ["websocket", "http"]

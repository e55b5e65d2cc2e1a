"""The real transports: the installed console script over stdio, and Streamable HTTP through uvicorn."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from gemini_interactions_mcp.config import ServerSettings, SettingsError
from gemini_interactions_mcp.gemini import ClientConfig
from gemini_interactions_mcp.operations import Operations
from gemini_interactions_mcp.transport.http import http_app, uvicorn_config
from gemini_interactions_mcp.transport.http_parser import BoundedHttpToolsProtocol
from tests.helpers.loops import needs_uvloop
from tests.helpers.principals import ALICE, TOKENS, connect
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

from .conftest import authed

pytestmark = pytest.mark.anyio


def console_script() -> str:
    found = shutil.which("gemini-interactions-mcp", path=str(Path(sys.executable).parent))
    assert found, "the package must be installed (python3 scripts/dev.py test does it)"
    return found


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_console_script_over_stdio(tmp_path: Path, mode: str) -> None:
    params = StdioServerParameters(
        command=console_script(),
        args=["serve", "--emulator", "--state", str(tmp_path / "s.sqlite3"), "--research-seconds", "0.5"],
        cwd=str(tmp_path),
    )
    async with Client(params, mode=mode) as c:  # type: ignore[arg-type]
        names = {t.name for t in (await c.list_tools()).tools}
        assert {"ask_gemini", "list_conversations", "poll_interaction", "start_deep_research"} <= names
        first = data(await c.call_tool("ask_gemini", {"prompt": "My code is 1234.", "conversation": "stdio"}))
        again = await c.call_tool(
            "ask_gemini", {"prompt": "What is my code?", "conversation": first["conversation"]}
        )
        assert "Your code is 1234" in text_of(again)


async def test_http_requires_a_token(http_server: ServerThread) -> None:
    async with httpx2.AsyncClient() as raw:
        health = await raw.get(f"{http_server.url}/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        denied = await raw.post(
            f"{http_server.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        )
        assert denied.status_code == 401
        wrong = await raw.post(
            f"{http_server.url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": "Bearer nope"},
        )
        assert wrong.status_code == 401


async def test_http_refuses_a_foreign_host(http_server: ServerThread) -> None:
    async with authed("alice-token-1") as raw:
        response = await raw.post(
            f"{http_server.url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Host": "evil.example.com"},
        )
    assert response.status_code == 421


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_principals_cannot_see_each_other(http_server: ServerThread, mode: str) -> None:
    url = f"{http_server.url}/mcp"
    async with (
        authed("alice-token-1") as hc,
        Client(streamable_http_client(url, http_client=hc), mode=mode) as alice,
    ):  # type: ignore[arg-type]
        mine = data(
            await alice.call_tool("ask_gemini", {"prompt": "My secret is 42.", "conversation": "private"})
        )
        research = data(await alice.call_tool("start_deep_research", {"query": "owls"}))
    async with (
        authed("bob-token-2") as hc,
        Client(streamable_http_client(url, http_client=hc), mode=mode) as bob,
    ):  # type: ignore[arg-type]
        listed = data(await bob.call_tool("list_conversations", {}))
        assert listed["conversations"] == []
        by_id = await bob.call_tool(
            "ask_gemini", {"prompt": "What is my secret?", "conversation": mine["conversation"]}
        )
        unknown = await bob.call_tool("ask_gemini", {"prompt": "x", "conversation": "conv_unknownunknown"})
        assert by_id.is_error and text_of(by_id).replace(mine["conversation"], "X") == text_of(
            unknown
        ).replace("conv_unknownunknown", "X")
        polled = await bob.call_tool(
            "poll_interaction", {"interaction_id": research["interaction_id"], "wait_seconds": 0}
        )
        assert polled.is_error and "No background interaction" in text_of(polled)
        # Bob's "private" is a different conversation from Alice's.
        bobs = data(await bob.call_tool("ask_gemini", {"prompt": "hi", "conversation": "private"}))
        assert bobs["conversation"] != mine["conversation"] and bobs["turn"] == 1


def test_the_local_principal_cannot_be_a_token_name() -> None:
    """`local` is the key's owner (sees every agent); a bearer token must not become it."""
    settings = ServerSettings(state="memory", transport="http", tokens=(("local", SecretStr("t1")),))
    with pytest.raises(SettingsError, match="reserved") as refused:
        http_app(settings)
    assert "t1" not in str(refused.value)


def test_open_non_loopback_bind_is_refused() -> None:
    settings = ServerSettings(state="memory", transport="http", host="0.0.0.0")
    with pytest.raises(SettingsError, match="--allow-unauthenticated"):
        http_app(settings)
    http_app(settings.model_copy(update={"allow_unauthenticated": True}))


async def test_stdio_debug_logs_go_to_stderr_without_the_key(tmp_path: Path) -> None:
    from mcp.client.stdio import stdio_client

    from gemini_interactions_mcp.emulator import EmulatorConfig, create_app

    secret = "sk-live-secret-0123456789"
    with ServerThread(create_app(EmulatorConfig(api_key=secret))) as upstream:
        params = StdioServerParameters(
            command=console_script(),
            args=["serve", "--state", "memory", "--log-level", "DEBUG"],
            env={**os.environ, "GEMINI_API_KEY": secret, "GEMINI_BASE_URL": upstream.url},
            cwd=str(tmp_path),
        )
        log_path = tmp_path / "stderr.log"
        with log_path.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as c:  # type: ignore[arg-type]
                answer = data(await c.call_tool("ask_gemini", {"prompt": "My pin is 42."}))
                research = data(await c.call_tool("start_deep_research", {"query": "keys"}))
                assert answer["status"] == "completed" and research["status"] == "in_progress"
    logged = log_path.read_text()
    assert "DEBUG" in logged, "the server logs at DEBUG on stderr"
    assert secret not in logged


async def test_an_allowed_host_is_accepted(emulator_url: str, tmp_path: Path) -> None:
    settings = ServerSettings(
        state="memory",
        allow_dirs=(tmp_path,),
        transport="http",
        tokens=TOKENS,
        allowed_hosts=("mcp.example.com",),
    )
    app = http_app(settings, client_config=ClientConfig(base_url=emulator_url, api_key=None))
    with ServerThread(app) as running:
        async with authed("alice-token-1") as raw:
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            foreign = await raw.post(f"{running.url}/mcp", json=body, headers={"Host": "other.example.com"})
            allowed = await raw.post(f"{running.url}/mcp", json=body, headers={"Host": "mcp.example.com"})
    assert foreign.status_code == 421
    assert allowed.status_code != 421


def test_the_server_pins_asyncios_loop_and_its_own_request_reader(tmp_path: Path) -> None:
    """uvicorn would pick uvloop and its own httptools protocol whenever they are installed (the test
    extra installs both): the server keeps the loop it is tested on, and the reader with head limits."""
    settings = ServerSettings(state="memory", allow_dirs=(tmp_path,), transport="http", tokens=TOKENS)
    config = uvicorn_config(settings, Operations())
    config.load()
    assert config.loop == "asyncio"
    assert config.http_protocol_class is BoundedHttpToolsProtocol


@needs_uvloop
async def test_the_app_served_on_uvloop_continues_a_conversation(emulator_url: str, tmp_path: Path) -> None:
    """Served by someone's own uvicorn on uvloop: turns reach Gemini and continue, on the SQLite store
    (whose thread hands results back through the loop)."""
    settings = ServerSettings(
        state=str(tmp_path / "state.sqlite3"), allow_dirs=(tmp_path,), transport="http", tokens=TOKENS
    )
    app = http_app(settings, client_config=ClientConfig(base_url=emulator_url, api_key=None))
    with ServerThread(app, loop="uvloop") as running:
        async with connect(running, ALICE) as alice:
            first = data(await alice.call_tool("ask_gemini", {"prompt": "My code is 1234."}))
            again = await alice.call_tool(
                "ask_gemini", {"prompt": "What is my code?", "conversation": first["conversation"]}
            )
    assert "Your code is 1234" in text_of(again)

"""--byok: each caller's calls (and its background jobs) go out on its own key, which is never kept."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr
from starlette.applications import Starlette

from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig
from gemini_interactions_mcp.transport.http import http_app
from tests.helpers.keys import KeyRecorder, files_holding
from tests.helpers.legacy import ACCEPT, INITIALIZE
from tests.helpers.principals import ALICE, BOB, TOKENS
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio

SERVER_KEY = "server-key-000"
K1, K2 = "AIza-alices-own-key-111", "AIza-bobs-own-key-222"


@pytest.fixture
def upstream(emulator: Starlette) -> KeyRecorder:
    return KeyRecorder(emulator)


def byok_server(upstream: KeyRecorder, tmp_path: Path, **options: Any) -> ServerThread:
    settings = ServerSettings(
        **{"state": "memory", "allow_dirs": (tmp_path,), "transport": "http", "tokens": TOKENS, "byok": True}
        | options
    )
    config = ClientConfig(base_url="http://emulator.local", api_key=SecretStr(SERVER_KEY))
    return ServerThread(
        http_app(settings, client_config=config, transport=httpx2.ASGITransport(app=upstream))
    )


@pytest.fixture
def server(upstream: KeyRecorder, tmp_path: Path) -> Iterator[ServerThread]:
    with byok_server(upstream, tmp_path) as running:
        yield running


@asynccontextmanager
async def connect(
    server: ServerThread, *, token: str | None = ALICE, key: str | None = None, mode: str = "auto"
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key:
        headers["X-Goog-Api-Key"] = key
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as hc,
        Client(streamable_http_client(f"{server.url}/mcp", http_client=hc), mode=mode) as c,  # type: ignore[arg-type]
    ):
        yield c


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_each_call_goes_out_on_its_callers_key(
    server: ServerThread, upstream: KeyRecorder, mode: str
) -> None:
    for token, key in ((ALICE, K1), (ALICE, None), (BOB, K2)):
        async with connect(server, token=token, key=key, mode=mode) as c:
            data(await c.call_tool("ask_gemini", {"prompt": "Hello."}))
    assert upstream.keys_for("/interactions", "POST") == [K1, SERVER_KEY, K2]


async def test_principals_are_distinct_per_key(server: ServerThread) -> None:
    async with connect(server, key=K1) as c:
        data(await c.call_tool("ask_gemini", {"prompt": "My pin is 4.", "conversation": "pins"}))
    for key in (None, K2):
        async with connect(server, key=key) as c:
            assert data(await c.call_tool("list_conversations", {}))["conversations"] == []
    async with connect(server, token=BOB, key=K1) as c:
        assert data(await c.call_tool("list_conversations", {}))["conversations"] == [], (
            "bob with alice's key"
        )
    async with connect(server, key=K1) as c:
        [mine] = data(await c.call_tool("list_conversations", {}))["conversations"]
    assert mine["name"] == "pins"


async def test_a_background_job_runs_on_its_callers_key(server: ServerThread, upstream: KeyRecorder) -> None:
    async with connect(server, key=K1) as c:
        started = data(await c.call_tool("start_deep_research", {"query": "owls"}))
        polled = data(
            await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
            )
        )
    assert polled["status"] == "completed"
    keys = upstream.keys_for(started["interaction_id"])
    assert len(keys) >= 1 and set(keys) == {K1}, "the watcher follows the job on alice's key"


async def test_the_key_is_never_stored_or_logged(
    upstream: KeyRecorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.sqlite3"
    caplog.set_level(logging.DEBUG)
    with byok_server(upstream, tmp_path, state=str(state)) as running:
        async with connect(running, key=K1) as c:
            data(await c.call_tool("ask_gemini", {"prompt": "Hi.", "conversation": "kept"}))
            started = data(await c.call_tool("start_deep_research", {"query": "keys"}))
            await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
            )
    assert K1 not in caplog.text
    assert files_holding(K1, tmp_path) == []


async def test_a_refused_key_is_explained_as_the_callers(emulator: Starlette, tmp_path: Path) -> None:
    emulator.state.emulator.configure(api_key=SERVER_KEY)  # upstream accepts only the server's key
    with byok_server(KeyRecorder(emulator), tmp_path) as running:
        async with connect(running, key=K1) as c:
            refused = await c.call_tool("ask_gemini", {"prompt": "Hi."})
        async with connect(running) as c:
            data(await c.call_tool("ask_gemini", {"prompt": "Hi."}))
    assert refused.is_error and "X-Goog-Api-Key" in text_of(refused) and K1 not in text_of(refused)


async def test_byok_required_refuses_callers_without_a_key(upstream: KeyRecorder, tmp_path: Path) -> None:
    body = INITIALIZE
    with byok_server(upstream, tmp_path, byok_required=True) as running:
        async with httpx2.AsyncClient(headers=ACCEPT) as raw:
            url = f"{running.url}/mcp"
            anonymous = await raw.post(url, json=body)
            keyless = await raw.post(url, json=body, headers={"Authorization": f"Bearer {ALICE}"})
            keyed = await raw.post(
                url, json=body, headers={"Authorization": f"Bearer {ALICE}", "X-Goog-Api-Key": K1}
            )
            health = await raw.get(f"{running.url}/healthz")
    assert anonymous.status_code == 401, "no token: the authentication challenge comes first"
    assert keyless.status_code == 403 and "X-Goog-Api-Key" in keyless.json()["error"]["message"]
    assert keyed.status_code == 200 and health.status_code == 200


async def test_after_a_restart_a_job_waits_for_its_callers_key(
    upstream: KeyRecorder, emulator: Starlette, tmp_path: Path
) -> None:
    """Its watcher is not resumed on the server's key; the caller's next poll brings the key back."""
    emulator.state.emulator.configure(research_seconds=3)
    state = str(tmp_path / "state.sqlite3")
    with byok_server(upstream, tmp_path, state=state) as first:
        async with connect(first, key=K1) as c:
            started = data(await c.call_tool("start_deep_research", {"query": "restarts"}))
    with byok_server(upstream, tmp_path, state=state) as second:
        async with connect(second, key=K1) as c:
            polled = data(
                await c.call_tool(
                    "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 30}
                )
            )
    assert polled["status"] == "completed"
    assert set(upstream.keys_for(started["interaction_id"])) == {K1}

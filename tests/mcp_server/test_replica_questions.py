"""A question asked in a result (2026-07-28) may come back to another replica: with the key ring they
share (GEMINI_MCP_REQUEST_STATE_KEYS), the replica that gets the retry opens the state the other sealed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestParams, ElicitResult

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from tests.helpers.downstream import SERVER_SCRIPT
from tests.helpers.processes import ServerProcess
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread

pytestmark = pytest.mark.anyio
KEY = "k" * 16 + "0123456789abcdef"


class EachCallElsewhere(httpx2.AsyncBaseTransport):
    """A load balancer without affinity: each `tools/call` goes to the next server in turn."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = ports
        self.calls = 0
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        port = self._ports[0]
        if b'"tools/call"' in body:
            port = self._ports[self.calls % len(self._ports)]
            self.calls += 1
        forwarded = httpx2.Request(
            request.method,
            request.url.copy_with(port=port),
            headers=[(k, v) for k, v in request.headers.items() if k.lower() != "host"],
            content=body,
        )
        return await self._inner.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("shared", [True, False])
async def test_the_answer_to_a_question_may_reach_the_other_replica(tmp_path: Path, shared: bool) -> None:
    config = tmp_path / "mcp.json"
    local = {"command": sys.executable, "args": [str(SERVER_SCRIPT)]}
    config.write_text(json.dumps({"mcpServers": {"local": local}}))
    state = tmp_path / "state.sqlite3"
    env = {"GEMINI_MCP_REQUEST_STATE_KEYS": KEY} if shared else {}
    flags = ("--mcp-config", str(config))
    asked: list[str] = []

    async def allow(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"allow": True})

    with (
        ServerThread(create_app(EmulatorConfig(model_seconds=0.1))) as upstream,
        ServerProcess(state, upstream.url, *flags, env=env, log=tmp_path / "a.log") as a,
        ServerProcess(state, upstream.url, *flags, env=env, log=tmp_path / "b.log") as b,
    ):
        await a.ready()
        await b.ready()
        balancer = EachCallElsewhere([a.port, b.port])
        http = httpx2.AsyncClient(transport=balancer, timeout=30)
        async with (
            http,
            Client(streamable_http_client(a.mcp_url, http_client=http), elicitation_callback=allow) as client,
        ):
            arguments = {"prompt": '[[call local__add_note {"note": "milk"}]]', "tools": ["mcp:local"]}
            if not shared:
                with pytest.raises(MCPError, match="Invalid or expired requestState"):
                    await client.call_tool("ask_gemini", arguments)  # B cannot open A's state
                return
            result = await client.call_tool("ask_gemini", arguments)
    assert len(asked) == 1 and balancer.calls == 2  # asked by A, answered to B
    assert "local__add_note returned: stored note #1: milk" in text_of(result)
    assert data(result)["turn"] == 1

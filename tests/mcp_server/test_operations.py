"""Operating the HTTP server: /healthz, /readyz, /metrics, JSON logs with a request id, SIGTERM drain."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig
from gemini_interactions_mcp.logs import JsonFormatter
from gemini_interactions_mcp.operations import Operations
from gemini_interactions_mcp.services.jobs import NO_JOBS
from gemini_interactions_mcp.state import MemoryStore, StoreError
from gemini_interactions_mcp.transport.http import http_app
from gemini_interactions_mcp.transport.observability import Observability
from tests.helpers.metrics import metric, scrape
from tests.helpers.principals import ALICE, TOKENS
from tests.helpers.results import data
from tests.helpers.servers import ServerThread, free_port, wait_healthy
from tests.helpers.waiting import async_wait_until

from .test_transports import console_script

pytestmark = pytest.mark.anyio


@pytest.fixture
def served(live_emulator: ServerThread, tmp_path: Path) -> Iterator[tuple[ServerThread, Operations]]:
    settings = ServerSettings(
        state="memory",
        allow_dirs=(tmp_path,),
        transport="http",
        tokens=TOKENS,
        requests_per_minute=2,
        request_burst=2,
    )
    operations = Operations()
    app = http_app(settings, operations=operations, client_config=ClientConfig(base_url=live_emulator.url))
    with ServerThread(app) as running:
        yield running, operations


async def test_metrics_count_tool_calls_upstream_requests_retries_and_refusals(
    served: tuple[ServerThread, Operations], emulator: Starlette
) -> None:
    server, _ = served
    before = await scrape(server.url)
    emulator.state.emulator.add_fault(
        {"kind": "error", "status": 503, "count": 1, "retry_after_ms": 1, "path": "/interactions"}
    )
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {ALICE}"}, timeout=30) as hc,
        Client(streamable_http_client(f"{server.url}/mcp", http_client=hc)) as c,
    ):
        data(await c.call_tool("ask_gemini", {"prompt": "Hello."}))
        data(await c.call_tool("list_conversations", {}))  # not counted against the rate limit
        data(await c.call_tool("ask_gemini", {"prompt": "Second."}))
        refused = await c.call_tool("ask_gemini", {"prompt": "Third."})  # over 2 per minute
        assert refused.is_error and "Rate limit" in str(refused.content)
        assert (await c.call_tool("no_such_tool", {})).is_error
    after = await scrape(server.url)

    def grew(name: str, **labels: str) -> float:
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("gemini_mcp_tool_calls_total", tool="ask_gemini", outcome="ok") == 2
    assert grew("gemini_mcp_tool_calls_total", tool="list_conversations", outcome="ok") == 1
    assert grew("gemini_mcp_tool_calls_total", tool="ask_gemini", outcome="tool_error") == 1
    assert grew("gemini_mcp_tool_calls_total", tool="_other", outcome="tool_error") == 1
    assert grew("gemini_mcp_tool_duration_seconds_count", tool="ask_gemini") == 3
    assert grew("gemini_mcp_upstream_requests_total", status="503") == 1
    assert grew("gemini_mcp_upstream_requests_total", status="200") >= 1
    assert grew("gemini_mcp_upstream_retries_total") == 1
    assert grew("gemini_mcp_limit_refusals_total", limit="rate") == 1
    assert grew("gemini_mcp_http_requests_total", method="tools/call", status="200") >= 5
    assert 'gemini_mcp_build_info{version="' in after and "process_cpu_seconds_total" in after
    assert ALICE not in after and "alice" not in after, "no principal in any label"


async def test_open_streams_open_calls_and_watched_jobs_are_gauges(
    served: tuple[ServerThread, Operations], emulator: Starlette
) -> None:
    server, _ = served
    emulator.state.emulator.configure(research_seconds=30)
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {ALICE}"}, timeout=30) as hc,
        Client(streamable_http_client(f"{server.url}/mcp", http_client=hc), mode="legacy") as c,
    ):
        started = data(await c.call_tool("start_deep_research", {"query": "gauges"}))
        assert metric(await scrape(server.url), "gemini_mcp_jobs_watched") == 1

        async def counted_unfinished() -> bool:  # at the next sweep
            return metric(await scrape(server.url), "gemini_mcp_jobs_unfinished") == 1

        await async_wait_until(counted_unfinished, what="the sweep to count the job")

        async def streams_open() -> bool:
            text = await scrape(server.url)
            return metric(text, "gemini_mcp_open_streams") >= 1 and metric(text, "gemini_mcp_calls_open") == 1

        async with anyio.create_task_group() as tg:
            tg.start_soon(c.call_tool, "poll_interaction", {"interaction_id": started["interaction_id"]})
            await async_wait_until(streams_open, what="the poll's event stream to count")
            await c.call_tool("cancel_interaction", {"interaction_id": started["interaction_id"]})

    async def settled() -> bool:
        text = await scrape(server.url)
        return (
            metric(text, "gemini_mcp_jobs_watched") == 0
            and metric(text, "gemini_mcp_open_streams") == 0
            and metric(text, "gemini_mcp_calls_open") == 0
        )

    await async_wait_until(settled, what="the gauges to fall back to 0")


async def test_health_and_readiness(served: tuple[ServerThread, Operations]) -> None:
    server, operations = served
    async with httpx2.AsyncClient() as raw:
        health = await raw.get(f"{server.url}/healthz")
        ready = await raw.get(f"{server.url}/readyz")
        operations.drain()
        draining = await raw.get(f"{server.url}/readyz")
        alive = await raw.get(f"{server.url}/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert ready.status_code == 200
    assert draining.status_code == 503 and draining.json()["reason"] == "draining"
    assert alive.status_code == 200, "a draining process is still alive"


class BrokenStore(MemoryStore):
    async def get_job(self, owner: str, interaction_id: str) -> Any:
        raise StoreError("the state store cannot be reached")


async def test_readiness_needs_a_store_that_answers() -> None:
    operations = Operations()
    assert await operations.not_ready() == "starting"
    operations.bind(BrokenStore(), jobs=lambda: NO_JOBS, on_drain=[])
    assert await operations.not_ready() == "state store unavailable (StoreError)"
    operations.bind(MemoryStore(), jobs=lambda: NO_JOBS, on_drain=[])
    assert await operations.not_ready() is None


async def test_json_logs_carry_the_request_id(served: tuple[ServerThread, Operations]) -> None:
    server, _ = served
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    logging.getLogger("mcp").setLevel(logging.INFO)
    try:
        headers = {"Authorization": f"Bearer {ALICE}", "X-Request-Id": "req-42"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as hc,
            Client(streamable_http_client(f"{server.url}/mcp", http_client=hc), mode="legacy") as c,
        ):
            # A rejected argument is logged at INFO by the SDK while it serves this request.
            assert (await c.call_tool("ask_gemini", {"prompt": ""})).is_error
    finally:
        root.removeHandler(handler)
        root.level = level
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert [line for line in lines if line.get("request_id") == "req-42" and "rejected" in line["message"]]


def test_json_formatter_writes_one_object_per_record() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", ("why",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed: why" and line["level"] == "ERROR" and "request_id" not in line


async def test_sigterm_drains_polls_and_answers_hand_back_then_the_process_exits(tmp_path: Path) -> None:
    """Open calls get their handles back at once; the process exits well within its grace period."""
    port = free_port()
    command = [console_script(), "serve", "--transport", "http", "--port", str(port), "--emulator"]
    command += ["--research-seconds", "120", "--drain-seconds", "20"]
    env = {**os.environ, "GEMINI_MCP_TOKENS": f"alice:{ALICE}"}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE)  # noqa: ASYNC220
    try:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url)
        results: dict[str, Any] = {}
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {ALICE}"}, timeout=60) as hc,
            Client(streamable_http_client(f"{url}/mcp", http_client=hc), mode="legacy") as c,
        ):
            started = data(await c.call_tool("start_deep_research", {"query": "draining"}))

            async def poll() -> None:
                arguments = {"interaction_id": started["interaction_id"], "wait_seconds": 50}
                results["poll"] = data(await c.call_tool("poll_interaction", arguments))

            async def ask() -> None:
                arguments = {"prompt": "[[think 120]] Take your time.", "wait_seconds": 300}
                results["ask"] = data(await c.call_tool("ask_gemini", arguments))

            async def both_open() -> bool:
                return metric(await scrape(url), "gemini_mcp_open_streams") >= 2

            with anyio.fail_after(40):  # less than either call would wait undrained (50 s, 120 s)
                async with anyio.create_task_group() as tg:
                    tg.start_soon(poll)
                    tg.start_soon(ask)
                    await async_wait_until(both_open, what="both calls to be under way")
                    process.send_signal(signal.SIGTERM)
        assert results["poll"]["status"] == "in_progress" and not results["poll"]["done"]
        assert results["ask"]["status"] == "in_progress" and results["ask"]["interaction_id"]
        assert process.wait(timeout=15) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


async def test_every_response_echoes_a_request_id_and_an_open_call_counts_until_answered() -> None:
    """The caller's sane X-Request-Id comes back; without one, a fresh one (32 hex digits, never the
    same twice); a POST to /mcp counts as an open call until its answer is written."""
    operations = Operations()
    open_while_answering: list[int] = []

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        open_while_answering.append(operations.calls_open())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = Observability(answer, operations, mcp_path="/mcp")

    async def request_id(headers: list[tuple[bytes, bytes]]) -> str:
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.disconnect"}

        scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}
        await app(scope, receive, send)
        echoed: dict[bytes, bytes] = dict(sent[0]["headers"])
        return echoed[b"x-request-id"].decode()

    assert await request_id([(b"x-request-id", b"req-42")]) == "req-42"
    fresh = {await request_id([]), await request_id([(b"x-request-id", b"not sane!")])}
    assert len(fresh) == 2 and all(re.fullmatch("[0-9a-f]{32}", given) for given in fresh)
    assert open_while_answering == [1, 1, 1] and operations.calls_open() == 0

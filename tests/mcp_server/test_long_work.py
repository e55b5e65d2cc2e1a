"""Long work that is never lost: dropped streams, a killed server, legacy subscribers, cancelled calls."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.types import CallToolResult, ResourceUpdatedNotification
from starlette.applications import Starlette

from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig
from tests.helpers.live_emulator import upstream_cancels
from tests.helpers.processes import SHORT_LEASE, ServerProcess
from tests.helpers.results import data, text_of
from tests.helpers.servers import ServerThread, free_port
from tests.helpers.waiting import async_wait_until, wait_until

from .conftest import requests_log

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("event_ids", ["background", "never"])
async def test_dropped_research_stream_is_resumed_without_loss(
    emulator: Starlette, settings: ServerSettings, event_ids: str
) -> None:
    """The watcher resumes after `last_event_id` where the stream has ids (as real background streams
    do), and by replaying and skipping what it saw where it has none."""
    emulator.state.emulator.configure(event_ids=event_ids)
    emulator.state.emulator.add_fault({"kind": "drop_stream", "after_events": 4, "count": 2, "method": "GET"})
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:
        started = data(await c.call_tool("start_deep_research", {"query": "Dropped streams"}))
        polled = data(
            await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
            )
        )
    assert polled["status"] == "completed"
    assert len(polled["progress"]) == len(set(polled["progress"])) == 4, polled["progress"]
    gets = [
        g
        for g in requests_log(emulator, "GET", started["interaction_id"])
        if g["query"].get("stream") == "true"
    ]
    resumed = [g for g in gets if "last_event_id" in g["query"]]
    assert len(gets) == 3 and len(resumed) == (2 if event_ids == "background" else 0), gets
    assert polled["citations"] and polled["total_chars"] > 200


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
async def test_legacy_subscriber_hears_of_completion(emulator: Starlette, settings: ServerSettings) -> None:
    updated: list[str] = []
    done = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updated.append(str(message.params.uri))
            done.set()

    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="legacy", message_handler=on_message) as c:
        started = data(await c.call_tool("start_deep_research", {"query": "Subscriptions"}))
        await c.subscribe_resource(started["resource"])
        with anyio.fail_after(20):
            await done.wait()
    assert updated == [started["resource"]]


class RecordingTransport(httpx2.AsyncBaseTransport):
    """A real HTTP transport that notes when a streamed response body is closed."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.closed: list[float] = []
        self.closed_event = anyio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            recorder, body = self, response.stream

            class Watched(httpx2.AsyncByteStream):
                async def __aiter__(self) -> AsyncIterator[bytes]:
                    async for chunk in body:  # type: ignore[union-attr]
                        yield chunk

                async def aclose(self) -> None:
                    recorder.closed.append(time.monotonic())
                    recorder.closed_event.set()
                    await body.aclose()  # type: ignore[union-attr]

            response.stream = Watched()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancelled_ask_closes_the_upstream_stream(
    live_emulator: ServerThread, settings: ServerSettings, mode: str
) -> None:
    transport = RecordingTransport()
    config = ClientConfig(base_url=live_emulator.url)
    server = build_server(settings, transport=transport, client_config=config)
    async with Client(server, mode=mode) as c:  # type: ignore[arg-type]
        with anyio.move_on_after(1.0):
            await c.call_tool("ask_gemini", {"prompt": "Take your time [[think 6]]", "wait_seconds": 30})
        with anyio.fail_after(3):  # the turn would take 6 s: the stream was closed, not run out
            await transport.closed_event.wait()
        cancels = await upstream_cancels(live_emulator.url)
    assert len(cancels) == 1
    interaction_id = cancels[0]["path"].split("/")[-2]
    async with httpx2.AsyncClient() as raw:
        status = (await raw.get(f"{live_emulator.url}/v1beta/interactions/{interaction_id}")).json()["status"]
    assert status == "cancelled"


@pytest.fixture
def research_emulator() -> Iterator[ServerThread]:
    from gemini_interactions_mcp.emulator import EmulatorConfig, create_app

    with ServerThread(create_app(EmulatorConfig(research_seconds=2.0))) as running:
        yield running


async def test_research_survives_sigkill_and_restart(tmp_path: Path, research_emulator: ServerThread) -> None:
    state = tmp_path / "state.sqlite3"
    with ServerProcess(state, research_emulator.url, *SHORT_LEASE) as first:  # its lease, left to run out
        await first.ready()
        async with Client(first.mcp_url) as c:
            started = data(await c.call_tool("start_deep_research", {"query": "Crash safety"}))
        first.kill()
    with ServerProcess(state, research_emulator.url, port=first.port) as second:
        await second.ready()
        async with Client(second.mcp_url) as c:
            polled = await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 30}
            )
            info = data(polled)
            report = await c.read_resource(started["resource"])
    assert info["status"] == "completed" and info["done"]
    assert "# Research report" in text_of(polled)
    assert "## Sources" in report.contents[0].text  # type: ignore[union-attr]


async def test_the_job_lease_setting_is_the_watchers_lease(tmp_path: Path, emulator: Starlette) -> None:
    """`--job-lease-seconds` reaches the job watchers: the lease in the store runs out that soon (the
    default, 10 s, would leave far longer)."""
    from gemini_interactions_mcp.services.leases import JOB_WATCHER_PREFIX
    from gemini_interactions_mcp.state import open_store

    emulator.state.emulator.configure(research_seconds=30)
    path = tmp_path / "state.sqlite3"
    settings = ServerSettings(state=str(path), job_lease_seconds=1.5)
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:
        started = data(await c.call_tool("start_deep_research", {"query": "Short leases"}))
        store = await open_store(str(path))
        try:
            left = await store.lease_left(JOB_WATCHER_PREFIX + started["interaction_id"])
        finally:
            await store.close()
        await c.call_tool("cancel_interaction", {"interaction_id": started["interaction_id"]})
    assert left is not None and 0 < left <= 1.5, left


async def test_finished_jobs_past_retention_are_pruned_at_start(tmp_path: Path, emulator: Starlette) -> None:
    from gemini_interactions_mcp.state import JobRecord, open_store

    path = tmp_path / "state.sqlite3"
    store = await open_store(str(path))
    old = time.time() - 10 * 86_400
    for name, finished in (("v1_old", old), ("v1_recent", time.time())):
        await store.create_job(
            JobRecord(interaction_id=name, owner="local", kind="model", created=old, updated=old)
        )
        await store.finish_job("local", name, status="completed", output="done")
        job = await store.get_job("local", name)
        assert job is not None
        await store.update_job(job.model_copy(update={"finished": finished}))
    await store.close()
    settings = ServerSettings(state=str(path), job_retention_days=7)
    async with Client(build_server(settings, transport=httpx2.ASGITransport(app=emulator))) as c:

        async def pruned() -> CallToolResult | None:
            result = await c.call_tool("poll_interaction", {"interaction_id": "v1_old", "wait_seconds": 0})
            return result if result.is_error else None

        gone = await async_wait_until(pruned, what="the old job to be pruned")
        kept = await c.call_tool("poll_interaction", {"interaction_id": "v1_recent", "wait_seconds": 0})
    assert gone.is_error and "No background interaction" in text_of(gone)
    assert data(kept)["status"] == "completed" and "done" in text_of(kept)


async def test_collaborative_planning_plan_then_research(client: Client, emulator: Starlette) -> None:
    started = data(
        await client.call_tool(
            "start_deep_research", {"query": "Tidal energy", "collaborative_planning": True}
        )
    )
    plan = await client.call_tool(
        "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
    )
    assert data(plan)["done"] and "plan" in text_of(plan).lower()
    go = data(
        await client.call_tool(
            "start_deep_research", {"query": "Looks good, go ahead.", "conversation": started["conversation"]}
        )
    )
    report = await client.call_tool(
        "poll_interaction", {"interaction_id": go["interaction_id"], "wait_seconds": 20}
    )
    assert data(report)["citations"] and "## Sources" in text_of(report)
    bodies = [r["body"] for r in requests_log(emulator)]
    assert bodies[0]["agent_config"]["collaborative_planning"] is True
    assert bodies[1]["previous_interaction_id"] == started["interaction_id"]


def test_emulator_command_serves_the_api() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gemini_interactions_mcp", "emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def answer() -> httpx2.Response | None:
            try:
                return httpx2.post(
                    f"http://127.0.0.1:{port}/v1beta/interactions",
                    json={"model": "gemini-3.5-flash", "input": "hi"},
                )
            except httpx2.TransportError:
                return None

        response = wait_until(answer, timeout=20, what="the emulator command to serve")
        assert response.status_code == 200 and response.json()["status"] == "completed"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_plan_is_offered_to_the_user_through_elicitation(
    emulator: Starlette, settings: ServerSettings
) -> None:
    from mcp.types import ElicitRequestParams, ElicitResult

    asked: list[str] = []

    async def approve(context: object, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"approve": True, "changes": "focus on Europe"})

    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="legacy", elicitation_callback=approve) as c:
        started = data(
            await c.call_tool("start_deep_research", {"query": "Wind power", "collaborative_planning": True})
        )
        polled = data(
            await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
            )
        )
        assert len(asked) == 1 and "plan" in asked[0].lower()
        follow = polled["next_interaction_id"]
        report = await c.call_tool("poll_interaction", {"interaction_id": follow, "wait_seconds": 20})
    assert "## Sources" in text_of(report)
    bodies = [r["body"] for r in requests_log(emulator)]
    assert bodies[1]["previous_interaction_id"] == started["interaction_id"]
    assert "focus on Europe" in str(bodies[1]["input"])


async def test_plan_is_offered_to_a_2026_client_on_its_next_poll(
    emulator: Starlette, settings: ServerSettings
) -> None:
    from mcp.types import ElicitRequestParams, ElicitResult

    asked: list[str] = []

    async def approve(context: object, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"approve": True, "changes": ""})

    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="auto", elicitation_callback=approve) as c:
        started = data(
            await c.call_tool("start_deep_research", {"query": "Solar", "collaborative_planning": True})
        )
        first = data(
            await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
            )
        )
        assert first["done"] and asked == []  # finished during the wait: a 2026 client is asked next time
        second = data(
            await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 0}
            )
        )
        assert len(asked) == 1 and "plan" in asked[0].lower()
        third = data(
            await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 0}
            )
        )
        assert len(asked) == 1 and "next_interaction_id" not in third  # offered once
        report = await c.call_tool(
            "poll_interaction", {"interaction_id": second["next_interaction_id"], "wait_seconds": 20}
        )
        assert c.protocol_version == "2026-07-28"
    assert "## Sources" in text_of(report)


async def test_an_approved_max_plan_runs_on_max(emulator: Starlette, settings: ServerSettings) -> None:
    from mcp.types import ElicitRequestParams, ElicitResult

    async def approve(context: object, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="accept", content={"approve": True, "changes": ""})

    server = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(server, mode="legacy", elicitation_callback=approve) as c:
        started = data(
            await c.call_tool(
                "start_deep_research",
                {"query": "Fusion", "agent": "max", "collaborative_planning": True},
            )
        )
        polled = data(
            await c.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
            )
        )
        assert polled["next_interaction_id"]
    bodies = [r["body"] for r in requests_log(emulator)]
    assert [b["agent"] for b in bodies] == ["deep-research-max-preview-04-2026"] * 2


async def test_a_plan_is_offered_once_across_server_processes(tmp_path: Path, emulator: Starlette) -> None:
    """The offer is on the job record: a second server on the same state file does not ask again."""
    from mcp.types import ElicitRequestParams, ElicitResult

    asked: list[str] = []

    async def decline(context: object, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    settings = ServerSettings(state=str(tmp_path / "state.sqlite3"), allow_dirs=(tmp_path,))
    first = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(first, mode="legacy", elicitation_callback=decline) as c:
        started = data(
            await c.call_tool("start_deep_research", {"query": "Tides", "collaborative_planning": True})
        )
        declined = await c.call_tool(
            "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
        )
    assert len(asked) == 1 and "did not approve" in text_of(declined)
    second = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(second, mode="legacy", elicitation_callback=decline) as c:
        again = await c.call_tool(
            "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 0}
        )
    assert len(asked) == 1 and data(again)["done"] and "did not approve" not in text_of(again)


async def test_one_watcher_per_job_across_server_processes(tmp_path: Path, emulator: Starlette) -> None:
    """A job polled through a second server on the same state file is not watched twice: one upstream
    stream, and each progress note stored once."""
    settings = ServerSettings(state=str(tmp_path / "state.sqlite3"), allow_dirs=(tmp_path,))
    one = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    two = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(one) as first, Client(two) as second:
        started = data(await first.call_tool("start_deep_research", {"query": "Watched once"}))
        polled = data(
            await second.call_tool(
                "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 20}
            )
        )
    assert polled["status"] == "completed"
    assert len(polled["progress"]) == len(set(polled["progress"])) == 4, polled["progress"]
    streams = [
        g
        for g in requests_log(emulator, "GET", started["interaction_id"])
        if g["query"].get("stream") == "true"
    ]
    assert len(streams) == 1, streams


@pytest.mark.filterwarnings("ignore:resources/subscribe is removed")
async def test_a_relaying_server_announces_completion_to_its_own_subscribers(
    tmp_path: Path, emulator: Starlette
) -> None:
    """The second server does not watch the job, but it tells its subscribers when the watcher is done."""
    updated = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updated.set()

    settings = ServerSettings(state=str(tmp_path / "state.sqlite3"), allow_dirs=(tmp_path,))
    one = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    two = build_server(settings, transport=httpx2.ASGITransport(app=emulator))
    async with Client(one) as first, Client(two, mode="legacy", message_handler=on_message) as second:
        started = data(await first.call_tool("start_deep_research", {"query": "Heard twice"}))
        await second.subscribe_resource(started["resource"])
        await second.call_tool(
            "poll_interaction", {"interaction_id": started["interaction_id"], "wait_seconds": 0}
        )
        with anyio.fail_after(20):
            await updated.wait()

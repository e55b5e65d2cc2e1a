"""How a model turn talks upstream: one request, resumable, and a handle when the deadline passes."""

from __future__ import annotations

from typing import Any, cast

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient, InteractionStream
from gemini_interactions_mcp.services.heartbeats import Heartbeats
from gemini_interactions_mcp.services.turns import TurnOutcome, run_streamed_turn
from tests.helpers.servers import ServerThread
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio
BODY: dict[str, Any] = {"model": "gemini-3.5-flash", "input": "my pet is Tom"}


async def quiet(_: str) -> None:
    return None


async def test_a_turn_is_one_request_whose_stream_names_the_interaction() -> None:
    """A single POST with `background` and `stream` (its first event carries the id), where a create
    followed by a GET of the stream used to take two."""
    app = create_app(EmulatorConfig(step_delay=0.0))
    config = ClientConfig(base_url="http://emulator.test")
    async with InteractionsClient(config, transport=httpx2.ASGITransport(app=app)) as client:
        outcome = await run_streamed_turn(
            client, BODY, quiet, label="test", deadline=10, heartbeats=Heartbeats()
        )
    assert outcome.status == "completed" and 'You said: "my pet is Tom"' in outcome.text
    (request,) = app.state.emulator.requests()
    assert request["method"] == "POST" and request["body"]["background"] is True
    assert request["body"]["stream"] is True
    assert outcome.interaction_id in app.state.emulator.store.interactions


async def test_a_dropped_turn_stream_resumes_after_its_last_event() -> None:
    app = create_app(EmulatorConfig(step_delay=0.0))
    app.state.emulator.add_fault({"kind": "drop_stream", "after_events": 3, "method": "POST"})
    config = ClientConfig(base_url="http://emulator.test")
    async with InteractionsClient(config, transport=httpx2.ASGITransport(app=app)) as client:
        outcome = await run_streamed_turn(
            client, BODY, quiet, label="test", deadline=10, heartbeats=Heartbeats()
        )
    assert outcome.status == "completed" and "Noted: your pet is Tom." in outcome.text
    _create, resume = app.state.emulator.requests()
    assert resume["method"] == "GET" and resume["query"]["last_event_id"]


async def test_past_the_deadline_the_turn_leaves_a_handle() -> None:
    """The id arrives first, before any answer text, so a turn cut by its deadline can be collected."""
    app = create_app(EmulatorConfig(step_delay=0.0))
    with ServerThread(app, lifespan="off") as running:
        async with InteractionsClient(ClientConfig(base_url=running.url)) as client:
            body = {**BODY, "input": "[[think 3]] slow"}
            outcome = await run_streamed_turn(
                client, body, quiet, label="test", deadline=0.5, heartbeats=Heartbeats()
            )
            assert outcome.status == "in_progress" and outcome.interaction_id
            assert (await client.get(outcome.interaction_id)).status == "in_progress"


async def test_a_drain_before_the_interaction_is_named_hands_the_turn_back_once_it_is() -> None:
    """SIGTERM can come while the turn's request is on its way: the handle goes back as soon as the
    first event names the interaction, not after the grace period (the turn would think for 120 s)."""
    app = create_app(EmulatorConfig(step_delay=0.0))
    draining = Heartbeats()
    draining.drain()
    with ServerThread(app, lifespan="off") as running:
        async with InteractionsClient(ClientConfig(base_url=running.url)) as client:
            body = {**BODY, "input": "[[think 120]] slow"}
            with anyio.fail_after(20):
                outcome = await run_streamed_turn(
                    client, body, quiet, label="test", deadline=300, heartbeats=draining
                )
            assert outcome.interaction_id
            await client.cancel(outcome.interaction_id)  # ends its stream: the server stops without waiting
    assert outcome.status == "in_progress"


async def test_a_drain_while_a_named_turn_waits_hands_it_back_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The drain ends the wait of a turn already named (the Heartbeats' call, not the turn's own loop,
    which waits for an event that does not come while Gemini thinks)."""
    app = create_app(EmulatorConfig(step_delay=0.0))
    heartbeats = Heartbeats()
    outcomes: list[TurnOutcome] = []
    streams: list[InteractionStream] = []

    async def turn(client: InteractionsClient) -> None:
        body = {**BODY, "input": "[[think 120]] slow"}
        outcomes.append(
            await run_streamed_turn(client, body, quiet, label="test", deadline=300, heartbeats=heartbeats)
        )

    async def named() -> bool:
        return bool(streams and streams[0].interaction_id)

    with ServerThread(app, lifespan="off") as running:
        async with InteractionsClient(ClientConfig(base_url=running.url)) as client:
            create = client.stream_create

            def recorded(body: dict[str, Any]) -> InteractionStream:
                streams.append(create(body))
                return streams[-1]

            monkeypatch.setattr(client, "stream_create", recorded)
            with anyio.fail_after(20):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(turn, client)
                    await async_wait_until(named, what="the turn's stream to name its interaction")
                    heartbeats.drain()
            (outcome,) = outcomes
            assert outcome.status == "in_progress" and outcome.interaction_id == streams[0].interaction_id
            await client.cancel(outcome.interaction_id)


class _TimingOutStream:
    """A turn's stream whose read fails with a TimeoutError of its own."""

    interaction_id = "v1_named"

    async def __aenter__(self) -> _TimingOutStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __aiter__(self) -> _TimingOutStream:
        return self

    async def __anext__(self) -> Any:
        raise TimeoutError("the stream's own")


class _TimingOutClient:
    def stream_create(self, body: dict[str, Any]) -> _TimingOutStream:
        return _TimingOutStream()


async def test_a_timeout_of_the_turn_itself_is_not_taken_for_the_deadline() -> None:
    """Only the deadline's own expiry becomes a handle: a TimeoutError raised inside the turn stays an
    error."""
    client = cast(InteractionsClient, _TimingOutClient())
    with pytest.raises(TimeoutError, match="the stream's own"):
        await run_streamed_turn(client, BODY, quiet, label="test", deadline=10, heartbeats=Heartbeats())


async def test_a_turn_that_thinks_in_silence_sends_heartbeats() -> None:
    """Progress-aware clients reset their timeout on each note, so silence must not last."""
    app = create_app(EmulatorConfig(step_delay=0.0))
    heartbeats = Heartbeats(interval=0.05)
    notes: list[str] = []

    async def collect(message: str) -> None:
        notes.append(message)

    config = ClientConfig(base_url="http://emulator.test")
    async with (
        InteractionsClient(config, transport=httpx2.ASGITransport(app=app)) as client,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(heartbeats.run)
        body = {**BODY, "input": "[[think 1]] slow"}
        outcome = await run_streamed_turn(
            client, body, collect, label="test", deadline=10, heartbeats=heartbeats
        )
        tg.cancel_scope.cancel()
    assert outcome.status == "completed"
    assert any(note.startswith("Waiting for test… ") for note in notes)

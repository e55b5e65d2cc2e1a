"""Every client operation against the in-process emulator (an independent implementation of the API)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from gemini_interactions_mcp.emulator import EmulatorConfig
from gemini_interactions_mcp.gemini import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InteractionAccumulator,
    InteractionsClient,
    NotFoundError,
    ServerError,
)
from gemini_interactions_mcp.gemini.models import (
    FunctionCallStep,
    InteractionCompletedEvent,
    InteractionEvent,
    McpServerToolCallStep,
    McpServerToolResultStep,
    ThoughtStep,
)

from .conftest import Clock, Emu, config

pytestmark = pytest.mark.anyio
MODEL = "gemini-3.5-flash"
RESEARCH = "deep-research-preview-04-2026"


async def events_of(client: InteractionsClient, body: dict[str, Any]) -> tuple[list[InteractionEvent], Any]:
    async with client.stream_create(body) as stream:
        events = [event async for event in stream]
    return events, stream


def shape(events: list[InteractionEvent]) -> list[tuple[str, Any]]:
    """What a run says, without the ids that differ between two runs."""
    out = []
    for event in events:
        data = event.wire()
        for volatile in ("event_id", "interaction", "interaction_id"):
            data.pop(volatile, None)
        data.get("delta", {}).pop("signature", None)  # thought signatures are random per run
        out.append((str(data.pop("event_type")), data))
    return out


async def test_unary_create(client: InteractionsClient) -> None:
    result = await client.create(
        {"model": MODEL, "input": "Hello! my color is teal", "system_instruction": "Be brief."}
    )
    assert result.id and result.status == "completed"
    assert result.output_text and "Be brief." in result.output_text
    follow = await client.create(
        {"model": MODEL, "input": "what is my color?", "previous_interaction_id": result.id}
    )
    assert follow.output_text and "teal" in follow.output_text


async def test_stream_create_matches_unary(client: InteractionsClient) -> None:
    events, stream = await events_of(client, {"model": MODEL, "input": "Count to three"})
    accumulator = InteractionAccumulator()
    for event in events:
        accumulator.feed(event)
    assert isinstance(events[-1], InteractionCompletedEvent)
    assert stream.interaction_id == accumulator.interaction.id
    stored = await client.get(accumulator.interaction.id)
    assert accumulator.text == stored.output_text
    assert accumulator.interaction.status == "completed"


async def test_thought_summaries_stream(client: InteractionsClient) -> None:
    body = {"model": MODEL, "input": "Think about it", "generation_config": {"thinking_summaries": "auto"}}
    events, _ = await events_of(client, body)
    accumulator = InteractionAccumulator()
    for event in events:
        accumulator.feed(event)
    assert accumulator.thought_summaries
    steps = accumulator.interaction.steps or []
    assert steps[0].type == "thought"


async def test_background_and_poll(client: InteractionsClient) -> None:
    started = await client.create({"model": MODEL, "input": "[[think 0.3]] Slow one", "background": True})
    assert started.status == "in_progress"
    for _ in range(100):  # bounded polling
        current = await client.get(started.id)
        if current.is_terminal:
            break
        await anyio.sleep(0.05)
    assert current.status == "completed" and current.output_text


async def test_get_with_include_input(client: InteractionsClient) -> None:
    created = await client.create({"model": MODEL, "input": "Remember the input"})
    plain = await client.get(created.id)
    full = await client.get(created.id, include_input=True)
    assert full.input is not None and "Remember the input" in str(full.input)
    assert plain.id == full.id


async def test_stream_get_from_last_event_id(client: InteractionsClient) -> None:
    created = await client.create({"model": MODEL, "input": "A stored run", "background": True})
    async with client.stream_get(created.id) as stream:
        full = [event async for event in stream]
    ids = [event.event_id for event in full]
    assert all(ids) and len(set(ids)) == len(ids)
    async with client.stream_get(created.id, last_event_id=ids[2]) as stream:
        rest = [event async for event in stream]
    assert [event.event_id for event in rest] == ids[3:]


async def test_non_background_streams_carry_no_event_ids(client: InteractionsClient) -> None:
    """As the real service: no `event_id` at all on a stream of a non-background request."""
    events, stream = await events_of(client, {"model": MODEL, "input": "Plain stream"})
    assert [event.event_id for event in events] == [None] * len(events)
    assert stream.interaction_id and stream.last_event_id is None
    assert isinstance(events[-1], InteractionCompletedEvent)


@pytest.mark.parametrize(
    ("emulator_config", "background"),
    [
        (EmulatorConfig(step_delay=0.0), True),  # the real service: a background stream has ids
        (EmulatorConfig(step_delay=0.0), False),  # ... a non-background one has none
        (EmulatorConfig(step_delay=0.0, event_ids="always"), False),
        (EmulatorConfig(step_delay=0.0, event_ids="never"), True),
    ],
)
async def test_resume_after_dropped_stream(client: InteractionsClient, emu: Emu, background: bool) -> None:
    """Resumes after each drop, from `last_event_id` when the stream has ids, else by replaying from the
    start and skipping what was already seen; either way every event exactly once."""
    body = {"model": MODEL, "input": "Tell me a long story about resumption", "background": background}
    undisturbed, _ = await events_of(client, body)
    await emu.fault(kind="drop_stream", after_events=3, count=2)
    await emu.clear_requests()
    resumed, stream = await events_of(client, body)
    assert shape(resumed) == shape(undisturbed)
    assert stream.reconnects == 2
    ids = [event.event_id for event in resumed]
    gets = [r for r in await emu.requests() if r["method"] == "GET"]
    if all(ids):
        assert len(set(ids)) == len(ids)
        assert [r["query"].get("last_event_id") for r in gets] == [ids[2], ids[5]]
    else:
        assert ids == [None] * len(ids)
        assert [r["query"] for r in gets] == [{"stream": "true"}] * 2


async def test_retry_after_429(client: InteractionsClient, emu: Emu, clock: Clock) -> None:
    await emu.fault(kind="error", status=429, count=2, retry_after=1, method="POST")
    await emu.clear_requests()
    result = await client.create({"model": MODEL, "input": "hi"})
    assert result.status == "completed"
    assert len([r for r in await emu.requests() if r["method"] == "POST"]) == 3
    assert clock.sleeps == [1.0, 1.0]


async def test_give_up_after_the_bound(client: InteractionsClient, emu: Emu, clock: Clock) -> None:
    await emu.fault(kind="error", status=503, count=10, retry_after_ms=10)
    await emu.clear_requests()
    with pytest.raises(ServerError) as caught:
        await client.create({"model": MODEL, "input": "hi"})
    assert caught.value.status_code == 503 and caught.value.retry_after == 0.01
    assert len(await emu.requests()) == 5
    assert clock.sleeps == [0.01] * 4


@pytest.mark.parametrize("emulator_config", [EmulatorConfig(api_key="right-key", step_delay=0.0)])
async def test_auth_errors(emu: Emu, clock: Clock) -> None:
    kwargs: dict[str, Any] = {"transport": emu.transport, "sleep": clock.sleep, "clock": clock}
    base = {"base_url": "http://emulator.test"}
    async with InteractionsClient(config(**base, api_key=None), **kwargs) as no_key:
        with pytest.raises(ConfigurationError, match="GEMINI_API_KEY"):
            await no_key.create({"model": MODEL, "input": "hi"})
    async with InteractionsClient(config(**base, api_key="wrong-key"), **kwargs) as wrong:
        # The gateway's answer to a wrong key is 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
        with pytest.raises(AuthenticationError) as caught:
            await wrong.create({"model": MODEL, "input": "hi"})
        assert caught.value.status_code == 400 and caught.value.status == "INVALID_ARGUMENT"
        assert "wrong-key" not in str(caught.value)
    async with InteractionsClient(config(**base, api_key="right-key"), **kwargs) as right:
        assert (await right.create({"model": MODEL, "input": "hi"})).status == "completed"


async def test_cancel_background_research(client: InteractionsClient) -> None:
    started = await client.create({"agent": RESEARCH, "input": "Research tea", "background": True})
    assert started.status == "in_progress"
    cancelled = await client.cancel(started.id)
    assert cancelled.status == "cancelled"
    assert (await client.get(started.id)).status == "cancelled"


async def test_delete_then_not_found(client: InteractionsClient) -> None:
    created = await client.create({"model": MODEL, "input": "hi"})
    await client.delete(created.id)
    with pytest.raises(NotFoundError):
        await client.get(created.id)
    with pytest.raises(NotFoundError):
        await client.delete(created.id)


async def test_bad_request_is_typed(client: InteractionsClient) -> None:
    with pytest.raises(BadRequestError):
        await client.create({"agent": RESEARCH, "input": "needs background"})


async def test_agents_crud_with_paging(client: InteractionsClient) -> None:
    base = "antigravity-preview-05-2026"
    for name in ("alpha", "bravo", "charlie"):
        made = await client.create_agent(
            {"id": name, "base_agent": base, "system_instruction": f"I am {name}"}
        )
        assert made.id == name
    with pytest.raises(ConflictError):
        await client.create_agent({"id": "alpha", "base_agent": base})
    with pytest.raises(BadRequestError):
        await client.create_agent({"id": "Not_Valid", "base_agent": base})
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = await client.list_agents(page_size=2, page_token=token)
        pages += 1
        assert len(page.agents) <= 2
        seen += [agent.id for agent in page.agents]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == ["alpha", "bravo", "charlie"] and pages == 2
    assert (await client.get_agent("bravo")).system_instruction == "I am bravo"
    await client.delete_agent("bravo")
    with pytest.raises(NotFoundError):
        await client.get_agent("bravo")
    run = await client.create(
        {"agent": "alpha", "input": "Do it", "environment": "remote", "background": True}
    )
    assert run.id


async def test_v1_and_v1beta_both_work(emu: Emu, clock: Clock) -> None:
    for version in ("v1", "v1beta"):
        cfg = config(base_url="http://emulator.test", api_key=None, api_version=version)
        async with InteractionsClient(cfg, transport=emu.transport, sleep=clock.sleep, clock=clock) as c:
            assert (await c.create({"model": MODEL, "input": "hi"})).status == "completed"
    paths = [r["path"] for r in await emu.requests()]
    assert paths == ["/v1/interactions", "/v1beta/interactions"]


async def test_function_calling_loop_parses_unary_and_streamed(client: InteractionsClient) -> None:
    """Parallel function calls, requires_action, and remote MCP steps parse into our models, whole or
    rebuilt from the stream."""
    weather = {"type": "function", "name": "weather", "parameters": {"type": "object"}}
    tracker = {"type": "mcp_server", "name": "tracker", "url": "https://mcp.example.com/mcp"}
    body = {
        "model": MODEL,
        "input": '[[call status {"svc": "api"}]] [[call weather {"city": "Oslo"}]] [[call weather]]',
        "tools": [weather, tracker],
    }
    unary = await client.create(body)
    async with client.stream_create(body) as stream:
        accumulator = InteractionAccumulator()
        async for event in stream:
            accumulator.feed(event)
    for got in (unary, accumulator.interaction):
        assert got.status == "requires_action"
        steps = got.steps or []
        assert [type(s) for s in steps] == [
            ThoughtStep,
            McpServerToolCallStep,
            McpServerToolResultStep,
            FunctionCallStep,
            FunctionCallStep,
        ]
        mcp_call, mcp_result, first, second = steps[1:]
        assert isinstance(mcp_call, McpServerToolCallStep) and mcp_call.arguments == {"svc": "api"}
        assert isinstance(mcp_result, McpServerToolResultStep) and mcp_result.call_id == mcp_call.id
        assert isinstance(first, FunctionCallStep) and first.arguments == {"city": "Oslo"}
        assert isinstance(second, FunctionCallStep) and second.arguments == {} and second.id != first.id
    results = [
        {"type": "function_result", "call_id": call.id, "name": "weather", "result": f"ok {i}"}
        for i, call in enumerate(unary.steps or [])
        if isinstance(call, FunctionCallStep)
    ]
    done = await client.create(
        {"model": MODEL, "previous_interaction_id": unary.id, "tools": [weather, tracker], "input": results}
    )
    assert done.status == "completed" and done.output_text
    assert "weather returned: ok 3" in done.output_text and "weather returned: ok 4" in done.output_text


async def test_a_function_result_block_inside_user_input_is_sent_as_given(client: InteractionsClient) -> None:
    """The client keeps a `function_result` content block of a `user_input` step (an SDK's way of sending
    results, accepted by the service) through its request model, unchanged."""
    weather = {"type": "function", "name": "weather", "parameters": {"type": "object"}}
    asked = await client.create({"model": MODEL, "input": "[[call weather]]", "tools": [weather]})
    call = (asked.steps or [])[-1]
    assert isinstance(call, FunctionCallStep)
    block = {"type": "function_result", "call_id": call.id, "name": "weather", "result": "rain"}
    body = {"model": MODEL, "previous_interaction_id": asked.id, "tools": [weather]}
    done = await client.create({**body, "input": [{"type": "user_input", "content": [block]}]})
    assert done.output_text and "weather returned: rain" in done.output_text

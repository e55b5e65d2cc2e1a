"""SSE: event order and shapes for every step kind, resumption, background streams, cancel."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

from gemini_interactions_mcp.emulator import Emulator, EmulatorConfig, service
from gemini_interactions_mcp.emulator.events import timeline
from gemini_interactions_mcp.emulator.validation import parse_create
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio
MODEL = "gemini-3.5-flash"
Parse = Callable[[str], list[tuple[str, Any]]]


async def stream_create(client: httpx2.AsyncClient, sse: Parse, **body: Any) -> list[tuple[str, Any]]:
    body.setdefault("model", MODEL)
    response = await client.post("/v1beta/interactions", json={**body, "stream": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse(response.text)


def rebuild(events: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """A minimal accumulator: steps from start/delta/stop (what a client does)."""
    steps: dict[int, dict[str, Any]] = {}
    for name, data in events:
        if name == "step.start":
            steps[data["index"]] = dict(data["step"])
        elif name == "step.delta":
            step, delta = steps[data["index"]], dict(data["delta"])
            kind = delta.pop("type")
            if kind == "text":
                step.setdefault("content", [{"type": "text", "text": ""}])[0]["text"] += delta["text"]
            elif kind == "text_annotation_delta":
                step["content"][0]["annotations"] = delta["annotations"]
            elif kind == "thought_summary":
                step.setdefault("summary", []).append(delta["content"])
            elif kind == "thought_signature":
                step["signature"] = delta["signature"]
            elif kind == "arguments_delta":
                step["_args"] = step.get("_args", "") + delta["arguments"]
            else:
                assert kind == step["type"]
                step.update(delta)
    for step in steps.values():
        if "_args" in step:
            step["arguments"] = json.loads(step.pop("_args"))
    return [steps[i] for i in sorted(steps)]


@pytest.mark.parametrize("background", [False, True])
async def test_event_order_ids_and_termination(
    client: httpx2.AsyncClient, sse: Parse, background: bool
) -> None:
    """Event ids as the real service stamps them: on every event of a background stream, on none of
    a non-background one."""
    events = await stream_create(
        client, sse, input="count", generation_config={"thinking_summaries": "auto"}, background=background
    )
    names = [name for name, _ in events]
    assert names[:2] == ["interaction.created", "interaction.status_update"]
    assert names[-2:] == ["interaction.completed", "done"]
    assert events[-1][1] == "[DONE]"
    payloads = [data for _, data in events[:-1]]
    assert all(p["event_type"] == name for (name, _), p in zip(events, payloads, strict=False))
    ids = [p.get("event_id") for p in payloads]
    if background:
        assert all(ids) and len(set(ids)) == len(ids)
    else:
        assert ids == [None] * len(ids)
    created = payloads[0]["interaction"]
    assert created["status"] == "in_progress" and created["object"] == "interaction"
    completed = payloads[-1]["interaction"]
    assert (
        completed["status"] == "completed"
        and "steps" not in completed
        and completed["usage"]["total_tokens"] > 0
    )
    middle = names[2:-2]
    assert middle[0] == "step.start" and middle[-1] == "step.stop"
    steps = rebuild(events)
    assert [s["type"] for s in steps] == ["thought", "model_output"]
    assert steps[0]["signature"] and steps[0]["summary"][0]["type"] == "text"
    got = (await client.get(f"/v1beta/interactions/{created['id']}")).json()
    assert got["steps"][1:] == steps  # the stream rebuilds exactly the stored output


async def test_every_tool_step_kind_streams(client: httpx2.AsyncClient, sse: Parse) -> None:
    tools = [{"type": "google_search"}, {"type": "code_execution"}, {"type": "url_context"}]
    events = await stream_create(client, sse, input="look at https://example.net/a", tools=tools)
    starts = {data["step"]["type"]: data["step"] for name, data in events if name == "step.start"}
    assert starts["google_search_call"]["signature"] == "" and "id" in starts["google_search_call"]
    assert "call_id" in starts["code_execution_result"]
    delta_types = {data["delta"]["type"] for name, data in events if name == "step.delta"}
    expected = {"google_search_call", "google_search_result", "code_execution_call", "code_execution_result"}
    assert (
        expected | {"url_context_call", "url_context_result", "text", "text_annotation_delta"} <= delta_types
    )
    steps = rebuild(events)
    iid = events[0][1]["interaction"]["id"]
    stored = (await client.get(f"/v1beta/interactions/{iid}")).json()["steps"][1:]
    assert steps == stored


async def test_function_call_streams_arguments_delta(client: httpx2.AsyncClient, sse: Parse) -> None:
    tool = {
        "type": "function",
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    }
    events = await stream_create(client, sse, input="call get_weather for Paris", tools=[tool])
    starts = [data for name, data in events if name == "step.start"]
    assert [start["step"]["type"] for start in starts] == ["thought", "function_call"]
    assert starts[1]["step"]["arguments"] == {}
    deltas = [d["delta"]["type"] for n, d in events if n == "step.delta" and d["index"] == 1]
    assert set(deltas) == {"arguments_delta"}
    assert rebuild(events)[1]["arguments"] == {"location": "example location"}
    assert events[-2][1]["interaction"]["status"] == "requires_action"


@pytest.mark.parametrize(
    ("config", "background"),
    [
        (EmulatorConfig(step_delay=0.0), True),
        (EmulatorConfig(step_delay=0.0, event_ids="always"), False),  # the id-bearing mode
    ],
)
async def test_resume_replays_exactly_the_events_after(
    client: httpx2.AsyncClient, sse: Parse, background: bool
) -> None:
    events = await stream_create(
        client, sse, input="resume me please, this is a longer prompt to chunk", background=background
    )
    iid = events[0][1]["interaction"]["id"]
    replay = sse((await client.get(f"/v1beta/interactions/{iid}", params={"stream": "true"})).text)
    assert replay == events
    for cut in (0, 3, len(events) - 2):
        last = events[cut][1]["event_id"]
        for param in ("last_event_id", "lastEventId"):
            response = await client.get(f"/v1/interactions/{iid}", params={"stream": "true", param: last})
            assert sse(response.text) == events[cut + 1 :]


async def test_background_stream_create_waits_for_simulated_time(
    client: httpx2.AsyncClient, sse: Parse
) -> None:
    started = anyio.current_time()
    events = await stream_create(client, sse, input="[[think 0.4]] slow", background=True)
    assert anyio.current_time() - started >= 0.35
    assert events[-2][1]["interaction"]["status"] == "completed"
    assert 'You said: "slow"' in rebuild(events)[-1]["content"][0]["text"]


async def test_think_directive_makes_unary_call_take_time(client: httpx2.AsyncClient) -> None:
    started = anyio.current_time()
    body = {
        "model": MODEL,
        "input": "[[think 0.3]] ponder",
        "generation_config": {"thinking_summaries": "auto"},
    }
    data = (await client.post("/v1beta/interactions", json=body)).json()
    assert anyio.current_time() - started >= 0.25
    assert [s["type"] for s in data["steps"]] == ["thought", "model_output"]
    assert "[[think" not in data["steps"][-1]["content"][0]["text"]


async def test_background_model_poll_and_cancel(client: httpx2.AsyncClient, sse: Parse) -> None:
    body = {"model": MODEL, "input": "[[think 5]] long", "background": True}
    created = (await client.post("/v1beta/interactions", json=body)).json()
    assert created["status"] == "in_progress" and created["steps"] == []
    iid = created["id"]
    assert (await client.get(f"/v1beta/interactions/{iid}")).json()["status"] == "in_progress"
    cancelled = await client.post(f"/v1beta/interactions/{iid}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["steps"][0]["type"] == "user_input"
    assert (await client.get(f"/v1beta/interactions/{iid}")).json()["status"] == "cancelled"
    events = sse((await client.get(f"/v1beta/interactions/{iid}", params={"stream": "true"})).text)
    assert [n for n, _ in events][-3:] == ["interaction.status_update", "interaction.completed", "done"]
    assert events[-2][1]["interaction"]["status"] == "cancelled"
    again = await client.post(f"/v1beta/interactions/{iid}/cancel")
    assert again.status_code == 400 and "already 'cancelled'" in again.json()["error"]["message"]


async def test_cancel_colon_form_and_refusals(client: httpx2.AsyncClient) -> None:
    body = {"model": MODEL, "input": "[[think 5]] long", "background": True}
    iid = (await client.post("/v1beta/interactions", json=body)).json()["id"]
    response = await client.post(f"/v1beta/interactions/{iid}:cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    done = (await client.post("/v1beta/interactions", json={"model": MODEL, "input": "quick"})).json()
    refused = await client.post(f"/v1beta/interactions/{done['id']}/cancel")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_request"
    assert "not a background interaction" in refused.json()["error"]["message"]
    finished = (await client.post("/v1beta/interactions", json={**body, "input": "fast"})).json()

    async def completed() -> bool:
        got = await client.get(f"/v1beta/interactions/{finished['id']}")
        return bool(got.json()["status"] == "completed")

    await async_wait_until(completed, what="the instant background run to complete")
    late = await client.post(f"/v1beta/interactions/{finished['id']}/cancel")
    assert late.status_code == 400 and "already 'completed'" in late.json()["error"]["message"]


async def test_stream_of_running_interaction_sees_cancel(
    client: httpx2.AsyncClient, sse: Parse, emulator: Emulator
) -> None:
    body = {"model": MODEL, "input": "[[think 3]] long", "background": True}
    iid = (await client.post("/v1beta/interactions", json=body)).json()["id"]
    result: dict[str, str] = {}

    async def read() -> None:
        result["text"] = (await client.get(f"/v1beta/interactions/{iid}", params={"stream": "true"})).text

    async def streaming() -> bool:  # the GET is logged as it arrives, and its stream opens at once
        return any(r["query"].get("stream") == "true" for r in emulator.requests())

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await async_wait_until(streaming, what="the stream to open")
        await client.post(f"/v1beta/interactions/{iid}/cancel")
    events = sse(result["text"])
    assert events[-2][1]["interaction"]["status"] == "cancelled"
    assert events[-1] == ("done", "[DONE]")


async def test_events_already_due_go_out_in_one_write(client: httpx2.AsyncClient) -> None:
    """The emulator's CPU counts against every test and bench: a finished run's stream is one write, not
    one per event."""
    body = {"model": MODEL, "input": "a long enough prompt to stream in several text deltas", "stream": True}
    async with client.stream("POST", "/v1beta/interactions", json=body) as response:
        chunks = [chunk async for chunk in response.aiter_raw()]
    assert len(chunks) == 1 and chunks[0].count(b"event: step.delta") > 2
    assert chunks[0].endswith(b"event: done\ndata: [DONE]\n\n")


async def test_the_timeline_is_built_once_until_a_cancel_cuts_it(
    client: httpx2.AsyncClient, emulator: Emulator, sse: Parse
) -> None:
    body = {"model": MODEL, "input": "[[think 5]] long", "background": True}
    iid = (await client.post("/v1beta/interactions", json=body)).json()["id"]
    record = emulator.store.interactions[iid]
    first = timeline(record)
    assert timeline(record) is first
    await client.post(f"/v1beta/interactions/{iid}/cancel")
    cut = timeline(record)
    assert cut is not first and sse(cut.frames[-1].decode())[0][1]["interaction"]["status"] == "cancelled"
    assert timeline(record) is cut


def test_a_stored_timeline_leaves_the_garbage_collector_nothing_to_follow() -> None:
    """Every stored interaction keeps its timeline; the collector goes through all it tracks on each
    full collection, so the timeline is plain values (frames, times, ids), not objects per event."""
    emulator = Emulator(EmulatorConfig(step_delay=0.0))
    record = service.create(emulator, parse_create({"model": MODEL, "input": "hi", "background": True}))
    stream = timeline(record)
    gc.collect()
    assert len(stream) > 5
    assert not any(gc.is_tracked(part) for part in (stream.at, stream.types, stream.ids, stream.frames))

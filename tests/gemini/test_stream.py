"""Streaming over a mock transport: parsing, resumption without loss or duplicates, bounds, closing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, get_args

import httpx2
import pytest
from pydantic import ValidationError

from gemini_interactions_mcp.gemini import InteractionAccumulator, StreamError
from gemini_interactions_mcp.gemini import accumulate as accumulate_module
from gemini_interactions_mcp.gemini import stream as stream_module
from gemini_interactions_mcp.gemini.models import (
    InteractionCompletedEvent,
    InteractionCreatedEvent,
    InteractionEvent,
    UnknownEvent,
)

from .conftest import Clock, mock_client, run_events, sse_body

pytestmark = pytest.mark.anyio
BODY = {"model": "gemini-3.5-flash", "input": "hi"}


def sse(content: bytes | AsyncIterator[bytes]) -> httpx2.Response:
    return httpx2.Response(200, content=content, headers={"content-type": "text/event-stream"})


async def broken(chunks: list[bytes], error: Exception) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    raise error


class Server:
    """Serves `events`: the POST (and the first N GETs) cut after `cut` events; GETs resume by id."""

    def __init__(
        self, events: list[dict[str, Any]], cuts: list[int], *, ids: bool = True, error: bool = False
    ):
        self.events = events if ids else [{k: v for k, v in e.items() if k != "event_id"} for e in events]
        self.cuts = list(cuts)
        self.error = error
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        start = 0
        last = request.url.params.get("last_event_id")
        if last is not None:
            start = next(i for i, e in enumerate(self.events) if e.get("event_id") == last) + 1
        rest = self.events[start:]
        if self.cuts:
            cut = self.cuts.pop(0)
            body = sse_body(rest[:cut], done=False)
            if self.error:
                return sse(broken([body[: len(body) - 7]], httpx2.ReadError("connection reset")))
            return sse(body)
        return sse(sse_body(rest))


async def collect(client: Any, body: dict[str, Any] = BODY) -> tuple[list[InteractionEvent], Any]:
    async with client.stream_create(body) as stream:
        events = [event async for event in stream]
    return events, stream


async def test_undisturbed_stream(clock: Clock) -> None:
    server = Server(run_events(), [])
    async with mock_client(server, clock) as client:
        events, stream = await collect(client)
    assert [e.event_id for e in events] == [f"e{i}" for i in range(len(run_events()))]
    assert isinstance(events[0], InteractionCreatedEvent) and isinstance(
        events[-1], InteractionCompletedEvent
    )
    assert stream.interaction_id == "v1_abc" and stream.reconnects == 0
    request = server.requests[0]
    assert json.loads(request.content)["stream"] is True
    assert request.headers["accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("error", "resumed_after"),
    [(False, ["e1", "e4", "e5"]), (True, ["e0", "e2", "e2"])],  # a cut mid-event loses that event's bytes
    ids=["eof", "transport-error"],
)
async def test_resumes_after_drops_without_loss_or_duplicates(
    clock: Clock, error: bool, resumed_after: list[str]
) -> None:
    expected = run_events(text="one two three four five")
    server = Server(expected, [2, 3, 1], error=error)
    async with mock_client(server, clock) as client:
        events, stream = await collect(client)
    assert [e.wire() for e in events] == expected
    assert stream.reconnects == 3
    resumes = server.requests[1:]
    assert [r.url.params.get("last_event_id") for r in resumes] == resumed_after
    assert all(r.method == "GET" and r.url.params["stream"] == "true" for r in resumes)
    assert resumes[0].url.path == "/v1beta/interactions/v1_abc"


async def test_without_event_ids_the_replayed_prefix_is_skipped(clock: Clock) -> None:
    expected = [{k: v for k, v in e.items() if k != "event_id"} for e in run_events()]
    server = Server(run_events(), [3], ids=False)
    async with mock_client(server, clock) as client:
        events, _ = await collect(client)
    assert [e.wire() for e in events] == expected
    assert "last_event_id" not in server.requests[1].url.params


async def test_reconnects_are_bounded_without_progress(clock: Clock) -> None:
    server = Server(run_events(), [2, 0, 0, 0, 0])
    async with mock_client(server, clock, max_stream_reconnects=2) as client:
        with pytest.raises(StreamError, match="gave up after 2 reconnects") as info:
            await collect(client)
    assert info.value.interaction_id == "v1_abc"
    assert len(server.requests) == 4  # the POST, then 3 GETs: 2 allowed reconnects without progress


async def test_progress_resets_the_reconnect_count(clock: Clock) -> None:
    server = Server(run_events(text="a b c d e f"), [2, 1, 1, 1, 1, 1, 1])
    async with mock_client(server, clock, max_stream_reconnects=1) as client:
        events, stream = await collect(client)
    assert len(events) == len(run_events(text="a b c d e f"))
    assert stream.reconnects == 7


async def test_not_stored_or_unnamed_streams_are_not_resumed(clock: Clock) -> None:
    async with mock_client(Server(run_events(), [3]), clock) as client:
        with pytest.raises(StreamError, match="cannot be resumed"):
            await collect(client, {**BODY, "store": False})
    async with mock_client(Server(run_events(), [0]), clock) as client:
        with pytest.raises(StreamError, match="cannot be resumed"):
            await collect(client)


async def test_error_event_raises_stream_error(clock: Clock) -> None:
    events = [
        *run_events()[:2],
        {"event_type": "error", "error": {"code": "gateway_timeout", "message": "Deadline expired"}},
    ]
    async with mock_client(lambda request: sse(sse_body(events)), clock) as client:
        seen: list[InteractionEvent] = []
        with pytest.raises(StreamError, match="Deadline expired") as info:
            async with client.stream_create(BODY) as stream:
                async for event in stream:
                    seen.append(event)
    assert info.value.code == "gateway_timeout" and info.value.interaction_id == "v1_abc"
    assert len(seen) == 2


async def test_unknown_events_and_garbage_data(clock: Clock) -> None:
    raw = (
        b": keep-alive\n\n"
        b'data: {"event_type": "interaction.created", "interaction": {"id": "v1_q"}}\n\n'
        b"data: not json\n\n"
        b'data: {"event_type": "teleport.begin", "where": "mars"}\n\n'
        b'data: {"event_type": "interaction.completed",\n'
        b'data:  "interaction": {"id": "v1_q", "status": "completed"}}\n\n'
        b"data: [DONE]\n\n"
        b'data: {"event_type": "never.seen"}\n\n'
    )
    async with mock_client(lambda request: sse(raw), clock) as client:
        events, _ = await collect(client)
    assert [type(e).__name__ for e in events] == [
        "InteractionCreatedEvent",
        "UnknownEvent",
        "InteractionCompletedEvent",
    ]
    assert isinstance(events[1], UnknownEvent)
    assert events[1].wire() == {"event_type": "teleport.begin", "where": "mars"}


async def test_completed_without_done_is_a_normal_end(clock: Clock) -> None:
    async with mock_client(lambda request: sse(sse_body(run_events(), done=False)), clock) as client:
        events, stream = await collect(client)
    assert len(events) == len(run_events()) and stream.reconnects == 0


async def test_leaving_the_context_closes_the_response(clock: Clock) -> None:
    responses: list[httpx2.Response] = []

    async def endless() -> AsyncIterator[bytes]:
        yield sse_body(run_events()[:1], done=False)
        while True:
            yield b": still here\n\n"

    def handler(request: httpx2.Request) -> httpx2.Response:
        responses.append(sse(endless()))
        return responses[-1]

    async with mock_client(handler, clock) as client:
        async with client.stream_create(BODY) as stream:
            async for event in stream:
                assert isinstance(event, InteractionCreatedEvent)
                break
        assert responses[0].is_closed
        with pytest.raises(StopAsyncIteration):
            await anext(stream)


async def test_stream_get_from_an_event_id(clock: Clock) -> None:
    server = Server(run_events(), [])
    client = mock_client(server, clock)
    async with client, client.stream_get("v1_abc", last_event_id="e3") as stream:
        events = [event async for event in stream]
    assert events[0].event_id == "e4"
    assert server.requests[0].url.params["last_event_id"] == "e3"


async def test_iterating_outside_the_context_is_refused(clock: Clock) -> None:
    async with mock_client(Server(run_events(), []), clock) as client:
        with pytest.raises(RuntimeError, match="async with"):
            await anext(client.stream_create(BODY))


async def test_accumulator_rebuilds_the_interaction(clock: Clock) -> None:
    events: list[dict[str, Any]] = [
        {"event_type": "interaction.created", "interaction": {"id": "v1_z", "status": "in_progress"}},
        {"event_type": "step.start", "index": 0, "step": {"type": "thought", "summary": []}},
        {
            "event_type": "step.delta",
            "index": 0,
            "delta": {"type": "thought_summary", "content": {"type": "text", "text": "Planning"}},
        },
        {"event_type": "step.delta", "index": 0, "delta": {"type": "thought_signature", "signature": "sig"}},
        {"event_type": "step.stop", "index": 0},
        {
            "event_type": "step.start",
            "index": 1,
            "step": {"type": "google_search_call", "id": "s1", "signature": ""},
        },
        {
            "event_type": "step.delta",
            "index": 1,
            "delta": {"type": "google_search_call", "arguments": {"queries": ["q"]}, "signature": "x"},
        },
        {"event_type": "step.start", "index": 2, "step": {"type": "model_output"}},
        {"event_type": "step.delta", "index": 2, "delta": {"type": "text", "text": "Hello "}},
        {"event_type": "step.delta", "index": 2, "delta": {"type": "text", "text": "world"}},
        {
            "event_type": "step.delta",
            "index": 2,
            "delta": {
                "type": "text_annotation_delta",
                "annotations": [
                    {"type": "url_citation", "url": "https://a", "start_index": 0, "end_index": 5}
                ],
            },
        },
        {
            "event_type": "step.start",
            "index": 3,
            "step": {"type": "function_call", "id": "f1", "name": "go", "arguments": {}},
        },
        {"event_type": "step.delta", "index": 3, "delta": {"type": "arguments_delta", "arguments": '{"a": '}},
        {"event_type": "step.delta", "index": 3, "delta": {"type": "arguments_delta", "arguments": "1}"}},
        {
            "event_type": "interaction.completed",
            "interaction": {"id": "v1_z", "status": "requires_action", "usage": {"total_tokens": 9}},
        },
    ]
    async with mock_client(lambda request: sse(sse_body(events)), clock) as client:
        accumulator = InteractionAccumulator()
        texts: list[str | None] = []
        received: list[int] = []
        async with client.stream_create(BODY) as stream:
            async for event in stream:
                accumulator.feed(event)
                texts.append(accumulator.text)
                received.append(accumulator.text_received)
    assert accumulator.thought_summaries == ["Planning"]
    assert "Hello " in texts and accumulator.text == "Hello world"
    assert sorted(set(received)) == [0, 6, 11]  # the progress count: characters as they arrive
    interaction = accumulator.interaction
    assert interaction.id == "v1_z" and interaction.status == "requires_action"
    assert interaction.usage is not None and interaction.usage.total_tokens == 9
    assert [step.wire() for step in interaction.steps or []] == [
        {"type": "thought", "summary": [{"type": "text", "text": "Planning"}], "signature": "sig"},
        {"type": "google_search_call", "id": "s1", "signature": "x", "arguments": {"queries": ["q"]}},
        {
            "type": "model_output",
            "content": [
                {
                    "type": "text",
                    "text": "Hello world",
                    "annotations": [
                        {"type": "url_citation", "url": "https://a", "start_index": 0, "end_index": 5}
                    ],
                }
            ],
        },
        {"type": "function_call", "id": "f1", "name": "go", "arguments": {"a": 1}},
    ]
    # The cheap views a finished turn reads: the same steps as wire objects, the rest without them.
    assert accumulator.steps == [step.wire() for step in interaction.steps or []]
    assert accumulator.head.wire() == {k: v for k, v in interaction.wire().items() if k != "steps"}


async def test_event_line_is_ignored_in_favour_of_the_json_event_type(clock: Clock) -> None:
    raw = (
        "\ufeffevent: step.delta\r\n"
        'data: {"event_type": "interaction.created", "event_id": "a",\r\n'
        'data:  "interaction": {"id": "v1_e"}}\r\n\r\n'
        "event: interaction.completed\r"
        ": comment between fields\r"
        'data: {"event_type": "step.start", "event_id": "b", "index": 0,\r'
        'data: "step": {"type": "model_output"}}\r\r'
        "event: lonely-event-without-data\n\n"
        'data: {"event_type": "interaction.completed", "event_id": "c", "interaction": {"id": "v1_e"}}\n\n'
        "event: done\ndata: [DONE]\n\n"
    ).encode()
    async with mock_client(lambda request: sse(raw), clock) as client:
        events, stream = await collect(client)
    assert [(type(e).__name__, e.event_id) for e in events] == [
        ("InteractionCreatedEvent", "a"),
        ("StepStartEvent", "b"),
        ("InteractionCompletedEvent", "c"),
    ]
    assert stream.interaction_id == "v1_e"


def test_accumulator_tool_results_and_server_tool_deltas() -> None:
    from pydantic import TypeAdapter

    adapter: TypeAdapter[InteractionEvent] = TypeAdapter(InteractionEvent)
    raw: list[dict[str, Any]] = [
        {
            "event_type": "step.start",
            "index": 0,
            "step": {"type": "code_execution_call", "id": "c1", "signature": ""},
        },
        {
            "event_type": "step.delta",
            "index": 0,
            "delta": {"type": "code_execution_call", "arguments": {"code": "print(1)", "language": "python"}},
        },
        {"event_type": "step.start", "index": 1, "step": {"type": "code_execution_result", "call_id": "c1"}},
        {
            "event_type": "step.delta",
            "index": 1,
            "delta": {"type": "code_execution_result", "result": "1\n", "is_error": False, "signature": "s"},
        },
        {"event_type": "step.start", "index": 2, "step": {"type": "google_search_result", "call_id": "g1"}},
        {
            "event_type": "step.delta",
            "index": 2,
            "delta": {"type": "google_search_result", "result": [{"url": "https://a"}], "is_error": False},
        },
        {"event_type": "step.start", "index": 3, "step": {"type": "function_result", "call_id": "f1"}},
        {
            "event_type": "step.delta",
            "index": 3,
            "delta": {"type": "function_result", "result": {"temp": 20}, "name": "weather"},
        },
        {"event_type": "step.start", "index": 4, "step": {"type": "mcp_server_tool_call", "id": "m1"}},
        {
            "event_type": "step.delta",
            "index": 4,
            "delta": {"type": "mcp_server_tool_call", "name": "ls", "server_name": "fs", "arguments": {}},
        },
    ]
    accumulator = InteractionAccumulator()
    for event in raw:
        accumulator.feed(adapter.validate_python(event))
    assert [step.wire() for step in accumulator.interaction.steps or []] == [
        {
            "type": "code_execution_call",
            "id": "c1",
            "signature": "",
            "arguments": {"code": "print(1)", "language": "python"},
        },
        {
            "type": "code_execution_result",
            "call_id": "c1",
            "result": "1\n",
            "is_error": False,
            "signature": "s",
        },
        {
            "type": "google_search_result",
            "call_id": "g1",
            "result": [{"url": "https://a"}],
            "is_error": False,
        },
        {"type": "function_result", "call_id": "f1", "result": {"temp": 20}, "name": "weather"},
        {"type": "mcp_server_tool_call", "id": "m1", "name": "ls", "server_name": "fs", "arguments": {}},
    ]
    assert accumulator.text is None


def test_arguments_delta_as_an_object_or_as_text() -> None:
    """Real streams send a function call's arguments as JSON text fragments or as a whole object."""
    from pydantic import TypeAdapter

    adapter: TypeAdapter[InteractionEvent] = TypeAdapter(InteractionEvent)
    raw: list[dict[str, Any]] = []
    for index, pieces in enumerate(([{"city": "Rome", "days": 2}], ['{"city": "Pa', 'ris"}'])):
        call = {"type": "function_call", "id": f"f{index}", "name": "weather", "arguments": {}}
        raw.append({"event_type": "step.start", "index": index, "step": call})
        raw += [
            {"event_type": "step.delta", "index": index, "delta": {"type": "arguments_delta", "arguments": p}}
            for p in pieces
        ]
        raw.append({"event_type": "step.stop", "index": index})
    accumulator = InteractionAccumulator()
    for event in raw:
        accumulator.feed(adapter.validate_python(event))
    assert [step.wire()["arguments"] for step in accumulator.interaction.steps or []] == [
        {"city": "Rome", "days": 2},
        {"city": "Paris"},
    ]


async def test_a_known_event_that_does_not_parse_is_kept_and_logged(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """Never drop an event silently: a malformed known event is yielded unparsed, with a WARNING."""
    events = run_events()
    events.insert(2, {"event_type": "step.delta", "event_id": "odd", "index": "first", "delta": {}})
    async with mock_client(lambda request: sse(sse_body(events)), clock) as client:
        got, _ = await collect(client)
    odd = [e for e in got if e.event_id == "odd"]
    assert len(got) == len(events) and len(odd) == 1 and isinstance(odd[0], UnknownEvent)
    assert odd[0].wire()["index"] == "first"
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("step.delta" in r.getMessage() and "index" in r.getMessage() for r in warnings)


class RecordingBody(httpx2.AsyncByteStream):
    """A response body that notes how many of its chunks were read before it was closed."""

    def __init__(self, chunks: list[bytes], *, arrived: bool = False) -> None:
        self.chunks = chunks
        self.arrived = arrived
        """What our HTTP/1.1 transport's bodies say once the whole body is in (gemini.stream.body_arrived)."""
        self.read = 0
        self.read_when_closed: int | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk

    async def aclose(self) -> None:
        self.read_when_closed = self.read


async def test_the_body_is_read_to_its_end_after_done(clock: Clock) -> None:
    """A response closed before its end closes its connection too, and the next turn opens a new one (a
    TLS handshake each time). After `[DONE]` the rest of the body is read, so the connection is reused."""
    frames = [sse_body([event], done=False) for event in run_events()]
    body = RecordingBody([*frames, b"event: done\ndata: [DONE]\n\n", b": the end of the body\n\n"])
    async with mock_client(lambda request: httpx2.Response(200, stream=body), clock) as client:
        events, _ = await collect(client)
    assert len(events) == len(frames)
    assert body.read_when_closed == len(body.chunks)


@pytest.mark.parametrize("arrived", [True, False], ids=["arrived", "still-coming"])
async def test_the_drain_sets_a_time_limit_only_on_a_body_still_to_come(
    clock: Clock, arrived: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body whose end is in already is read without the time limit's cancel scope; either way it is
    read to its end."""
    limits: list[float] = []
    move_on_after = stream_module.anyio.move_on_after

    def recorded(seconds: float) -> Any:
        limits.append(seconds)
        return move_on_after(seconds)

    monkeypatch.setattr(stream_module.anyio, "move_on_after", recorded)
    frames = [sse_body([event], done=False) for event in run_events()]
    chunks = [*frames, b"event: done\ndata: [DONE]\n\n", b": the end of the body\n\n"]
    body = RecordingBody(chunks, arrived=arrived)
    async with mock_client(lambda request: httpx2.Response(200, stream=body), clock) as client:
        await collect(client)
    assert body.read_when_closed == len(chunks)
    assert limits == ([] if arrived else [stream_module.DRAIN_MAX_SECONDS])


@pytest.mark.parametrize(
    "payload",
    [
        *run_events(),
        {"event_type": "step.delta", "index": 0, "delta": {"type": "novel_delta", "x": 1}},
        {"event_type": "interaction.novel", "interaction_id": "v1_n"},
        {"event_type": "step.start", "index": "not a number", "step": {"type": "thought"}},
    ],
)
def test_an_event_reads_as_the_open_union_reads_it(payload: dict[str, Any]) -> None:
    """Known types go through pydantic's own tag lookup first (`known_only`); whatever comes out must
    be what the open union gives, unknown inner types, unknown events and misfits included."""
    data = json.dumps(payload)
    parsed = stream_module.parse_event(data)
    assert parsed is not None
    try:
        expected = stream_module.event_adapter().validate_json(data)
    except ValidationError:
        expected = UnknownEvent.model_validate_json(data)
    assert type(parsed) is type(expected) and parsed.wire() == expected.wire()


def test_the_accumulator_takes_every_kind_of_event() -> None:
    """`feed` finds what to do by the event's class: every member of the event union needs an entry
    (a new one missing would fail the turn that first meets it)."""
    members, _ = get_args(InteractionEvent)
    kinds = {get_args(member)[0] for member in get_args(members)}
    assert kinds == set(accumulate_module._FEEDERS)

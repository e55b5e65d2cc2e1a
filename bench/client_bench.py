"""The client's own cost: a unary create against the in-process emulator vs a bare httpx2 POST of the
same body, and SSE parse throughput (decoder + event models, and the whole InteractionStream).

    .venv/bin/python -m bench.client_bench
"""

from __future__ import annotations

import json
import time

import anyio
import httpx2

from bench._common import percentile, summary
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.gemini.sse import SSEDecoder
from gemini_interactions_mcp.gemini.stream import parse_event

BODY = {"model": "gemini-3.5-flash", "input": "How far is the moon?"}
CALLS = 300
EVENTS = 50_000


async def unary_overhead() -> None:
    app = create_app(EmulatorConfig(step_delay=0.0))
    transport = httpx2.ASGITransport(app=app)
    ours: list[float] = []
    bare: list[float] = []
    async with (
        InteractionsClient(ClientConfig(base_url="http://emulator"), transport=transport) as client,
        httpx2.AsyncClient(transport=transport, base_url="http://emulator/v1beta") as raw,
    ):
        for i in range(CALLS + 20):
            started = time.perf_counter()
            await client.create(BODY)
            mid = time.perf_counter()
            response = await raw.post("/interactions", json=BODY)
            response.json()
            done = time.perf_counter()
            if i >= 20:
                ours.append(mid - started)
                bare.append(done - mid)
    print(summary("InteractionsClient.create (typed)", ours))
    print(summary("bare httpx2 POST + json()", bare))
    for q in (50, 99):
        print(f"client overhead p{q}: {(percentile(ours, q) - percentile(bare, q)) * 1000:.3f} ms")


def sse_body(events: int) -> bytes:
    frames = [
        {
            "event_type": "step.delta",
            "index": 1,
            "delta": {"type": "text", "text": "lorem ipsum " * 4},
            "event_id": f"e{i}",
        }
        for i in range(events)
    ]
    created = {"event_type": "interaction.created", "interaction": {"id": "v1_x", "status": "in_progress"}}
    completed = {"event_type": "interaction.completed", "interaction": {"id": "v1_x", "status": "completed"}}
    lines = [created, *frames, completed]
    return b"".join(f"event: {e['event_type']}\ndata: {json.dumps(e)}\n\n".encode() for e in lines) + (
        b"event: done\ndata: [DONE]\n\n"
    )


async def sse_throughput() -> None:
    body = sse_body(EVENTS)
    started = time.perf_counter()
    decoder = SSEDecoder()
    count = 0
    for chunk in (body[i : i + 65536] for i in range(0, len(body), 65536)):
        for message in decoder.feed(chunk):
            if not message.is_done:
                parse_event(message.data)
                count += 1
    elapsed = time.perf_counter() - started
    print(
        f"SSE decode + event models: {count / elapsed:,.0f} events/s ({len(body) / elapsed / 1e6:.1f} MB/s)"
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = InteractionsClient(ClientConfig(base_url="http://mock"), transport=httpx2.MockTransport(handler))
    started = time.perf_counter()
    count = 0
    async with client, client.stream_get("v1_x") as stream:
        async for _ in stream:
            count += 1
    elapsed = time.perf_counter() - started
    print(f"InteractionStream over MockTransport: {count / elapsed:,.0f} events/s")


async def main() -> None:
    await unary_overhead()
    await sse_throughput()


if __name__ == "__main__":
    anyio.run(main)

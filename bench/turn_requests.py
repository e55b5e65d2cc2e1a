"""One upstream request per turn against two: latency and CPU (client and emulator) per model turn.

"two" is a background create, then a GET of its stream (what turns did before issue 12); "one" is a
single POST with `background: true` and `stream: true`, whose first event names the interaction. Both
feed every event to an accumulator, as a turn does. The emulator runs under uvicorn in its own process;
its CPU is read from /proc, so its cost per turn is measured too.

    .venv/bin/python -m bench.turn_requests [--turns 300]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from bench._common import cpu_seconds, serve_emulator, summary
from gemini_interactions_mcp.gemini import ClientConfig, InteractionAccumulator, InteractionsClient

BODY: dict[str, Any] = {
    "model": "gemini-3.5-flash",
    "generation_config": {"thinking_summaries": "auto"},
    "background": True,
}
Strategy = Callable[[InteractionsClient, int], Awaitable[None]]


async def two_requests(client: InteractionsClient, i: int) -> None:
    created = await client.create({**BODY, "input": f"question {i}"})
    accumulator = InteractionAccumulator()
    async with client.stream_get(created.id) as stream:
        async for event in stream:
            accumulator.feed(event)
    assert accumulator.interaction.status == "completed"


async def one_request(client: InteractionsClient, i: int) -> None:
    accumulator = InteractionAccumulator()
    async with client.stream_create({**BODY, "input": f"question {i}"}) as stream:
        async for event in stream:
            accumulator.feed(event)
    assert stream.interaction_id and accumulator.interaction.status == "completed"


async def measure(
    client: InteractionsClient, emulator_pid: int, name: str, run: Strategy, turns: int
) -> None:
    timings: list[float] = []
    ours, theirs = cpu_seconds(), cpu_seconds(emulator_pid)
    for i in range(turns):
        started = time.perf_counter()
        await run(client, i)
        timings.append(time.perf_counter() - started)
    ours, theirs = cpu_seconds() - ours, cpu_seconds(emulator_pid) - theirs
    print(summary(f"{name}: wall per turn", timings))
    print(
        f"{name}: CPU per turn: client {ours / turns * 1000:.2f} ms, emulator {theirs / turns * 1000:.2f} ms"
    )


async def main(turns: int) -> None:
    url, emulator = serve_emulator(step_delay=0.0)
    try:
        async with InteractionsClient(ClientConfig(base_url=url)) as client:
            for i in range(20):  # warm up both paths
                await two_requests(client, i)
                await one_request(client, i)
            for _ in range(2):  # interleaved, so drift on a shared machine hits both alike
                await measure(client, emulator.pid, "create + GET stream", two_requests, turns)
                await measure(client, emulator.pid, "one POST (background + stream)", one_request, turns)
    finally:
        emulator.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=300)
    anyio.run(main, parser.parse_args().turns)

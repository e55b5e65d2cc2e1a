"""The emulator's own CPU per turn: every test and bench pays for it, and under load it shares the cores
with the server being measured (issue 12).

A turn is what `ask_gemini` sends upstream: one POST with `background` and `stream`, read to `[DONE]`
by our client with an accumulator. N concurrent turns run against the emulator under uvicorn in its own
process (`--step-delay 0` by default, as bench.http_load serves it); its CPU is read from /proc over each
phase. The shapes (`--shapes`):
- `new turn`: the first turn of a new conversation;
- `continued`: each worker continues its own conversation, fresh each round (turns 2 to turns/N + 1);
- `long conv.`: the same, in conversations first grown to `--long` turns (kept across rounds);
- `GET stream`: a finished interaction streamed again with GET (a resumption or a poll of the stream).
A continued turn should cost what a new one does, however long the conversation.

`--baseline DIR` adds the emulator of another checkout (DIR/server first on its path), in the same rounds:
an A/B of a change under the same machine load.

    .venv/bin/python -m bench.emulator_cpu [--turns 1000] [--concurrency 10] [--rounds 5] [--long 300]
        [--shapes "new turn,continued,long conv.,GET stream"] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from bench._common import cpu_seconds, serve_emulator
from gemini_interactions_mcp.gemini import ClientConfig, InteractionAccumulator, InteractionsClient

BODY: dict[str, Any] = {
    "model": "gemini-3.5-flash",
    "generation_config": {"thinking_summaries": "auto"},
    "background": True,
}
WARMUP = 30


@dataclass
class Emulator:
    label: str
    url: str
    pid: int
    ms_per_turn: dict[str, list[float]] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)
    heads: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """Per conversation shape, each worker's conversation: its newest interaction id and its length."""
    depths: dict[str, set[int]] = field(default_factory=dict)
    """Per conversation shape, the lengths its measured turns brought the conversations to."""


Shape = Callable[[InteractionsClient, Emulator, int, int], Awaitable[None]]
"""One measured turn: (client, emulator, worker index, turn number)."""


async def turn(client: InteractionsClient, i: int, previous: str | None = None) -> str:
    """One turn (a new conversation, or the next turn of `previous`'s); returns its interaction id."""
    body = {**BODY, "input": f"question {i}: my name is Ada"}
    if previous is not None:
        body["previous_interaction_id"] = previous
    accumulator = InteractionAccumulator()
    async with client.stream_create(body) as stream:
        async for event in stream:
            accumulator.feed(event)
    assert stream.interaction_id and accumulator.interaction.status == "completed"
    return stream.interaction_id


async def new_turn(client: InteractionsClient, emulator: Emulator, worker: int, i: int) -> None:
    emulator.finished.append(await turn(client, i))


async def get_stream(client: InteractionsClient, emulator: Emulator, worker: int, i: int) -> None:
    accumulator = InteractionAccumulator()
    async with client.stream_get(emulator.finished[i % len(emulator.finished)]) as stream:
        async for event in stream:
            accumulator.feed(event)
    assert accumulator.interaction.status == "completed"


def continuing(shape: str) -> Shape:
    """A turn that continues the worker's own conversation of `shape`."""

    async def next_turn(client: InteractionsClient, emulator: Emulator, worker: int, i: int) -> None:
        heads = emulator.heads[shape]
        head, length = heads[worker]
        heads[worker] = (await turn(client, i, head), length + 1)
        emulator.depths.setdefault(shape, set()).add(length + 1)

    return next_turn


SHAPES: dict[str, Shape] = {
    "new turn": new_turn,
    "GET stream": get_stream,
    "continued": continuing("continued"),
    "long conv.": continuing("long conv."),
}


async def prepare(
    client: InteractionsClient, emulator: Emulator, shape: str, concurrency: int, long: int
) -> None:
    """Unmeasured: warm up, start each worker's conversation (a fresh one for `continued`, one of
    `long` turns, kept across rounds, for the long conversation)."""
    if shape in ("new turn", "GET stream"):
        for i in range(WARMUP):
            await SHAPES[shape](client, emulator, 0, i)
        return
    fresh = shape == "continued" or shape not in emulator.heads
    if fresh:
        emulator.heads[shape] = [(await turn(client, w), 1) for w in range(concurrency)]
    target = long if shape == "long conv." else 1

    async def grow(worker: int) -> None:
        heads = emulator.heads[shape]
        while heads[worker][1] < target:
            head, length = heads[worker]
            heads[worker] = (await turn(client, length, head), length + 1)

    async with anyio.create_task_group() as tg:
        for worker in range(concurrency):
            tg.start_soon(grow, worker)


async def phase(emulator: Emulator, shape: str, turns: int, concurrency: int, long: int) -> float:
    """Emulator CPU milliseconds per turn over `turns` turns, `concurrency` at a time."""
    run = SHAPES[shape]
    async with InteractionsClient(ClientConfig(base_url=emulator.url)) as client:
        await prepare(client, emulator, shape, concurrency, long)
        counter = iter(range(turns))
        before = cpu_seconds(emulator.pid)

        async def worker(index: int) -> None:
            for i in counter:
                await run(client, emulator, index, i)

        async with anyio.create_task_group() as tg:
            for index in range(concurrency):
                tg.start_soon(worker, index)
        return (cpu_seconds(emulator.pid) - before) / turns * 1000


async def main(
    turns: int,
    concurrency: int,
    rounds: int,
    baseline: Path | None,
    step_delay: float,
    shapes: list[str],
    long: int,
) -> None:
    variants: list[tuple[str, Path | None]] = [("this tree", None)]
    if baseline is not None:
        variants.append(("baseline", baseline))
    emulators: list[Emulator] = []
    processes = []
    try:
        for label, path in variants:
            url, process = serve_emulator(server_path=path, step_delay=step_delay)
            processes.append(process)
            emulators.append(Emulator(label, url, process.pid))
        started = time.perf_counter()
        load = _loadavg()
        for n in range(rounds):
            order = emulators[n % len(emulators) :] + emulators[: n % len(emulators)]
            for emulator in order:
                for shape in shapes:
                    ms = await phase(emulator, shape, turns, concurrency, long)
                    emulator.ms_per_turn.setdefault(shape, []).append(ms)
        print(
            f"{turns} turns x {rounds} rounds, {concurrency} concurrent, step_delay {step_delay:g}; "
            f"load average {load} -> {_loadavg()}; {time.perf_counter() - started:.0f} s"
        )
        print(f"{'emulator':<12} {'shape':<12} {'turns':>10} {'emulator CPU ms/turn, median (min-max)':>40}")
        for emulator in emulators:
            for shape, values in emulator.ms_per_turn.items():
                spread = f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"
                print(f"{emulator.label:<12} {shape:<12} {_turns(emulator, shape):>10} {spread:>40}")
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def _turns(emulator: Emulator, shape: str) -> str:
    """Which turns of their conversations the measured turns were (1 for a new one)."""
    depths = emulator.depths.get(shape)
    if shape == "new turn":
        return "1"
    return f"{min(depths)}-{max(depths)}" if depths else "-"


def _loadavg() -> str:
    with open("/proc/loadavg") as source:
        return source.read().split()[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--step-delay", type=float, default=0.0)
    parser.add_argument(
        "--shapes",
        default="new turn,continued,long conv.",
        help=f"comma-separated, of: {', '.join(SHAPES)} (GET stream needs new turn before it)",
    )
    parser.add_argument("--long", type=int, default=300, help="length of the long conversations")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare with")
    o = parser.parse_args()
    baseline = o.baseline and o.baseline.resolve()
    shapes = [s.strip() for s in o.shapes.split(",")]
    anyio.run(main, o.turns, o.concurrency, o.rounds, baseline, o.step_delay, shapes, o.long)

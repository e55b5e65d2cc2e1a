"""The emulator's own CPU per turn: every test and bench pays for it, and under load it shares the cores
with the server being measured (issue 12).

A turn is what `ask_gemini` sends upstream: one POST with `background` and `stream`, read to `[DONE]`
by our client with an accumulator. N concurrent turns run against the emulator under uvicorn in its own
process (`--step-delay 0` by default, as bench.http_load serves it); its CPU is read from /proc over each
phase. `--get` adds a phase per emulator that streams a finished interaction again with GET (a resumption
or a poll of the stream).

`--baseline DIR` adds the emulator of another checkout (DIR/server first on its path), in the same rounds:
an A/B of a change under the same machine load. Goal: at most 0.45 ms per turn (0.91 ms before).

    .venv/bin/python -m bench.emulator_cpu [--turns 1000] [--concurrency 10] [--rounds 5] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
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


async def post_turn(client: InteractionsClient, i: int, finished: list[str]) -> None:
    accumulator = InteractionAccumulator()
    async with client.stream_create({**BODY, "input": f"question {i}: my name is Ada"}) as stream:
        async for event in stream:
            accumulator.feed(event)
    assert stream.interaction_id and accumulator.interaction.status == "completed"
    finished.append(stream.interaction_id)


async def get_stream(client: InteractionsClient, i: int, finished: list[str]) -> None:
    accumulator = InteractionAccumulator()
    async with client.stream_get(finished[i % len(finished)]) as stream:
        async for event in stream:
            accumulator.feed(event)
    assert accumulator.interaction.status == "completed"


SHAPES = {"POST turn": post_turn, "GET stream": get_stream}


async def phase(emulator: Emulator, shape: str, turns: int, concurrency: int) -> float:
    """Emulator CPU milliseconds per turn over `turns` turns, `concurrency` at a time."""
    run = SHAPES[shape]
    async with InteractionsClient(ClientConfig(base_url=emulator.url)) as client:
        for i in range(WARMUP):
            await run(client, i, emulator.finished)
        counter = iter(range(turns))
        before = cpu_seconds(emulator.pid)

        async def worker() -> None:
            for i in counter:
                await run(client, i, emulator.finished)

        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        return (cpu_seconds(emulator.pid) - before) / turns * 1000


async def main(
    turns: int, concurrency: int, rounds: int, baseline: Path | None, step_delay: float, get: bool
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
        shapes = list(SHAPES) if get else ["POST turn"]
        started = time.perf_counter()
        load = _loadavg()
        for n in range(rounds):
            order = emulators[n % len(emulators) :] + emulators[: n % len(emulators)]
            for emulator in order:
                for shape in shapes:
                    ms = await phase(emulator, shape, turns, concurrency)
                    emulator.ms_per_turn.setdefault(shape, []).append(ms)
        print(
            f"{turns} turns x {rounds} rounds, {concurrency} concurrent, step_delay {step_delay:g}; "
            f"load average {load} -> {_loadavg()}; {time.perf_counter() - started:.0f} s"
        )
        print(f"{'emulator':<12} {'shape':<12} {'emulator CPU ms/turn, median (min-max)':>40}")
        for emulator in emulators:
            for shape, values in emulator.ms_per_turn.items():
                spread = f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"
                print(f"{emulator.label:<12} {shape:<12} {spread:>40}")
    finally:
        for process in processes:
            process.terminate()
            process.wait()


def _loadavg() -> str:
    with open("/proc/loadavg") as source:
        return source.read().split()[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--step-delay", type=float, default=0.0)
    parser.add_argument("--get", action="store_true", help="also stream finished interactions with GET")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare with")
    o = parser.parse_args()
    baseline = o.baseline and o.baseline.resolve()
    anyio.run(main, o.turns, o.concurrency, o.rounds, baseline, o.step_delay, o.get)

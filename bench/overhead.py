"""Overhead of ask_gemini over stdio against the emulator, minus a direct client call to the same emulator.

Goal (issue 12): p50 overhead at most the MCP SDK's own echo round trip over stdio + 1 ms.
The direct call does what ask_gemini does upstream (one POST with background and stream, followed).
Each round measures every side in turn (`--calls` calls each, over one connection per side kept for the
whole run), so machine drift hits them alike; the figures are the medians (and ranges) of the rounds' p50.
`--baseline DIR` adds ask_gemini from another checkout (DIR/server first on its path) to every round.

    .venv/bin/python -m bench.overhead [--calls 200] [--rounds 5] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from bench._common import cpu_seconds, percentile, serve_emulator
from gemini_interactions_mcp.gemini import ClientConfig, InteractionAccumulator, InteractionsClient

HERE = Path(__file__).resolve().parent


Side = Callable[[int], Awaitable[list[float]]]
"""Makes this many calls; their durations in seconds."""


def direct(client: InteractionsClient) -> Side:
    async def calls(n: int) -> list[float]:
        timings = []
        for i in range(n):
            started = time.perf_counter()
            body = {
                "model": "gemini-3.5-flash",
                "input": f"question {i}",
                "generation_config": {"thinking_summaries": "auto"},  # what ask_gemini sends
                "background": True,
            }
            accumulator = InteractionAccumulator()
            async with client.stream_create(body) as stream:
                async for event in stream:
                    accumulator.feed(event)
            timings.append(time.perf_counter() - started)
        return timings

    return calls


def over_stdio(client: Client, tool: str, args: dict[str, str]) -> Side:
    async def calls(n: int) -> list[float]:
        timings = []
        for i in range(n):
            started = time.perf_counter()
            result = await client.call_tool(tool, {k: f"{v}{i}" for k, v in args.items()})
            assert not result.is_error
            timings.append(time.perf_counter() - started)
        return timings

    return calls


async def main(calls: int, rounds: int, baseline: Path | None) -> None:
    url, emulator = serve_emulator()
    try:
        await measure(url, calls, rounds, baseline)
    finally:
        emulator.terminate()


def children() -> set[int]:
    """Process ids of this process's children (the stdio servers), from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                        found.add(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})"


async def measure(url: str, calls: int, rounds: int, baseline: Path | None) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["GEMINI_BASE_URL"] = url
    command = ["-m", "gemini_interactions_mcp", "serve", "--state", "memory"]
    servers = {"ask_gemini": StdioServerParameters(command=sys.executable, args=command, env=env)}
    if baseline is not None:
        path = {"PYTHONPATH": str(baseline / "server")}
        servers["ask_gemini (baseline)"] = StdioServerParameters(
            command=sys.executable, args=command, env={**env, **path}
        )
    echo = StdioServerParameters(command=sys.executable, args=[str(HERE / "echo_server.py")])
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(InteractionsClient(ClientConfig(base_url=url)))
        sides: dict[str, Side] = {"direct client call": direct(upstream)}
        pids: dict[str, int] = {}
        for label, params, tool, args in [
            *((label, params, "ask_gemini", {"prompt": "question "}) for label, params in servers.items()),
            ("SDK echo round trip", echo, "echo", {"text": "hi "}),
        ]:
            before = children()
            sides[label] = over_stdio(await stack.enter_async_context(Client(params)), tool, args)
            (pids[label],) = children() - before
        for side in sides.values():
            await side(10)  # warm up
        p50: dict[str, list[float]] = {label: [] for label in sides}
        cpu: dict[str, list[float]] = {label: [] for label in pids}
        for n in range(rounds):
            labels = list(sides)
            for label in labels[n % len(labels) :] + labels[: n % len(labels)]:
                used = cpu_seconds(pids[label]) if label in pids else 0.0
                p50[label].append(percentile(await sides[label](calls), 50) * 1000)
                if label in pids:
                    cpu[label].append((cpu_seconds(pids[label]) - used) / calls * 1000)
    print(f"{rounds} rounds of {calls} calls per side; p50 in ms, median of the rounds (range)")
    for label, values in p50.items():
        used = f"   server CPU per call {spread(cpu[label])} ms" if label in cpu else ""
        print(f"  {label:<34} {spread(values)}{used}")
    echo_p50 = p50["SDK echo round trip"]
    for label in servers:
        overhead = [a - d for a, d in zip(p50[label], p50["direct client call"], strict=True)]
        above = [o - e for o, e in zip(overhead, echo_p50, strict=True)]
        print(f"  overhead of {label:<22} {spread(overhead)}; minus echo {spread(above)} (goal <= 1)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare with")
    options = parser.parse_args()
    anyio.run(main, options.calls, options.rounds, options.baseline and options.baseline.resolve())

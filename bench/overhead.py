"""Overhead of ask_gemini over stdio against the emulator, minus a direct client call to the same emulator.

Goal (issue 3): p50 overhead within 2 ms of the MCP SDK's own echo round trip over stdio.
The direct call does what ask_gemini does upstream (one POST with background and stream, followed).

    .venv/bin/python bench/overhead.py [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from bench._common import percentile, serve_emulator, summary
from gemini_interactions_mcp.gemini import ClientConfig, InteractionAccumulator, InteractionsClient

HERE = Path(__file__).resolve().parent


async def direct(url: str, calls: int) -> list[float]:
    timings = []
    async with InteractionsClient(ClientConfig(base_url=url)) as client:
        for i in range(calls + 5):
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
    return timings[5:]


async def over_stdio(
    params: StdioServerParameters, tool: str, args: dict[str, str], calls: int
) -> list[float]:
    timings = []
    async with Client(params) as client:
        for i in range(calls + 5):
            started = time.perf_counter()
            result = await client.call_tool(tool, {k: f"{v}{i}" for k, v in args.items()})
            assert not result.is_error
            timings.append(time.perf_counter() - started)
    return timings[5:]


async def main(calls: int) -> None:
    url, emulator = serve_emulator()
    try:
        await measure(url, calls)
    finally:
        emulator.terminate()


async def measure(url: str, calls: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    ours = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gemini_interactions_mcp", "serve", "--state", "memory"],
        env={**env, "GEMINI_BASE_URL": url},
    )
    echo = StdioServerParameters(command=sys.executable, args=[str(HERE / "echo_server.py")])
    direct_t = await direct(url, calls)
    ask_t = await over_stdio(ours, "ask_gemini", {"prompt": "question "}, calls)
    echo_t = await over_stdio(echo, "echo", {"text": "hello "}, calls)
    print(summary("direct client call (background stream)", direct_t))
    print(summary("ask_gemini over stdio", ask_t))
    print(summary("SDK echo round trip over stdio", echo_t))
    for q in (50, 99):
        overhead = percentile(ask_t, q) - percentile(direct_t, q)
        print(
            f"p{q} overhead of ask_gemini: {overhead * 1000:.2f} ms "
            f"(echo p{q}: {percentile(echo_t, q) * 1000:.2f} ms)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    anyio.run(main, parser.parse_args().calls)

"""Start-up: process start to the first `tools/list` answer over stdio, ours vs a minimal echo server.

Goal (issue 3): ratio <= 1.2. Runs alternate between the two servers so drift hits both alike.

    .venv/bin/python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

HERE = Path(__file__).resolve().parent


async def first_tools_list(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        return time.perf_counter() - started


async def main(runs: int) -> None:
    ours = StdioServerParameters(
        command=sys.executable, args=["-m", "gemini_interactions_mcp", "serve", "--state", "memory"]
    )
    echo = StdioServerParameters(command=sys.executable, args=[str(HERE / "echo_server.py")])
    timings: dict[str, list[float]] = {"gemini-interactions-mcp": [], "minimal MCPServer echo": []}
    await first_tools_list(ours)  # warm the file cache for both
    await first_tools_list(echo)
    for _ in range(runs):
        timings["gemini-interactions-mcp"].append(await first_tools_list(ours))
        timings["minimal MCPServer echo"].append(await first_tools_list(echo))
    for label, values in timings.items():
        print(
            f"{label:<26} median {statistics.median(values) * 1000:7.1f} ms  (min {min(values) * 1000:.1f})"
        )
    ratio = statistics.median(timings["gemini-interactions-mcp"]) / statistics.median(
        timings["minimal MCPServer echo"]
    )
    print(f"ratio {ratio:.2f} (goal <= 1.2)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    anyio.run(main, parser.parse_args().runs)

"""Memory a server retains per finished background job, with each store.

Goal (issue 12): 1,000 finished jobs retain at most 2 KB each, with the memory store and with SQLite.
The emulator runs in its own process (its own memory is not ours); the server runs in this one, its
allocations traced by `tracemalloc`. Retained = traced bytes after `--jobs` more finished research jobs
minus traced bytes after a warm-up, per job, with every job polled to the end (as a client would).

    .venv/bin/python -m bench.memory [--jobs 1000] [--top 8]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import tracemalloc
from collections.abc import Iterable
from pathlib import Path

import anyio
import httpx2
from mcp import Client

from bench.overhead import serve_emulator
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig

WARM_UP_JOBS = 50
TRACEBACK_FRAMES = 40
PACKAGE = "gemini_interactions_mcp"


async def run_jobs(client: Client, count: int, start: int) -> None:
    for i in range(start, start + count):
        started = await client.call_tool("start_deep_research", {"query": f"memory bench {i}"})
        interaction_id = (started.structured_content or {})["interaction_id"]
        while True:
            polled = await client.call_tool(
                "poll_interaction", {"interaction_id": interaction_id, "wait_seconds": 30}
            )
            if (polled.structured_content or {}).get("done"):
                break


def traced() -> tuple[int, tracemalloc.Snapshot]:
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    return sum(stat.size for stat in snapshot.statistics("filename")), snapshot


async def measure(url: str, state: str, jobs: int, top: int) -> None:
    server = build_server(ServerSettings(state=state), client_config=ClientConfig(base_url=url))
    async with Client(server) as client:
        await run_jobs(client, WARM_UP_JOBS, 0)
        before, first = traced()
        await run_jobs(client, jobs, WARM_UP_JOBS)
        after, second = traced()
    label = "memory" if state == "memory" else "sqlite"
    print(f"{label}: {jobs} finished research jobs retain {(after - before) / jobs:,.0f} B each; by layer:")
    stats = second.compare_to(first, "traceback")
    by_layer: dict[str, int] = {}
    for stat in stats:
        by_layer[layer_of(stat.traceback)] = by_layer.get(layer_of(stat.traceback), 0) + stat.size_diff
    for layer, size in sorted(by_layer.items(), key=lambda item: -item[1]):
        if abs(size) < jobs:  # under a byte per job
            continue
        print(f"  {size / jobs:8,.0f} B/job  {layer}")
    print("  largest:")
    for stat in stats[:top]:
        where = " <- ".join(f"{layer_of([frame])}:{frame.lineno}" for frame in ours(stat.traceback)[:3])
        print(f"  {stat.size_diff / jobs:8,.0f} B/job  {where or stat.traceback}")


def ours(traceback: Iterable[tracemalloc.Frame]) -> list[tracemalloc.Frame]:
    """The frames in this package, most recent call first (a traceback lists the oldest first)."""
    return [frame for frame in reversed(list(traceback)) if PACKAGE in frame.filename]


def layer_of(traceback: Iterable[tracemalloc.Frame]) -> str:
    """The module of this package that made the allocation (its innermost frame), e.g. `state/memory.py`."""
    for frame in ours(traceback):
        return frame.filename.split(PACKAGE)[-1].strip("/")
    return "elsewhere (libraries, the SDK)"


async def main(jobs: int, top: int) -> None:
    url, emulator = serve_emulator()
    try:
        httpx2.post(f"{url}/_emulator/config", json={"research_seconds": 0.0, "step_delay": 0.0})
        tracemalloc.start(TRACEBACK_FRAMES)
        await measure(url, "memory", jobs, top)
        with tempfile.TemporaryDirectory() as tmp:
            await measure(url, str(Path(tmp) / "state.sqlite3"), jobs, top)
    finally:
        emulator.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--top", type=int, default=8)
    arguments = parser.parse_args()
    anyio.run(main, arguments.jobs, arguments.top)

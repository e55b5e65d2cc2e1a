"""Billed upstream interactions wasted when two server processes share one state file (issue 8 §3).

Two servers (Streamable HTTP, one SQLite file) take 10 concurrent turns on one conversation, 5 each.
Every upstream create is billed; a turn that loses the conversation's head to the other process and is
replayed (or given up) wastes what it created. Goal: zero wasted.

    .venv/bin/python -m bench.two_processes [--rounds 5] [--turns 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench._common import free_port, serve_emulator

MODEL_SECONDS = 0.2
"""How long each emulated answer takes, so that concurrent turns overlap as real ones do."""


@contextmanager
def server_process(state: Path, upstream: str) -> Iterator[str]:
    """`gemini-interactions-mcp serve` over HTTP in its own process; yields its MCP URL."""
    port = free_port()
    env = {**os.environ, "GEMINI_BASE_URL": upstream, "GEMINI_API_KEY": "bench"}
    command = [sys.executable, "-m", "gemini_interactions_mcp", "serve", "--transport", "http"]
    command += ["--port", str(port), "--state", str(state)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def one_round(urls: list[str], upstream: str, turns: int, name: str) -> tuple[int, int, int]:
    """(upstream creates, turns that succeeded, turns refused) for `turns` concurrent turns."""
    async with (
        Client(streamable_http_client(urls[0])) as first,
        Client(streamable_http_client(urls[1])) as second,
        httpx2.AsyncClient(base_url=upstream) as emulator,
    ):
        await first.call_tool("ask_gemini", {"prompt": "Let us begin.", "conversation": name})
        await emulator.delete("/_emulator/requests")
        outcomes: list[bool] = []

        async def turn(client: Client, i: int) -> None:
            result = await client.call_tool("ask_gemini", {"prompt": f"Turn {i}.", "conversation": name})
            outcomes.append(not result.is_error)

        async with anyio.create_task_group() as tg:
            for i in range(turns):
                tg.start_soon(turn, (first, second)[i % 2], i)
        log = (await emulator.get("/_emulator/requests")).json()["requests"]
    creates = sum(1 for r in log if r["method"] == "POST" and r["path"].endswith("/interactions"))
    return creates, sum(outcomes), outcomes.count(False)


async def run(rounds: int, turns: int) -> None:
    upstream, emulator = serve_emulator(model_seconds=MODEL_SECONDS)
    try:
        with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
            state = Path(tmp) / "state.sqlite3"
            urls = [stack.enter_context(server_process(state, upstream)) for _ in range(2)]
            for r in range(rounds):
                creates, done, refused = await one_round(urls, upstream, turns, f"shared-{r}")
                wasted = creates - done
                print(
                    f"round {r + 1}: {creates} upstream interactions created for {turns} concurrent turns, "
                    f"{done} landed, {refused} refused: {wasted} wasted ({wasted / creates:.0%})"
                )
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    anyio.run(run, args.rounds, args.turns)


if __name__ == "__main__":
    main()

"""Upstream TCP connections per model turn: a counting proxy between the client and the emulator.

Goal (issue 12): at most 2 connections for 50 sequential turns, and never more connections than turns
in flight (10 concurrent turns here). Each turn is `run_streamed_turn`, what `ask_gemini` does
upstream, against the emulator under uvicorn in its own process.

    .venv/bin/python -m bench.connections [--turns 50] [--concurrency 10]
"""

from __future__ import annotations

import argparse
from typing import Any

import anyio
from anyio.abc import ByteStream, SocketAttribute, TaskStatus

from bench._common import serve_emulator
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.heartbeats import Heartbeats
from gemini_interactions_mcp.services.turns import run_streamed_turn

BODY: dict[str, Any] = {"model": "gemini-3.5-flash", "generation_config": {"thinking_summaries": "auto"}}


class CountingProxy:
    """A TCP relay to `upstream_port` that counts the connections it accepts and how many are open."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.accepted = 0
        self.open = 0
        self.most_open = 0

    def reset(self) -> None:
        self.accepted = 0
        self.most_open = self.open

    async def serve(self, *, task_status: TaskStatus[int]) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        task_status.started(listener.extra(SocketAttribute.local_port))
        await listener.serve(self._relay)

    async def _relay(self, downstream: ByteStream) -> None:
        self.accepted += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            async with (
                downstream,
                await anyio.connect_tcp("127.0.0.1", self.upstream_port) as upstream,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(_pipe, downstream, upstream)
                tg.start_soon(_pipe, upstream, downstream)
        finally:
            self.open -= 1


async def _pipe(source: ByteStream, sink: ByteStream) -> None:
    try:
        async for chunk in source:
            await sink.send(chunk)
        await sink.send_eof()
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass


async def turn(client: InteractionsClient, i: int) -> None:
    async def progress(_: str) -> None:
        return None

    body = {**BODY, "input": f"question {i}"}
    outcome = await run_streamed_turn(
        client, body, progress, label="bench", deadline=30, heartbeats=Heartbeats()
    )
    assert outcome.status == "completed", outcome


async def main(turns: int, concurrency: int) -> None:
    url, emulator = serve_emulator(step_delay=0.0)
    try:
        async with anyio.create_task_group() as tg:
            proxy = CountingProxy(int(url.rsplit(":", 1)[1]))
            port = await tg.start(proxy.serve)
            config = ClientConfig(base_url=f"http://127.0.0.1:{port}")
            async with InteractionsClient(config) as client:
                for i in range(turns):
                    await turn(client, i)
                print(f"{turns} sequential turns: {proxy.accepted} TCP connections")
            proxy.reset()
            async with InteractionsClient(config) as client:
                for round_ in range(turns // concurrency):
                    async with anyio.create_task_group() as burst:
                        for i in range(concurrency):
                            burst.start_soon(turn, client, round_ * concurrency + i)
                print(
                    f"{turns} turns, {concurrency} at a time: {proxy.accepted} TCP connections "
                    f"(at most {proxy.most_open} open at once)"
                )
            tg.cancel_scope.cancel()
    finally:
        emulator.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    anyio.run(main, args.turns, args.concurrency)

"""HTTP/1.1 against HTTP/2 for upstream turns: latency, client CPU per turn and TCP connections.

Both run against the same server, the emulator under Hypercorn (which speaks HTTP/2 without TLS by prior
knowledge), so only the protocol differs. Needs `h2` and `hypercorn`, which are not dependencies of the
project: `.venv/bin/pip install h2 hypercorn`, then

    .venv/bin/python -m bench.http2 [--turns 200]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time

import anyio
import httpx2

from bench._common import cpu_seconds, percentile, summary
from bench.connections import CountingProxy, turn
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient

_HYPERCORN = """
import asyncio, json, sys
from hypercorn.asyncio import serve
from hypercorn.config import Config
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
config = Config()
config.bind = [f"127.0.0.1:{sys.argv[1]}"]
config.loglevel = "WARNING"
asyncio.run(serve(create_app(EmulatorConfig.model_validate(json.loads(sys.argv[2]))), config))
"""


def serve_hypercorn() -> tuple[str, subprocess.Popen[bytes]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = json.dumps({"step_delay": 0.0})
    process = subprocess.Popen([sys.executable, "-c", _HYPERCORN, str(port), config])
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx2.get(f"{url}/_emulator/config")
            return url, process
        except httpx2.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("hypercorn did not start")


def transport(http2: bool) -> httpx2.AsyncHTTPTransport:
    return httpx2.AsyncHTTPTransport(http1=not http2, http2=http2)


async def sequential(url: str, http2: bool, turns: int) -> None:
    timings: list[float] = []
    async with InteractionsClient(ClientConfig(base_url=url), transport=transport(http2)) as client:
        for i in range(10):  # warm up: imports, the pool, model schemas
            await turn(client, i)
        cpu = cpu_seconds()
        for i in range(turns):
            started = time.perf_counter()
            await turn(client, i)
            timings.append(time.perf_counter() - started)
        cpu = cpu_seconds() - cpu
    name = "HTTP/2" if http2 else "HTTP/1.1"
    print(summary(f"{name} sequential turn", timings))
    print(f"{name}: client CPU per turn {cpu / turns * 1000:.2f} ms")


async def concurrent(url: str, http2: bool, turns: int, concurrency: int) -> None:
    async with anyio.create_task_group() as tg:
        proxy = CountingProxy(int(url.rsplit(":", 1)[1]))
        port = await tg.start(proxy.serve)
        config = ClientConfig(base_url=f"http://127.0.0.1:{port}")
        timings: list[float] = []
        async with InteractionsClient(config, transport=transport(http2)) as client:
            for round_ in range(turns // concurrency):
                started = time.perf_counter()
                async with anyio.create_task_group() as burst:
                    for i in range(concurrency):
                        burst.start_soon(turn, client, round_ * concurrency + i)
                timings.append(time.perf_counter() - started)
        name = "HTTP/2" if http2 else "HTTP/1.1"
        print(
            f"{name}: {turns} turns {concurrency} at a time in {sum(timings):.2f} s "
            f"(p50 burst {percentile(timings, 50) * 1000:.1f} ms), {proxy.accepted} TCP connections"
        )
        tg.cancel_scope.cancel()


async def main(turns: int, concurrency: int) -> None:
    url, server = serve_hypercorn()
    try:
        for http2 in (False, True, False, True):
            await sequential(url, http2, turns)
        for http2 in (False, True):
            await concurrent(url, http2, turns, concurrency)
    finally:
        server.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    anyio.run(main, args.turns, args.concurrency)

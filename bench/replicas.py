"""Replicas on one Redis (issue 11 §9): throughput of two replicas against one, the cost of a call on
Redis against SQLite, how long a dead replica's job waits for a new watcher, and how soon a poll on one
replica wakes on another's end.

Everything runs on this machine (its CPU count is printed; on 2 cores two replicas cannot add CPU, only
spread it): a redis-server (append-only, fsync every second, as a deployment would run it), the emulator
in its own process with no delays, our servers as `serve --transport http` processes, and the clients in
this process.

- throughput: N MCP clients (2026-07-28) calling `ask_gemini` without pause, in interleaved phases:
  one process on SQLite, one replica on Redis, two replicas on Redis (clients split evenly, as a
  round-robin balancer would). Calls/s; CPU per call of the servers, of redis-server and of the
  emulator; the load the rest of the machine put on it meanwhile.
- takeover: a research job watched by A; A is SIGKILLed (or SIGTERMed); the time until B watches it
  (B's `gemini_mcp_job_takeovers_total` goes up, read every 10 ms), and that B finishes it.
- wake-up: a research job watched by A, polled on B; from A's recorded end (`finished` in the store,
  same clock) to B's poll result in the client.

    .venv/bin/python -m bench.replicas [--clients 50] [--seconds 6] [--rounds 3] [--takeovers 3]
        [--wakeups 10] [--only throughput|takeover|wakeup]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
from mcp import Client

from bench._common import cpu_seconds, free_port, percentile, serve_emulator
from bench.http_load import WARMUP_CALLS, machine_busy, spread
from gemini_interactions_mcp.services.principals import LOCAL_PRINCIPAL
from gemini_interactions_mcp.state.redis_store import RedisStore

SERVE = [sys.executable, "-m", "gemini_interactions_mcp", "serve", "--transport", "http"]
METRIC_POLL_SECONDS = 0.01


@contextmanager
def redis_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed: apt-get install redis-server")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
    command += ["--appendonly", "yes", "--appendfsync", "everysec"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.terminate()
        process.wait()


@dataclass
class Server:
    """One server process (a replica)."""

    state: str
    upstream: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
        env["GEMINI_BASE_URL"] = self.upstream
        command = [*SERVE, "--port", str(self.port), "--state", self.state]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(400):
            try:
                if httpx2.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server on {self.port} did not become ready")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait()


@contextmanager
def servers(*specs: tuple[str, str]) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for state, upstream in specs:
            started.append(Server(state, upstream).start())
        yield started
    finally:
        for server in started:
            server.stop()


def metric(url: str, name: str) -> float:
    for line in httpx2.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- throughput and cost per call ---------------------------------------------------------------------


@dataclass
class Phase:
    calls: int
    seconds: float
    servers_cpu: float
    redis_cpu: float
    emulator_cpu: float
    clients_cpu: float
    others_busy: float

    def per_call_ms(self, cpu: float) -> float:
        return cpu / self.calls * 1000


async def phase(targets: list[Server], pids: list[int], clients: int, seconds: float) -> Phase:
    """`clients` clients spread evenly over `targets`, calling ask_gemini for `seconds` after warming up.
    `pids` are [redis-server or 0, emulator]."""
    counts = [0] * clients
    window = {"end": 0.0}
    connected, ready = anyio.Event(), [0]

    async def one_client(n: int) -> None:
        async with Client(f"{targets[n % len(targets)].url}/mcp") as client:
            for i in range(WARMUP_CALLS):
                await client.call_tool("ask_gemini", {"prompt": f"warm {n} {i}"})
            ready[0] += 1
            if ready[0] == clients:
                connected.set()
            await connected.wait()
            i = 0
            while time.perf_counter() < window["end"]:
                result = await client.call_tool("ask_gemini", {"prompt": f"question {n} {i}"})
                assert not result.is_error, result
                counts[n] += 1
                i += 1

    redis_pid, emulator_pid = pids
    own = [os.getpid(), emulator_pid, *(s.pid for s in targets)] + ([redis_pid] if redis_pid else [])

    def sample() -> tuple[list[float], float]:
        return [cpu_seconds(p) for p in own], machine_busy()

    async with anyio.create_task_group() as tg:
        for n in range(clients):
            tg.start_soon(one_client, n)
        await connected.wait()
        started = time.perf_counter()
        window["end"] = started + seconds
        before = sample()
    after = sample()
    elapsed = time.perf_counter() - started
    used = [b - a for a, b in zip(before[0], after[0], strict=True)]
    servers = sum(used[2 : 2 + len(targets)])
    redis = used[-1] if redis_pid else 0.0
    others = max(0.0, (after[1] - before[1]) - sum(used)) / elapsed
    return Phase(sum(counts), elapsed, servers, redis, used[1], used[0], others)


async def throughput(clients: int, seconds: float, rounds: int, scratch: Path) -> None:
    emulator_url, emulator = serve_emulator(step_delay=0.0)
    try:
        with (
            redis_server(scratch) as (redis_url, redis),
            servers(
                (str(scratch / "state.db"), emulator_url),
                (redis_url, emulator_url),
                (redis_url, emulator_url),
            ) as (on_sqlite, replica_a, replica_b),
        ):
            setups = {
                "1 process, SQLite": ([on_sqlite], [0, emulator.pid]),
                "1 replica, Redis": ([replica_a], [redis.pid, emulator.pid]),
                "2 replicas, Redis": ([replica_a, replica_b], [redis.pid, emulator.pid]),
            }
            results: dict[str, list[Phase]] = {label: [] for label in setups}
            labels = list(setups)
            for n in range(rounds):
                for label in labels[n % len(labels) :] + labels[: n % len(labels)]:
                    targets, pids = setups[label]
                    results[label].append(await phase(targets, pids, clients, seconds))
    finally:
        emulator.terminate()
        emulator.wait()
    print(f"\nthroughput: {clients} clients, {rounds} rounds of {seconds:g} s; median (min-max)")
    print(
        f"{'setup':<20} {'calls/s':>14} {'servers ms/call':>18} {'redis ms/call':>16} "
        f"{'emulator ms/call':>18} {'clients ms/call':>17} {'others busy':>14}"
    )
    for label, phases in results.items():
        rate = spread([p.calls / p.seconds for p in phases], ".0f")
        servers_ms = spread([p.per_call_ms(p.servers_cpu) for p in phases], ".2f")
        redis_ms = spread([p.per_call_ms(p.redis_cpu) for p in phases], ".2f")
        emulator_ms = spread([p.per_call_ms(p.emulator_cpu) for p in phases], ".2f")
        clients_ms = spread([p.per_call_ms(p.clients_cpu) for p in phases], ".2f")
        others = spread([p.others_busy for p in phases], ".2f")
        print(
            f"{label:<20} {rate:>14} {servers_ms:>18} {redis_ms:>16} {emulator_ms:>18} {clients_ms:>17} "
            f"{others:>14}"
        )


# -- takeover and wake-up ------------------------------------------------------------------------------


async def start_research(server: Server) -> str:
    async with Client(f"{server.url}/mcp") as client:
        result = await client.call_tool("start_deep_research", {"query": "replica bench"})
        assert not result.is_error, result
        return str((result.structured_content or {})["interaction_id"])


async def poll(server: Server, interaction_id: str, wait: float = 50) -> dict[str, object]:
    """One poll's result, with `returned_at` (time.time() as the result arrived) and `again_seconds`
    (how long the same poll took once more, the job being finished: the cost of answering it)."""
    async with Client(f"{server.url}/mcp") as client:
        arguments = {"interaction_id": interaction_id, "wait_seconds": wait}
        result = await client.call_tool("poll_interaction", arguments)
        returned_at = time.time()
        assert not result.is_error, result
        again = time.perf_counter()
        await client.call_tool("poll_interaction", arguments)
        again_seconds = time.perf_counter() - again
        timing = {"returned_at": returned_at, "again_seconds": again_seconds}
        return dict(result.structured_content or {}) | timing


async def wait_for(check: object, what: str, within: float = 60.0) -> float:
    """Poll `check()` (a callable) every 10 ms until truthy; the time.monotonic() it first held."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return time.monotonic()
        await anyio.sleep(METRIC_POLL_SECONDS)
    raise RuntimeError(f"timed out waiting for {what}")


async def takeovers(count: int, scratch: Path) -> None:
    emulator_url, emulator = serve_emulator(research_seconds=15)
    rows: dict[str, list[float]] = {"SIGKILL": [], "SIGTERM": []}
    try:
        with redis_server(scratch) as (redis_url, _):
            for n in range(count * 2):
                how = ("SIGKILL", "SIGTERM")[n % 2]
                with servers((redis_url, emulator_url), (redis_url, emulator_url)) as (a, b):
                    job = await start_research(a)
                    await wait_for(lambda: metric(a.url, "gemini_mcp_jobs_watched") == 1, "A to watch")
                    before = metric(b.url, "gemini_mcp_job_takeovers_total")
                    killed = time.monotonic()
                    a.process.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)  # type: ignore[union-attr]
                    taken = await wait_for(
                        lambda b=b, before=before: metric(b.url, "gemini_mcp_job_takeovers_total") > before,
                        "B to take over",
                    )
                    rows[how].append(taken - killed)
                    if n < 2:  # the job goes on: B finishes it
                        done = await poll(b, job)
                        assert done["status"] == "completed", done
    finally:
        emulator.terminate()
        emulator.wait()
    print("\ntakeover: from the signal to A until B watches A's research job")
    for how, seconds in rows.items():
        print(f"  {how:<8} n={len(seconds)}  " + "  ".join(f"{s:.2f} s" for s in seconds))
    print("  (the job then completed through B in the first run of each)")


async def wakeups(count: int, scratch: Path) -> None:
    emulator_url, emulator = serve_emulator(research_seconds=2)
    to_channel: list[float] = []
    to_client: list[float] = []
    answering: list[float] = []
    try:
        with (
            redis_server(scratch) as (redis_url, _),
            servers((redis_url, emulator_url), (redis_url, emulator_url)) as (a, b),
        ):
            store, listener = RedisStore(redis_url), RedisStore(redis_url)
            heard: dict[str, float] = {}

            async def hear() -> None:  # the announcement as every replica gets it
                async for interaction_id in listener.job_finished_events():
                    heard[interaction_id] = time.time()

            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(hear)
                    for _ in range(count):
                        job = await start_research(a)
                        polled = await poll(b, job)
                        assert polled["done"], polled
                        record = await store.get_job(LOCAL_PRINCIPAL, job)
                        assert record is not None and record.finished is not None
                        to_channel.append(heard[job] - record.finished)
                        to_client.append(float(polled["returned_at"]) - record.finished)  # type: ignore[arg-type]
                        answering.append(float(polled["again_seconds"]))  # type: ignore[arg-type]
                    tg.cancel_scope.cancel()
                assert metric(b.url, "gemini_mcp_job_takeovers_total") == 0, "A watched every job"
            finally:
                await store.close()
                await listener.close()
    finally:
        emulator.terminate()
        emulator.wait()
    print(f"\nwake-up across replicas, n={count}: from A's recorded end (the store's `finished`)")
    for label, seconds in (
        ("to its announcement on the channel", to_channel),
        ("to B's poll result", to_client),
        ("(B answering the same poll again)", answering),
    ):
        ms = [s * 1000 for s in seconds]
        print(
            f"  {label:<36} p50 {percentile(ms, 50):6.1f} ms  p90 {percentile(ms, 90):6.1f} ms  "
            f"max {max(ms):6.1f} ms"
        )


async def main(options: argparse.Namespace) -> None:
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if options.only in (None, "throughput"):
            await throughput(options.clients, options.seconds, options.rounds, folder)
        if options.only in (None, "takeover"):
            await takeovers(options.takeovers, folder)
        if options.only in (None, "wakeup"):
            await wakeups(options.wakeups, folder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--takeovers", type=int, default=3)
    parser.add_argument("--wakeups", type=int, default=10)
    parser.add_argument("--only", choices=["throughput", "takeover", "wakeup"], default=None)
    anyio.run(main, parser.parse_args())

"""Throughput and server CPU per call over Streamable HTTP: N concurrent MCP clients calling
`ask_gemini` (memory and SQLite stores) and the SDK's one-tool echo server, in interleaved phases.

Every server runs in its own process (ours with the emulator in yet another one, stepping with no delay),
all on the same cores as this load generator. A phase runs N clients against one server for a fixed time;
the phases rotate through the servers round after round so machine drift hits each alike. The server's
CPU is read from /proc (utime + stime) over the phase, and so is this load generator's (the N clients share
its one process): the server's event loop holds one core at most, so the clients and the emulator have
the other, and the ratio to echo moves with the server's CPU per call. The load others put on the machine
meanwhile is reported too: CPU busy on the whole machine less what this bench's processes used.

Goals (issue 12): server CPU per call at most 2 ms with either store; ask_gemini calls/s at 10 clients at
least 0.4x the echo floor with either store.

    .venv/bin/python -m bench.http_load [--clients 10] [--seconds 6] [--rounds 5] [--mode auto|legacy]
        [--stores memory,sqlite] [--baseline DIR] [--progress] [--continue]

`--continue` makes each client continue one conversation of its own (every call after its first names
it), as a user does; by default every call starts a new conversation.

`--baseline DIR` adds our server from another checkout (DIR/server first on its path) for each store, in
the same rounds: A/B comparisons of a change under the same machine load.

`--floor` adds the floor under `ask_gemini` (`floor_server.py`: the echo server whose tool makes one
streamed POST to the emulator through our HTTP client and reads it to its end), and reports how much server
CPU per call each store's `ask_gemini` costs above it: what the project's own code costs per turn.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
from mcp import Client

from bench._common import cpu_seconds, serve_emulator

HERE = Path(__file__).resolve().parent
WARMUP_CALLS = 5


@dataclass
class Target:
    label: str
    command: list[str]
    tool: str
    argument: str
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    results: list[Phase] = field(default_factory=list)


@dataclass
class Phase:
    calls: int
    seconds: float
    server_cpu: float
    emulator_cpu: float
    clients_cpu: float
    """CPU seconds this load generator (all N clients, one process) used over the phase."""
    others_busy: float
    """CPU seconds per second the rest of the machine used meanwhile (0 to the core count)."""

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu / self.calls * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(target: Target) -> None:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in target.command]
    target.process = subprocess.Popen(
        command, env={**os.environ, **target.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    target.url = f"http://127.0.0.1:{port}/mcp"
    for _ in range(400):
        try:
            httpx2.get(target.url.removesuffix("/mcp") + "/", timeout=1)
            return
        except httpx2.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{target.label} did not start")


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def phase(
    target: Target,
    emulator_pid: int,
    clients: int,
    seconds: float,
    mode: str,
    progress: bool = False,
    carry_on: bool = False,
) -> Phase:
    assert target.process is not None
    pid = target.process.pid
    counts = [0] * clients
    timing = {"start": 0.0, "end": 0.0}
    connected = anyio.Event()
    ready = 0

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        return None

    async def one_client(n: int) -> None:
        nonlocal ready
        kept: dict[str, str] = {}
        async with Client(target.url, mode=mode) as client:
            for i in range(WARMUP_CALLS):
                warm = await client.call_tool(target.tool, {target.argument: f"warm {n} {i}", **kept})
                if carry_on and target.tool == "ask_gemini":
                    kept = {"conversation": (warm.structured_content or {})["conversation"]}
            ready += 1
            if ready == clients:
                connected.set()
            await connected.wait()
            i = 0
            while time.perf_counter() < timing["end"]:
                arguments = {target.argument: f"question {n} {i}", **kept}
                result = await client.call_tool(
                    target.tool, arguments, progress_callback=on_progress if progress else None
                )
                assert not result.is_error, result
                counts[n] += 1
                i += 1

    own = [os.getpid(), pid, emulator_pid]
    async with anyio.create_task_group() as tg:
        for n in range(clients):
            tg.start_soon(one_client, n)
        await connected.wait()
        timing["start"] = time.perf_counter()
        timing["end"] = timing["start"] + seconds
        before = [cpu_seconds(p) for p in own], machine_busy()
    after = [cpu_seconds(p) for p in own], machine_busy()
    elapsed = time.perf_counter() - timing["start"]
    used = [b - a for a, b in zip(before[0], after[0], strict=True)]
    others = max(0.0, (after[1] - before[1]) - sum(used)) / elapsed
    return Phase(sum(counts), elapsed, used[1], used[2], used[0], others)


def spread(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


OURS = [sys.executable, "-m", "gemini_interactions_mcp", "serve", "--transport", "http", "--port", "{port}"]
ECHO = [sys.executable, str(HERE / "echo_server.py"), "--http", "{port}"]
FLOOR = [sys.executable, str(HERE / "floor_server.py"), "{port}"]
FLOOR_LABEL = "floor: echo + one POST"


def our_targets(stores: list[str], emulator_url: str, scratch: Path, baseline: Path | None) -> list[Target]:
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["GEMINI_BASE_URL"] = emulator_url
    variants = [("", env)]
    if baseline is not None:
        variants.append((" (baseline)", {**env, "PYTHONPATH": str(baseline.resolve() / "server")}))
    targets: list[Target] = []
    for suffix, variant_env in variants:
        for store in stores:
            spec = "memory" if store == "memory" else str(scratch / f"state{len(targets)}.db")
            command = [*OURS, "--state", spec]
            label = f"ask_gemini, {store}{suffix}"
            targets.append(Target(label, command, "ask_gemini", "prompt", variant_env))
    return targets


async def main(
    clients: int,
    seconds: float,
    rounds: int,
    mode: str,
    stores: list[str],
    baseline: Path | None,
    progress: bool,
    carry_on: bool,
    floor: bool,
) -> None:
    emulator_url, emulator = serve_emulator(step_delay=0.0)
    scratch = tempfile.TemporaryDirectory()
    targets = [
        Target("SDK echo", ECHO, "echo", "text"),
        *([Target(FLOOR_LABEL, FLOOR, "echo", "text", {"GEMINI_BASE_URL": emulator_url})] if floor else []),
        *our_targets(stores, emulator_url, Path(scratch.name), baseline),
    ]
    try:
        for target in targets:
            start(target)
        for n in range(rounds):
            order = targets[n % len(targets) :] + targets[: n % len(targets)]
            for target in order:
                target.results.append(
                    await phase(target, emulator.pid, clients, seconds, mode, progress, carry_on)
                )
        how = f"{mode} mode{', with progress tokens' if progress else ''}"
        report(targets, clients, seconds, rounds, how + (", conversations continued" if carry_on else ""))
    finally:
        for target in targets:
            if target.process is not None:
                target.process.terminate()
                target.process.wait()
        emulator.terminate()
        scratch.cleanup()


def report(targets: list[Target], clients: int, seconds: float, rounds: int, mode: str) -> None:
    echo = targets[0]
    print(f"{clients} clients ({mode}), {rounds} rounds of {seconds:g} s phases; median (min-max)")
    print(
        f"{'server':<30} {'calls/s':>16} {'server CPU ms/call':>20} {'emulator ms/call':>18} "
        f"{'ratio to echo':>18} {'clients ms/call':>16} {'others busy':>14}"
    )
    for target in targets:
        rates = spread([p.rate for p in target.results], ".0f")
        cpu = spread([p.cpu_ms for p in target.results], ".2f")
        ratios = [p.rate / e.rate for p, e in zip(target.results, echo.results, strict=True)]
        emulator = [p.emulator_cpu / p.calls * 1000 for p in target.results]
        ours = target is not echo
        others = spread([p.others_busy for p in target.results], ".2f")
        clients_cpu = spread([p.clients_cpu / p.calls * 1000 for p in target.results], ".2f")
        print(
            f"{target.label:<30} {rates:>16} {cpu:>20} {spread(emulator, '.2f') if ours else '':>18} "
            f"{spread(ratios, '.2f') if ours else '':>18} {clients_cpu:>16} {others:>14}"
        )
    floor = next((target for target in targets if target.label == FLOOR_LABEL), None)
    if floor is None:
        return
    print("server CPU per call above the floor, phase by phase in the same rounds:")
    for target in targets:
        if target is echo or target is floor:
            continue
        above = [p.cpu_ms - f.cpu_ms for p, f in zip(target.results, floor.results, strict=True)]
        print(f"  {target.label:<28} {spread(above, '.2f')} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", default="auto", choices=["auto", "legacy"])
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare with")
    parser.add_argument("--progress", action="store_true", help="calls carry a progress token, as IDEs send")
    parser.add_argument(
        "--continue", dest="carry_on", action="store_true", help="each client continues one conversation"
    )
    parser.add_argument("--floor", action="store_true", help="add the floor: echo + one upstream POST")
    o = parser.parse_args()
    anyio.run(
        main,
        o.clients,
        o.seconds,
        o.rounds,
        o.mode,
        o.stores.split(","),
        o.baseline,
        o.progress,
        o.carry_on,
        o.floor,
    )

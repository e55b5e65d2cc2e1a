"""Shared bits of the benchmarks: percentiles, a readable table, the emulator in its own process, and the
CPU a process has used. Benchmarks are scripts, not tests."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2

# The emulator as tests and benches use it: quiet (no access log), settings from argv as JSON, on asyncio's
# own loop under anyio.run as our server runs (uvicorn would pick uvloop when it is installed, as the test
# extra does).
_EMULATOR = """
import json, sys, anyio, uvicorn
from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
app = create_app(EmulatorConfig.model_validate(json.loads(sys.argv[2])))
config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), loop="asyncio", log_level="warning",
                        access_log=False)
anyio.run(uvicorn.Server(config).serve, backend="asyncio")
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{label:<42} n={len(ms):<4} p50={percentile(ms, 50):8.2f} ms  p99={percentile(ms, 99):8.2f} ms  "
        f"mean={statistics.fmean(ms):8.2f} ms"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_emulator(server_path: Path | None = None, **config: object) -> tuple[str, subprocess.Popen[bytes]]:
    """The emulator under uvicorn in its own process, so it does not share a GIL (or a CPU count) with the
    side being measured. Returns its base URL and the process (terminate it when done). `server_path`
    serves the emulator of another checkout (its `server` folder), for A/B runs."""
    port = free_port()
    command = [sys.executable, "-c", _EMULATOR, str(port), json.dumps(config)]
    env = None if server_path is None else {**os.environ, "PYTHONPATH": str(server_path / "server")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx2.get(f"{url}/_emulator/config")
            return url, process
        except httpx2.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the emulator did not start")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds used so far by process `pid` (this process when None), from /proc."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

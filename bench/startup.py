"""Start-up over stdio, ours against the SDK's minimal echo server, in interleaved rounds.

Three figures per process start, as a 2026-07-28 client sees them: the first reply (to the
`server/discover` probe that `@ai-sdk/mcp` gives 1 s), the first `tools/list` answer, and the answer to
a `ping` sent after it, which only the SDK gives (when a tool call could start). Each round starts both
servers, in alternating order, and the ratio is taken pair by pair so machine drift hits both alike.

Goals: first reply well under 1 s (issue 8); first tools/list at most 1.1x the echo floor, median of the
pair ratios over 15 rounds (issue 12).

Both run as on a user's machine: bytecode is cached (PYTHONDONTWRITEBYTECODE, which some shells set, is
dropped, and the warm-up start writes it), and our tool list snapshot (transport/tool_snapshot.py) is the
one the warm-up start stored, in a scratch cache folder. `--cold` gives every start of ours an empty
cache folder instead: the first start after an install or upgrade.

    .venv/bin/python -m bench.startup [--rounds 15] [--state memory] [--cold]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}
DISCOVER = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": META}}
TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": META}}
PING = {"jsonrpc": "2.0", "id": 3, "method": "ping", "params": {"_meta": META}}


def start_once(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Seconds from process start to the discover reply, to the tools/list reply, and to the reply to a
    `ping` sent after it (which only the SDK answers: when a tool call could start)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(DISCOVER).encode() + b"\n")
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1
    first_reply = time.perf_counter() - started
    process.stdin.write(json.dumps(TOOLS_LIST).encode() + b"\n")
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["result"]["tools"]
    first_tools = time.perf_counter() - started
    process.stdin.write(json.dumps(PING).encode() + b"\n")
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 3
    ready = time.perf_counter() - started
    process.stdin.close()
    process.wait()
    return first_reply, first_tools, ready


def ms(values: list[float]) -> str:
    low, mid, high = (1000 * v for v in (min(values), statistics.median(values), max(values)))
    return f"median {mid:7.1f} ms  (min {low:6.1f}, max {high:6.1f})"


def main(rounds: int, state: str, cold: bool) -> None:
    ours = [sys.executable, "-m", "gemini_interactions_mcp", "serve", "--state", state]
    echo = [sys.executable, str(HERE / "echo_server.py")]
    scratch = tempfile.TemporaryDirectory()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CACHE_HOME"] = scratch.name

    def our_env() -> dict[str, str]:
        return {**env, "XDG_CACHE_HOME": tempfile.mkdtemp(dir=scratch.name)} if cold else env

    start_once(ours, env)  # warm the file cache for both (and write bytecode and the snapshot)
    start_once(echo, env)
    timings: dict[str, list[tuple[float, float, float]]] = {"ours": [], "echo": []}
    for n in range(rounds):
        order = [("ours", ours), ("echo", echo)] if n % 2 == 0 else [("echo", echo), ("ours", ours)]
        for label, command in order:
            timings[label].append(start_once(command, our_env() if label == "ours" else env))
    for which, index in (
        ("first reply (server/discover)", 0),
        ("first tools/list", 1),
        ("SDK ready (ping answered after tools/list)", 2),
    ):
        a = [t[index] for t in timings["ours"]]
        b = [t[index] for t in timings["echo"]]
        ratios = [x / y for x, y in zip(a, b, strict=True)]
        print(f"{which}:")
        print(f"  gemini-interactions-mcp   {ms(a)}")
        print(f"  SDK echo server           {ms(b)}")
        print(f"  ratio, median of {rounds} pairs: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--state", default="memory", help="our --state (memory, or a SQLite path)")
    parser.add_argument("--cold", action="store_true", help="no tool list snapshot for our starts")
    options = parser.parse_args()
    main(options.rounds, options.state, options.cold)

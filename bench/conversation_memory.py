"""Memory a server keeps per conversation it has ever served (issue 8 §7).

Goal: after 10,000 new conversations, RSS grows by less than 2 MB over the first 1,000. (A lock table
that kept one lock per conversation forever grew RSS by 8.7 MB over 5,000.)

The server runs in this process on a SQLite state file, so the conversations themselves live on disk;
the emulator runs in its own process, so what it keeps is not counted. Each ask starts a new
conversation. RSS is read from /proc after a garbage collection at every thousand.

    .venv/bin/python -m bench.conversation_memory [--conversations 10000]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client

from bench._common import serve_emulator
from gemini_interactions_mcp.app import build_server
from gemini_interactions_mcp.config import ServerSettings
from gemini_interactions_mcp.gemini import ClientConfig

BASELINE_AT = 1_000
GOAL_MB = 2.0


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kb / 1024


async def run(conversations: int) -> None:
    url, emulator = serve_emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = ServerSettings(state=str(Path(tmp) / "state.sqlite3"), allow_dirs=(Path(tmp),))
            server = build_server(settings, client_config=ClientConfig(base_url=url, api_key=None))
            baseline = 0.0
            started = time.monotonic()
            async with Client(server) as client:
                for i in range(1, conversations + 1):
                    result = await client.call_tool("ask_gemini", {"prompt": f"question {i}"})
                    assert not result.is_error, result
                    if i % 1_000 == 0:
                        gc.collect()
                        now = rss_mb()
                        baseline = now if i == BASELINE_AT else baseline
                        rate = i / (time.monotonic() - started)
                        print(
                            f"{i:>6} conversations: RSS {now:7.1f} MB, "
                            f"+{now - baseline:5.2f} MB ({rate:.0f}/s)"
                        )
                growth = now - baseline
            verdict = "meets" if growth < GOAL_MB else "misses"
            print(
                f"RSS growth from {BASELINE_AT:,} to {conversations:,} conversations: {growth:.2f} MB "
                f"({verdict} the < {GOAL_MB} MB goal)"
            )
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    anyio.run(run, parser.parse_args().conversations)


if __name__ == "__main__":
    main()

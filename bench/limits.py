"""Cost of the per-principal limit check that runs before every call that starts Gemini work.

Measures `Limits.admit` (what the LimitGate middleware awaits) per call, in wall time and CPU, with no
limits, the request rate only, and rate plus a daily USD budget (which reads today's usage) on the
memory and the SQLite store (and Redis, given its URL); and the metering of one finished interaction
(tokens to estimated cost).

    .venv/bin/python bench/limits.py [--calls 5000] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import anyio

from gemini_interactions_mcp.gemini import Interaction
from gemini_interactions_mcp.services.limits import Limits, LimitSettings
from gemini_interactions_mcp.services.metering import usage_totals
from gemini_interactions_mcp.services.usage import UsageLedger
from gemini_interactions_mcp.state import MemoryStore, SQLiteStore, Store


async def per_call(store: Store, settings: LimitSettings, calls: int) -> tuple[float, float]:
    """Microseconds of wall time and of CPU per admitted call, after a short warm-up."""
    ledger = UsageLedger(store)
    for owner in ("alice", "bob"):
        await ledger.record(owner, "gemini-3.5-flash", {"total_tokens": 100, "cost_usd": 0.01})
    limits = Limits(settings, ledger=ledger, rate_limiter=store.rate_limiter(), store=store)
    for _ in range(50):
        await limits.admit("alice", "ask_gemini")
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(calls):
        await limits.admit("alice" if i % 2 else "bob", "ask_gemini")
    return (time.perf_counter() - wall) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6


def metering(calls: int) -> float:
    interaction = Interaction.model_validate(
        {
            "id": "v1_x",
            "status": "completed",
            "model": "gemini-3.5-flash",
            "usage": {
                "total_input_tokens": 1200,
                "total_output_tokens": 300,
                "total_thought_tokens": 80,
                "total_tokens": 1580,
                "input_tokens_by_modality": [{"modality": "text", "tokens": 1200}],
                "grounding_tool_count": [{"type": "google_search", "count": 1}],
            },
        }
    )
    started = time.process_time()
    for _ in range(calls):
        usage_totals(interaction)
    return (time.process_time() - started) / calls * 1e6


async def main(calls: int, redis: str | None) -> None:
    unlimited = LimitSettings()
    rate = LimitSettings(requests_per_minute=1e9)
    rate_and_budget = LimitSettings(requests_per_minute=1e9, daily_usd_budget=1e9)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SQLiteStore(Path(folder) / "state.sqlite3")
        cases = [
            ("no limits", MemoryStore(), unlimited),
            ("rate", MemoryStore(), rate),
            ("rate + USD budget, memory store", MemoryStore(), rate_and_budget),
            ("rate + USD budget, SQLite store", sqlite, rate_and_budget),
        ]
        if redis is not None:
            from gemini_interactions_mcp.state.redis_store import RedisStore

            shared = RedisStore(redis)
            await shared.flush()
            cases += [
                ("rate, Redis store", shared, rate),
                ("rate + USD budget, Redis store", shared, rate_and_budget),
            ]
        for label, store, settings in cases:
            wall, cpu = await per_call(store, settings, calls)
            print(f"{label:<36} {wall:8.1f} µs/call wall  {cpu:8.1f} µs/call CPU")
        for _, store, _ in cases:
            await store.close()
    print(f"{'metering one interaction':<36} {metering(calls):8.1f} µs/call CPU")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--redis", help="a Redis URL to measure too (its database is emptied)")
    arguments = parser.parse_args()
    anyio.run(main, arguments.calls, arguments.redis)

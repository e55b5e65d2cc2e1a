"""Per-call cost of the state store, for each backend: wall and CPU time per operation.

The mix is what `ask_gemini` turns and one background job cost the store: create a conversation (a new
one's first turn), take its lease and read it (a continued turn begins so), compare-and-set the head,
give the lease back; create, read and finish a job. It runs once with
one caller (latency) and once with 10 concurrent callers (what the server sees under load). The CPU time
covers every thread of this process (the event loop and the store's own), so a thread hop counts in full.

    .venv/bin/python -m bench.store_calls [--rounds 2000] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from gemini_interactions_mcp.state import ConversationRecord, JobRecord, Store, open_store

CALLERS = 10
RUN = secrets.token_hex(4)
"""Ids are unique per run, so a shared Redis needs no flushing between runs."""
OPS_PER_ROUND = 7


async def one_round(store: Store, caller: int, n: int) -> None:
    now = time.time()
    conversation = ConversationRecord(
        id=f"conv_bench_{RUN}_{caller}_{n}", owner="local", model="gemini-3.5-flash", created=now, updated=now
    )
    await store.create_conversation(conversation)
    key, holder = f"conversation:{conversation.id}", f"bench:{caller}"
    taken, current = await store.acquire_lease_and_read(
        key, holder, 30, owner="local", conversation_id=conversation.id
    )
    assert taken and current is not None
    moved = current.model_copy(update={"head": f"v1_{RUN}_{caller}_{n}", "turns": 1, "updated": time.time()})
    assert await store.advance_conversation("local", conversation.id, None, moved)
    await store.release_lease(key, holder)
    job = JobRecord(
        interaction_id=f"v1_job_{RUN}_{caller}_{n}", owner="local", kind="model", created=now, updated=now
    )
    await store.create_job(job)
    assert await store.get_job("local", job.interaction_id) is not None
    await store.finish_job("local", job.interaction_id, status="completed", output="answer " * 20)


async def timed(label: str, rounds: int, work: Callable[[], Awaitable[None]]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    await work()
    ops = rounds * OPS_PER_ROUND
    wall_us = (time.perf_counter() - wall) / ops * 1e6
    cpu_us = (time.process_time() - cpu) / ops * 1e6
    print(f"  {label:<26} {wall_us:8.1f} us wall  {cpu_us:8.1f} us CPU per call")


async def measure(spec: str, label: str, rounds: int) -> None:
    store = await open_store(spec)
    print(f"{label}:")
    try:
        for warm in range(50):
            await one_round(store, -1, warm)

        async def sequential() -> None:
            for n in range(rounds):
                await one_round(store, 0, n)

        async def concurrent() -> None:
            async def caller(c: int) -> None:
                for n in range(rounds // CALLERS):
                    await one_round(store, c, n)

            async with anyio.create_task_group() as tg:
                for c in range(1, CALLERS + 1):
                    tg.start_soon(caller, c)

        await timed("1 caller", rounds, sequential)
        await timed(f"{CALLERS} concurrent callers", rounds, concurrent)
    finally:
        await store.close()


async def wake_up_latency(url: str, rounds: int = 50) -> None:
    """How soon a replica hears that a job finished on another (the pub/sub channel; goal < 100 ms)."""
    announcer, listener = await open_store(url), await open_store(url)
    delays: list[float] = []
    async with anyio.create_task_group() as tg:
        heard = anyio.Event()

        async def listen() -> None:
            nonlocal heard
            async for _ in listener.job_finished_events():
                heard.set()
                heard = anyio.Event()

        tg.start_soon(listen)
        await anyio.sleep(0.2)  # let the subscription reach Redis before the first announcement
        for n in range(rounds):
            waiting = heard
            sent = time.perf_counter()
            await announcer.publish_job_finished(f"v1_{RUN}_{n}")
            with anyio.fail_after(5):
                await waiting.wait()
            delays.append(time.perf_counter() - sent)
        tg.cancel_scope.cancel()
    await announcer.close()
    await listener.close()
    ms = sorted(d * 1000 for d in delays)
    p50, worst = ms[len(ms) // 2], ms[-1]
    print(f"  job finished on one replica -> heard on another: p50 {p50:.2f} ms, max {worst:.2f} ms")


async def main(rounds: int, redis_url: str | None) -> None:
    await measure("memory", "memory", rounds)
    with tempfile.TemporaryDirectory() as tmp:
        await measure(str(Path(tmp) / "state.sqlite3"), "sqlite", rounds)
    if redis_url is not None:
        await measure(redis_url, "redis", rounds)
        await wake_up_latency(redis_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--redis", default=None, help="a redis:// URL to measure too (deletes nothing)")
    arguments = parser.parse_args()
    anyio.run(main, arguments.rounds, arguments.redis)

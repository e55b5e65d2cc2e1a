"""What only the Redis store promises: replicas sharing it (compare-and-set, job changes, rate counters,
completion announcements), a clear error while Redis is away, and recovery with nothing lost after a
Redis restart."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.state import (
    ConversationRecord,
    JobRecord,
    MemoryStore,
    StoreUnavailableError,
    new_conversation_id,
    open_store,
)
from gemini_interactions_mcp.state.redis_store import RedisStore
from tests.helpers.redis import RedisServer
from tests.helpers.servers import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def replicas(redis_server: RedisServer) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    """Two stores on one Redis, as two server replicas would have."""
    a, b = RedisStore(redis_server.url), RedisStore(redis_server.url)
    await a.flush()
    yield a, b
    await a.close()
    await b.close()


def conversation(name: str | None = None) -> ConversationRecord:
    return ConversationRecord(id=new_conversation_id(), owner="alice", name=name, created=1.0, updated=1.0)


async def test_open_store_picks_redis_by_url(redis_server: RedisServer) -> None:
    store = await open_store(redis_server.url)
    assert isinstance(store, RedisStore)
    await store.close()
    assert isinstance(await open_store("memory"), MemoryStore)


async def test_an_unreachable_redis_at_start_is_one_clear_line() -> None:
    with pytest.raises(StoreUnavailableError) as refused:
        await open_store(f"redis://127.0.0.1:{free_port()}/0")
    message = str(refused.value)
    assert "state store is unavailable" in message and "\n" not in message
    assert "127.0.0.1" in message, "the operator starting the server needs to know where it looked"


async def test_callers_who_must_not_see_the_host_read_the_failure_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    store = RedisStore(f"redis://127.0.0.1:{port}/0", show_location=False)
    with pytest.raises(StoreUnavailableError) as refused:
        await store.get_job("alice", "int_1")
    message = str(refused.value)
    assert "127.0.0.1" not in message and str(port) not in message
    assert message.startswith("The server's state store is unavailable: nothing of this call was saved.")
    assert any(f"127.0.0.1:{port}" in r.getMessage() for r in caplog.records), "the operator's log has it"
    await store.close()


async def test_replicas_share_one_compare_and_set(replicas: tuple[RedisStore, RedisStore]) -> None:
    a, b = replicas
    record = conversation(name="shared")
    await a.create_conversation(record)
    wins: list[str] = []

    async def attempt(store: RedisStore, head: str) -> None:
        if await store.advance_conversation(
            "alice", record.id, None, record.model_copy(update={"head": head})
        ):
            wins.append(head)

    async with anyio.create_task_group() as tg:
        for n in range(10):
            tg.start_soon(attempt, (a, b)[n % 2], f"int_{n}")
    assert len(wins) == 1
    stored = await b.get_conversation("alice", "shared")
    assert stored is not None and stored.head == wins[0]


async def test_concurrent_job_changes_from_two_replicas_all_land(
    replicas: tuple[RedisStore, RedisStore],
) -> None:
    a, b = replicas
    await a.create_job(
        JobRecord(interaction_id="int_1", owner="alice", kind="research", created=1, updated=1)
    )
    async with anyio.create_task_group() as tg:
        for n in range(20):
            tg.start_soon((a, b)[n % 2].append_progress, "alice", "int_1", [f"note {n}"])
    job = await a.get_job("alice", "int_1")
    assert job is not None and [note.seq for note in job.progress] == list(range(1, 21))
    assert {note.text for note in job.progress} == {f"note {n}" for n in range(20)}


async def test_rate_counters_are_shared_by_replicas(replicas: tuple[RedisStore, RedisStore]) -> None:
    a, b = replicas
    first, second = a.rate_limiter(), b.rate_limiter()
    assert await first.take("alice", interval=60, burst=2) == 0.0
    assert await second.take("alice", interval=60, burst=2) == 0.0
    wait = await first.take("alice", interval=60, burst=2)
    assert 50 < wait <= 60  # the third request in a minute waits for the next slot
    assert await second.take("bob", interval=60, burst=2) == 0.0


async def test_a_job_finished_on_one_replica_wakes_the_other(replicas: tuple[RedisStore, RedisStore]) -> None:
    a, b = replicas
    heard: list[tuple[str, float]] = []
    listening = anyio.Event()

    async def listen() -> None:
        events = b.job_finished_events()
        listening.set()
        async for interaction_id in events:
            heard.append((interaction_id, time.monotonic()))
            return

    async with anyio.create_task_group() as tg:
        tg.start_soon(listen)
        await listening.wait()
        with anyio.fail_after(10):
            sent = 0.0
            while not heard:  # the subscription is made inside the generator: announce until heard
                sent = time.monotonic()
                await a.publish_job_finished("int_done")
                await anyio.sleep(0.05)
    assert heard[0][0] == "int_done"
    assert heard[0][1] - sent < 1.0  # 100 ms is the bench's goal; the test only rules out polling


async def test_a_redis_restart_fails_calls_clearly_then_recovers_with_everything(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    store = RedisStore(server.url)
    try:
        kept = conversation(name="kept")
        await store.create_conversation(kept)
        await store.create_job(
            JobRecord(interaction_id="int_1", owner="alice", kind="model", created=1, updated=1)
        )
        server.stop()
        for call in (store.get_conversation("alice", "kept"), store.create_conversation(conversation())):
            with pytest.raises(StoreUnavailableError, match="state store is unavailable"):
                await call
        server.start()
        assert await store.get_conversation("alice", "kept") == kept
        assert [j.interaction_id for j in await store.unfinished_jobs()] == ["int_1"]
        # A job change runs a script inside a transaction: the restarted Redis no longer has it cached.
        noted = await store.append_progress("alice", "int_1", ["After the restart"])
        assert noted is not None and [n.text for n in noted.progress] == ["After the restart"]
        await store.create_conversation(conversation(name="after"))
        assert await store.get_conversation("alice", "after") is not None
    finally:
        await store.close()
        server.stop()

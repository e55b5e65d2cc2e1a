"""Jobs watched across replicas, one job service per replica on one shared store: a poll wakes on
another replica's end at once, a stalled watcher is fenced, and announcements reach every replica."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette

from gemini_interactions_mcp.emulator import EmulatorConfig, create_app
from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.jobs import JobFinished, JobService
from gemini_interactions_mcp.services.leases import JOB_WATCHER_PREFIX
from gemini_interactions_mcp.state import MemoryStore, Store
from gemini_interactions_mcp.state.redis_store import RedisStore
from tests.helpers.redis import RedisServer
from tests.helpers.servers import ServerThread
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio
RESEARCH = {"agent": "deep-research-preview-04-2026", "input": "Replicas", "background": True}


@pytest.fixture
def emulator() -> Starlette:
    return create_app(EmulatorConfig(research_seconds=2.0))


@pytest.fixture
async def upstream(emulator: Starlette) -> AsyncIterator[InteractionsClient]:
    """The emulator on a loopback port: its event streams arrive as they are produced."""
    with ServerThread(emulator) as running:
        async with InteractionsClient(ClientConfig(base_url=running.url, api_key="test-key")) as client:
            yield client


@pytest.fixture(params=["memory", "redis"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Store, Store]]:
    """What two replicas see: one memory store shared in this process, or two clients of one Redis."""
    if request.param == "memory":
        shared = MemoryStore()
        yield shared, shared
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    a, b = RedisStore(server.url), RedisStore(server.url)
    await a.flush()
    yield a, b
    await a.close()
    await b.close()


async def test_a_poll_on_one_replica_wakes_on_the_others_end(
    stores: tuple[Store, Store], upstream: InteractionsClient
) -> None:
    """Replica B re-reads a job it does not watch only once a minute here: its poll returns long before
    that because A's end reaches it on the store's channel."""
    store_a, store_b = stores
    async with anyio.create_task_group() as tg:
        a = JobService(store=store_a, client=upstream, task_group=tg)
        b = JobService(store=store_b, client=upstream, task_group=tg, relay_seconds=60)
        tg.start_soon(b.keep_watch)
        job = await a.adopt("alice", "research", await upstream.create(RESEARCH))
        with anyio.fail_after(30):
            polled = await b.wait("alice", job.interaction_id, 50, None)
        assert polled.is_finished and polled.status == "completed" and polled.output
        tg.cancel_scope.cancel()


class Pausable:
    """A store as a paused process sees it: while `running` is unset, every call waits (a stalled
    event loop, a long GC pause, a VM migration): its lease renewals too."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.running = anyio.Event()
        self.running.set()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            await self.running.wait()
            return await attr(*args, **kwargs)

        return call


async def test_a_watcher_stalled_past_its_lease_is_fenced(
    stores: tuple[Store, Store], upstream: InteractionsClient
) -> None:
    """A stalls while watching; B takes the job over once A's lease runs out and finishes it. When A
    wakes, it stops: the end is recorded once (by B), and each progress note is stored once."""
    store_a, store_b = stores
    paused = Pausable(store_a)
    ends: list[tuple[str, JobFinished]] = []

    def recorder(replica: str) -> Any:
        async def record(event: JobFinished) -> None:
            ends.append((replica, event))

        return record

    async with anyio.create_task_group() as tg:
        a = JobService(store=paused, client=upstream, task_group=tg, watcher_ttl=0.6)  # type: ignore[arg-type]
        b = JobService(store=store_b, client=upstream, task_group=tg, watcher_ttl=0.6, sweep_seconds=0.1)
        a.on_finished(recorder("a"))
        b.on_finished(recorder("b"))
        job = await a.adopt("alice", "research", await upstream.create(RESEARCH))

        async def first_note() -> bool:
            current = await store_b.get_job("alice", job.interaction_id)
            return current is not None and len(current.progress) >= 1

        await async_wait_until(first_note, within=20, what="A's watcher to store a note")
        paused.running = anyio.Event()  # A stalls
        tg.start_soon(b.keep_watch)
        done = await b.wait("alice", job.interaction_id, 30, None)
        assert done.is_finished and done.status == "completed"
        paused.running.set()  # A wakes: its lease is B's now

        async def a_stopped() -> bool:
            return job.interaction_id not in a._watching

        await async_wait_until(a_stopped, within=10, what="A's watcher to stop")
        tg.cancel_scope.cancel()
    assert [replica for replica, _ in ends] == ["b"]
    final = await store_b.get_job("alice", job.interaction_id)
    assert final is not None
    texts = [note.text for note in final.progress]
    assert len(texts) == len(set(texts)) == 4, texts


async def test_a_draining_replica_hands_its_jobs_back_at_once(
    stores: tuple[Store, Store], upstream: InteractionsClient
) -> None:
    """A watches a job under a lease that would last a minute, then drains (SIGTERM): it lets the
    job go at once and takes no other, and B's next sweep takes it over and finishes it."""
    store_a, store_b = stores
    ends: list[str] = []

    async def ended_on_b(event: JobFinished) -> None:
        ends.append(event.job.interaction_id)

    async with anyio.create_task_group() as tg:
        a = JobService(store=store_a, client=upstream, task_group=tg, watcher_ttl=60)
        b = JobService(store=store_b, client=upstream, task_group=tg, watcher_ttl=60, sweep_seconds=0.1)
        b.on_finished(ended_on_b)
        job = await a.adopt("alice", "research", await upstream.create(RESEARCH))

        async def first_note() -> bool:
            current = await store_b.get_job("alice", job.interaction_id)
            return current is not None and len(current.progress) >= 1

        await async_wait_until(first_note, within=20, what="A's watcher to store a note")
        tg.start_soon(b.keep_watch)
        a.drain()
        done = await b.wait("alice", job.interaction_id, 30, None)
        assert done.is_finished and done.status == "completed"
        assert await a.sweep() == 0 and a.counts().watched == 0
        assert b.counts().takeovers == 1 and b.counts().unfinished in (0, 1)
        tg.cancel_scope.cancel()
    assert ends == [job.interaction_id]


async def test_a_dead_watchers_job_is_taken_over_as_its_lease_runs_out(
    stores: tuple[Store, Store], upstream: InteractionsClient
) -> None:
    """B polls a job A watches, so it knows the job is watched elsewhere; A stops renewing (its process
    is as good as dead). B takes the job over when A's lease runs out, not at a sweep (B sweeps
    once an hour here), and finishes it within the poll."""
    store_a, store_b = stores
    paused = Pausable(store_a)
    async with anyio.create_task_group() as tg:
        a = JobService(store=paused, client=upstream, task_group=tg, watcher_ttl=1.0)  # type: ignore[arg-type]
        b = JobService(store=store_b, client=upstream, task_group=tg, watcher_ttl=1.0, sweep_seconds=3600)
        tg.start_soon(b.keep_watch)
        job = await a.adopt("alice", "research", await upstream.create(RESEARCH))

        async def a_holds_it() -> bool:
            return await store_b.lease_left(JOB_WATCHER_PREFIX + job.interaction_id) is not None

        await async_wait_until(a_holds_it, what="A's watcher to take its lease")
        async with anyio.create_task_group() as polls:
            result: list[Any] = []

            async def poll_on_b() -> None:
                result.append(await b.wait("alice", job.interaction_id, 30, None))

            polls.start_soon(poll_on_b)

            async def b_waits_for_the_lease() -> bool:
                return job.interaction_id in b._awaiting

            await async_wait_until(b_waits_for_the_lease, what="B to find the job watched by A")
            paused.running = anyio.Event()  # A stalls: no renewal, no progress
        [done] = result
        assert done.is_finished and done.status == "completed"
        assert b.counts().takeovers == 1
        paused.running.set()
        tg.cancel_scope.cancel()

"""Jobs this server runs itself (adding files to a store): progress, cancel, and a restart in between."""

from __future__ import annotations

import time

import anyio
import pytest

from gemini_interactions_mcp.gemini import ClientConfig, InteractionsClient
from gemini_interactions_mcp.services.jobs import JobService, Note
from gemini_interactions_mcp.state import JobRecord, MemoryStore

pytestmark = pytest.mark.anyio


def client() -> InteractionsClient:
    return InteractionsClient(ClientConfig(base_url="http://unused.invalid", api_key=None))


async def test_progress_output_and_cancel() -> None:
    store = MemoryStore()
    release = anyio.Event()

    async def work(note: Note) -> tuple[str, str]:
        await note("a.txt: indexed")
        await release.wait()
        return "completed", "All done."

    async with anyio.create_task_group() as tg:
        jobs = JobService(store=store, client=client(), task_group=tg)
        job = await jobs.run_local("alice", "files", "adding", work)
        polled = await jobs.poll(
            "alice", job.interaction_id, wait_seconds=0.2, offset=0, max_chars=1000, progress=None
        )
        assert not polled.done and polled.progress == ["a.txt: indexed"]
        release.set()
        finished = await jobs.poll(
            "alice", job.interaction_id, wait_seconds=5, offset=0, max_chars=1000, progress=None
        )
        assert finished.done and finished.status == "completed" and finished.output == "All done."

        async def forever(note: Note) -> tuple[str, str]:
            await anyio.sleep_forever()
            return "completed", ""

        slow = await jobs.run_local("alice", "files", "slow", forever)
        cancelled = await jobs.cancel("alice", slow.interaction_id)
        assert cancelled.status == "cancelled" and cancelled.is_finished
        tg.cancel_scope.cancel()


async def test_a_job_cut_by_a_restart_is_failed_not_watched_upstream() -> None:
    store = MemoryStore()
    now = time.time()
    await store.create_job(
        JobRecord(interaction_id="local_x", owner="bob", kind="files", created=now, updated=now)
    )
    async with anyio.create_task_group() as tg:
        jobs = JobService(store=store, client=client(), task_group=tg)
        assert await jobs.sweep() == 1
        job = await jobs.wait("bob", "local_x", 5, None)
        assert job.status == "failed" and "restarted" in (job.error or "")
        tg.cancel_scope.cancel()


async def test_a_job_another_live_process_runs_is_left_to_it() -> None:
    """A second process (a replica starting up, or its periodic sweep) does not fail a job the first
    one still runs: that job's lease is held. Once its process is gone, the job is failed."""
    store = MemoryStore()  # one store shared by two job services, as by two processes
    release = anyio.Event()

    async def work(note: Note) -> tuple[str, str]:
        await release.wait()
        return "completed", "All done."

    async with anyio.create_task_group() as tg:
        async with anyio.create_task_group() as first_process:
            first = JobService(store=store, client=client(), task_group=first_process)
            job = await first.run_local("bob", "files", "adding", work)
            second = JobService(store=store, client=client(), task_group=tg)
            assert await second.sweep() == 1  # it tries the job...
            polled = await second.wait("bob", job.interaction_id, 0.3, None)
            assert not polled.is_finished  # ...and leaves it to the process that runs it
            release.set()
            done = await second.wait("bob", job.interaction_id, 5, None)
            assert (done.status, done.output) == ("completed", "All done.")

            release = anyio.Event()
            cut = await first.run_local("bob", "files", "cut short", work)
            first_process.cancel_scope.cancel()  # the first process stops; its lease goes with it
        await second.sweep()
        failed = await second.wait("bob", cut.interaction_id, 5, None)
        assert failed.status == "failed" and "restarted or stopped" in (failed.error or "")
        tg.cancel_scope.cancel()

"""Job records: lifecycle, progress bookkeeping, output cap, retention; and agent ownership."""

from __future__ import annotations

import anyio
import pytest

from gemini_interactions_mcp.state import AgentTakenError, JobExistsError, JobRecord, Store

from .conftest import OUTPUT_CAP

pytestmark = pytest.mark.anyio


def job(interaction_id: str = "int_1", owner: str = "alice", created: float = 100.0) -> JobRecord:
    return JobRecord(
        interaction_id=interaction_id,
        owner=owner,
        kind="research",
        agent="deep-research-preview-04-2026",
        created=created,
        updated=created,
    )


async def test_lifecycle(store: Store) -> None:
    await store.create_job(job())
    with pytest.raises(JobExistsError):
        await store.create_job(job(owner="bob"))
    running = await store.append_progress("alice", "int_1", ["Planning", "Searching"])
    assert running is not None and [(n.seq, n.text) for n in running.progress] == [
        (1, "Planning"),
        (2, "Searching"),
    ]
    running = await store.append_progress("alice", "int_1", ["Reading"])
    assert running is not None and running.progress[-1].seq == 3
    assert not running.is_finished
    assert [j.interaction_id for j in await store.unfinished_jobs()] == ["int_1"]

    done = await store.finish_job(
        "alice",
        "int_1",
        status="completed",
        output="# Report",
        citations=[{"title": "A", "url": "https://a.example"}],
        usage={"total_tokens": 42},
    )
    assert done is not None and done.is_finished and done.finished is not None
    assert (done.status, done.output, done.usage) == ("completed", "# Report", {"total_tokens": 42})
    assert done.progress == running.progress  # untouched fields keep their values
    assert await store.get_job("alice", "int_1") == done
    assert await store.unfinished_jobs() == []


async def test_progress_seen_never_moves_back(store: Store) -> None:
    await store.create_job(job())
    await store.mark_progress_seen("alice", "int_1", 3)
    after = await store.mark_progress_seen("alice", "int_1", 1)
    assert after is not None and after.progress_seen == 3


async def test_jobs_of_others_are_invisible_and_untouchable(store: Store) -> None:
    await store.create_job(job())
    assert await store.get_job("bob", "int_1") is None
    assert await store.unfinished_jobs(owner="bob") == []
    assert await store.append_progress("bob", "int_1", ["x"]) is None
    assert await store.finish_job("bob", "int_1", status="cancelled") is None
    assert await store.update_job(job(owner="bob")) is None
    stored = await store.get_job("alice", "int_1")
    assert stored is not None and stored.progress == [] and not stored.is_finished


async def test_update_replaces_the_whole_record(store: Store) -> None:
    await store.create_job(job())
    replaced = job().model_copy(update={"error": "lost track", "label": "research", "updated": 150.0})
    assert await store.update_job(replaced) == replaced
    assert await store.get_job("alice", "int_1") == replaced


async def test_unfinished_jobs_oldest_first_for_everyone_an_owner_or_a_conversation(store: Store) -> None:
    for n in range(4):
        await store.create_job(
            job(f"int_{n}", created=float(4 - n)).model_copy(update={"conversation_id": f"c{n % 2}"})
        )
    await store.create_job(
        job("int_bob", owner="bob", created=10.0).model_copy(update={"conversation_id": "c0"})
    )
    await store.finish_job("alice", "int_0", status="completed")

    def ids(jobs: list[JobRecord]) -> list[str]:
        return [j.interaction_id for j in jobs]

    assert ids(await store.unfinished_jobs()) == ["int_3", "int_2", "int_1", "int_bob"]
    assert ids(await store.unfinished_jobs(owner="alice")) == ["int_3", "int_2", "int_1"]
    assert ids(await store.unfinished_jobs(owner="alice", conversation_id="c0")) == ["int_2"]
    assert ids(await store.unfinished_jobs(owner="alice", conversation_id="c1")) == ["int_3", "int_1"]
    assert ids(await store.unfinished_jobs(owner="bob", conversation_id="c0")) == ["int_bob"]
    assert ids(await store.unfinished_jobs(owner="alice", conversation_id="nope")) == []
    moved = await store.get_job("alice", "int_1")
    assert moved is not None
    await store.update_job(moved.model_copy(update={"conversation_id": "c0"}))
    assert ids(await store.unfinished_jobs(owner="alice", conversation_id="c0")) == ["int_2", "int_1"]


async def test_output_is_capped_on_every_write(store: Store) -> None:
    await store.create_job(job().model_copy(update={"output": "x" * (OUTPUT_CAP + 1)}))
    created = await store.get_job("alice", "int_1")
    assert created is not None and created.output_truncated and len(created.output or "") == OUTPUT_CAP
    await store.create_job(job("int_2"))
    finished = await store.finish_job("alice", "int_2", status="completed", output="y" * (OUTPUT_CAP * 3))
    assert finished is not None and finished.output == "y" * OUTPUT_CAP and finished.output_truncated
    exact = await store.finish_job("alice", "int_1", status="completed", output="z" * OUTPUT_CAP)
    assert exact is not None and exact.output == "z" * OUTPUT_CAP


async def test_prune_keeps_recent_unfinished_and_last_n_per_owner(store: Store) -> None:
    for name, owner in [("a1", "alice"), ("a2", "alice"), ("a3", "alice"), ("b1", "bob"), ("run", "alice")]:
        await store.create_job(job(name, owner=owner))
    for name, owner, at in [
        ("a1", "alice", 10.0),
        ("a2", "alice", 20.0),
        ("a3", "alice", 30.0),
        ("b1", "bob", 5.0),
    ]:
        finished = await store.finish_job(owner, name, status="completed")
        assert finished is not None
        await store.update_job(finished.model_copy(update={"finished": at}))

    assert await store.prune_jobs(finished_before=25.0, keep_last=1) == 2  # a1 and a2; bob keeps his only job
    assert await store.get_job("alice", "a1") is None and await store.get_job("alice", "a2") is None
    assert await store.get_job("alice", "a3") is not None
    assert await store.get_job("bob", "b1") is not None
    assert await store.prune_jobs(finished_before=1e12) == 2  # a3 and b1; the running job stays
    assert [j.interaction_id for j in await store.unfinished_jobs()] == ["run"]


async def test_agent_ownership(store: Store) -> None:
    await store.record_agent("alice", "my-helper")
    await store.record_agent("alice", "my-helper")  # idempotent
    await store.record_agent("alice", "other-helper")
    with pytest.raises(AgentTakenError):
        await store.record_agent("bob", "my-helper")
    assert await store.agent_owner("my-helper") == "alice"
    assert await store.agent_owner("unknown") is None
    assert await store.list_agents("alice") == ["my-helper", "other-helper"]
    assert await store.list_agents("bob") == []
    assert await store.forget_agent("my-helper")
    assert not await store.forget_agent("my-helper")
    await store.record_agent("bob", "my-helper")
    assert await store.agent_owner("my-helper") == "bob"


async def test_a_finished_job_is_announced_to_every_listener(store: Store) -> None:
    heard: list[str] = []
    listening = anyio.Event()

    async def listen() -> None:
        events = store.job_finished_events()
        listening.set()
        async for interaction_id in events:
            heard.append(interaction_id)
            return

    async with anyio.create_task_group() as tg:
        tg.start_soon(listen)
        await listening.wait()
        with anyio.fail_after(10):
            while not heard:  # a listener subscribes on its first step: announce until heard
                await store.publish_job_finished("int_done")
                await anyio.sleep(0.01)
    assert heard == ["int_done"]


async def test_a_job_finishes_once(store: Store) -> None:
    """The second of two racing ends (a stalled watcher, a cancel) changes nothing and gets None, so
    only one process records and announces the end."""
    await store.create_job(job())
    first = await store.finish_job("alice", "int_1", status="completed", output="# First")
    assert first is not None and first.output == "# First"
    assert await store.finish_job("alice", "int_1", status="failed", output="# Late", error="x") is None
    stored = await store.get_job("alice", "int_1")
    assert stored == first

    async def finish(n: int) -> None:
        if await store.finish_job("alice", "int_2", status="completed", output=f"# {n}") is not None:
            ends.append(n)

    ends: list[int] = []
    await store.create_job(job("int_2"))
    async with anyio.create_task_group() as tg:
        for n in range(8):
            tg.start_soon(finish, n)
    assert len(ends) == 1


async def test_progress_notes_by_position_are_stored_once(store: Store) -> None:
    """Two watchers replaying one event stream (one stalled past its lease) store each note once."""
    await store.create_job(job())
    await store.append_progress("alice", "int_1", ["Planning", "Searching"], after=0)
    await store.append_progress("alice", "int_1", ["Planning"], after=0)  # the stalled one, behind
    both = await store.append_progress("alice", "int_1", ["Searching", "Reading"], after=1)
    assert both is not None
    assert [(n.seq, n.text) for n in both.progress] == [(1, "Planning"), (2, "Searching"), (3, "Reading")]

"""Leases: the primitive on every backend, `hold_lease` on top of it, and mutual exclusion between two
processes sharing one SQLite file (what keeps two servers from both creating a billed turn)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.state import (
    ConversationRecord,
    LeaseBusyError,
    MemoryStore,
    SQLiteStore,
    Store,
    StoreUnavailableError,
    hold_lease,
    new_holder_id,
)
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio


async def test_what_the_body_raises_comes_out_as_itself_and_the_lease_is_released(store: Store) -> None:
    with pytest.raises(ValueError, match="the body's own"):
        async with hold_lease(store, "conv_9", "a", wait=1):
            raise ValueError("the body's own error")
    assert await store.acquire_lease("conv_9", "b", 30)


async def test_a_conversation_is_read_with_its_lease_only_once_the_lease_is_taken(store: Store) -> None:
    record = ConversationRecord(id="conv_r", owner="alice", created=1.0, updated=1.0)
    await store.create_conversation(record)
    read = await store.acquire_lease_and_read("k", "a", 30, owner="alice", conversation_id="conv_r")
    assert read == (True, record)
    assert await store.acquire_lease_and_read("k", "b", 30, owner="alice", conversation_id="conv_r") == (
        False,
        None,
    ), "someone else holds it: nothing is read"
    assert await store.acquire_lease_and_read("k", "a", 30, owner="bob", conversation_id="conv_r") == (
        True,
        None,
    )
    assert await store.release_lease("k", "a")


async def test_a_turn_gives_its_lease_back_with_its_head_only_when_the_head_moved(store: Store) -> None:
    record = ConversationRecord(id="conv_m", owner="alice", created=1.0, updated=1.0)
    await store.create_conversation(record)
    assert await store.acquire_lease("k", "a", 30)
    moved = record.model_copy(update={"head": "int_1"})
    lost = not await store.advance_conversation_and_release(
        "alice", "conv_m", "int_0", moved, lease=("k", "a")
    )
    assert lost and not await store.acquire_lease("k", "b", 30), "a turn that lost the race keeps its lease"
    assert await store.advance_conversation_and_release("alice", "conv_m", None, moved, lease=("k", "a"))
    assert await store.get_conversation("alice", "conv_m") == moved
    assert await store.acquire_lease("k", "b", 30), "given back with the head's move"


async def test_a_failed_release_does_not_undo_a_landed_turn() -> None:
    class Unreleasing(MemoryStore):
        async def release_lease(self, key: str, holder: str) -> bool:
            raise StoreUnavailableError("the store went away")

    store = Unreleasing()
    record = ConversationRecord(id="conv_u", owner="alice", created=1.0, updated=1.0)
    await store.create_conversation(record)
    moved = record.model_copy(update={"head": "int_1"})
    assert await store.advance_conversation_and_release("alice", "conv_u", None, moved, lease=("k", "a"))
    assert await store.get_conversation("alice", "conv_u") == moved


async def test_one_holder_at_a_time_and_only_the_holder_renews_or_releases(store: Store) -> None:
    assert await store.acquire_lease("conv_1", "a", 30)
    assert not await store.acquire_lease("conv_1", "b", 30)
    assert await store.acquire_lease("conv_1", "a", 30)  # the holder may take it again (extends it)
    assert await store.acquire_lease("conv_2", "b", 30)  # other keys are independent
    assert not await store.renew_lease("conv_1", "b", 30)
    assert await store.renew_lease("conv_1", "a", 30)
    assert not await store.release_lease("conv_1", "b")  # a stranger's release changes nothing
    assert not await store.acquire_lease("conv_1", "b", 30)
    assert await store.release_lease("conv_1", "a")
    assert not await store.release_lease("conv_1", "a")
    assert not await store.renew_lease("conv_1", "a", 30)
    assert await store.acquire_lease("conv_1", "b", 30)


async def test_an_expired_lease_is_free_and_cannot_be_renewed(store: Store) -> None:
    assert await store.acquire_lease("job_1", "dead-process", 0.05)

    async def taken_over() -> bool:
        return await store.acquire_lease("job_1", "survivor", 30)

    await async_wait_until(taken_over, what="the expired lease to be free")
    assert not await store.renew_lease("job_1", "dead-process", 30)
    assert not await store.release_lease("job_1", "dead-process")
    assert await store.release_lease("job_1", "survivor")


async def test_lease_left_says_when_a_lease_runs_out(store: Store) -> None:
    assert await store.lease_left("job_2") is None
    assert await store.acquire_lease("job_2", "a", 30)
    left = await store.lease_left("job_2")
    assert left is not None and 25 < left <= 30
    assert await store.renew_lease("job_2", "a", 60)
    renewed = await store.lease_left("job_2")
    assert renewed is not None and 55 < renewed <= 60
    assert await store.release_lease("job_2", "a")
    assert await store.lease_left("job_2") is None
    assert await store.acquire_lease("job_3", "gone", 0.05)

    async def ran_out() -> bool:
        return await store.lease_left("job_3") is None

    await async_wait_until(ran_out, what="the lease to run out")


async def test_hold_lease_waits_for_the_holder_then_takes_over(store: Store) -> None:
    order: list[str] = []
    first_in = anyio.Event()
    let_go = anyio.Event()

    async def first() -> None:
        async with hold_lease(store, "conv", "first", wait=1):
            order.append("first in")
            first_in.set()
            await let_go.wait()
            order.append("first out")

    async def second() -> None:
        await first_in.wait()
        async with hold_lease(store, "conv", "second", wait=10):
            order.append("second in")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        tg.start_soon(second)
        await first_in.wait()
        assert not await store.acquire_lease("conv", "third", 30)
        let_go.set()
    assert order == ["first in", "first out", "second in"]
    assert await store.acquire_lease("conv", "third", 30)  # released on the way out


async def test_hold_lease_gives_up_after_wait_with_a_clear_error(store: Store) -> None:
    assert await store.acquire_lease("conv", "other", 30)
    with pytest.raises(LeaseBusyError, match="busy in another server process"):
        async with hold_lease(store, "conv", "me", wait=0.1):
            pytest.fail("the body must not run without the lease")


async def test_a_held_lease_is_renewed_past_its_time_to_live(store: Store) -> None:
    ttl = 0.6
    async with hold_lease(store, "conv", "long-turn", wait=1, ttl=ttl) as lease:
        started = time.monotonic()
        while time.monotonic() - started < 3 * ttl:  # well past the first expiry
            assert not await store.acquire_lease("conv", "intruder", 30)
            await anyio.sleep(ttl / 6)
        assert not lease.lost.is_set()


async def test_a_lease_taken_away_is_reported_lost(store: Store) -> None:
    async with hold_lease(store, "conv", "me", wait=1, ttl=0.3) as lease:
        assert await store.release_lease("conv", "me")  # as if it had expired and been taken
        assert await store.acquire_lease("conv", "someone-else", 30)
        with anyio.fail_after(5):
            await lease.lost.wait()
    assert not await store.acquire_lease("conv", "me", 30)  # leaving did not free someone else's lease


class FlakyStore(MemoryStore):
    """A memory store whose renewals fail (as while Redis is away) as long as `away` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.away = False
        self.renewed = 0
        self.failed = 0

    async def renew_lease(self, key: str, holder: str, ttl: float) -> bool:
        if self.away:
            self.failed += 1
            raise StoreUnavailableError("The state store is unavailable (test).")
        self.renewed += 1
        return await super().renew_lease(key, holder, ttl)


async def test_a_failed_renewal_is_retried_soon_and_the_lease_kept() -> None:
    """Three renewals fail in a row; the store is back before the lease runs out, and the next try
    (soon, not a third of the time to live later, when the lease would be gone) keeps it."""
    store = FlakyStore()
    store.away = True
    async with hold_lease(store, "job", "watcher", wait=0, ttl=1.0) as lease:
        await async_wait_until(lambda: _counted(store.failed, 3), what="three failed renewals")
        store.away = False
        await async_wait_until(lambda: _counted(store.renewed, 1), what="a renewal once the store is back")
        assert not lease.lost.is_set()
        assert not await store.acquire_lease("job", "intruder", 30)


async def test_a_lease_the_store_could_not_renew_in_time_is_lost() -> None:
    store = FlakyStore()
    async with hold_lease(store, "job", "watcher", wait=0, ttl=0.5) as lease:
        store.away = True
        with anyio.fail_after(5):
            await lease.lost.wait()


async def _counted(count: int, times: int) -> bool:
    return count >= times


def test_holder_ids_differ() -> None:
    assert len({new_holder_id() for _ in range(100)}) == 100


def test_a_forked_child_draws_holder_ids_of_its_own() -> None:
    """The ids' random tag is drawn once per process: a fork (a worker process) must not go on from
    its parent's tag and count, or both would hand out the same ids."""
    parent = new_holder_id()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and leaves at once
        os.write(writing, new_holder_id().encode())
        os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    with os.fdopen(reading) as pipe:
        from_child = pipe.read()
    assert from_child.rsplit(":", 1)[0] != parent.rsplit(":", 1)[0]
    assert from_child != new_holder_id()


CONTENDER = textwrap.dedent(
    """
    import sys, time, anyio
    from pathlib import Path
    from gemini_interactions_mcp.state import SQLiteStore, hold_lease, new_holder_id

    state, counter, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])

    async def main():
        store = SQLiteStore(state)
        holder = new_holder_id()
        for _ in range(rounds):
            async with hold_lease(store, "conv_shared", holder, wait=60):
                value = int(counter.read_text())  # a read-modify-write that only the lease protects
                time.sleep(0.002)
                counter.write_text(str(value + 1))
        await store.close()

    anyio.run(main)
    """
)


def test_two_processes_on_one_file_never_hold_a_lease_together(tmp_path: Path) -> None:
    state, counter, rounds = tmp_path / "state.sqlite3", tmp_path / "counter", 25
    anyio.run(SQLiteStore(state).close)
    counter.write_text("0")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, str(state), str(counter), str(rounds)], stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()[-2000:]
    assert counter.read_text() == str(2 * rounds)  # no update lost: never two in the section at once


def test_a_lease_of_a_killed_process_frees_itself(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    script = textwrap.dedent(
        """
        import sys, anyio
        from pathlib import Path
        from gemini_interactions_mcp.state import SQLiteStore

        async def main():
            store = SQLiteStore(Path(sys.argv[1]))
            assert await store.acquire_lease("job_1", "doomed", 1.0)
            print("held", flush=True)
            await anyio.sleep_forever()

        anyio.run(main)
        """
    )
    doomed = subprocess.Popen([sys.executable, "-c", script, str(state)], stdout=subprocess.PIPE)
    try:
        assert doomed.stdout is not None and doomed.stdout.readline() == b"held\n"
        doomed.kill()
        doomed.wait(timeout=30)
    finally:
        doomed.kill()

    async def take_over() -> None:
        store = SQLiteStore(state)
        assert not await store.acquire_lease("job_1", "survivor", 30)  # still within the dead one's time

        async def free() -> bool:
            return await store.acquire_lease("job_1", "survivor", 30)

        await async_wait_until(free, within=10, what="the dead process's lease to expire")
        await store.close()

    anyio.run(take_over)


class SwallowingStore(MemoryStore):
    """A memory store whose renewal turns a cancellation into a store error, as redis-py can when the
    cancellation meets its command timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.renewing = anyio.Event()

    async def renew_lease(self, key: str, holder: str, ttl: float) -> bool:
        self.renewing.set()
        try:
            await anyio.sleep_forever()
        except BaseException:
            raise StoreUnavailableError("The state store is unavailable (timeout).") from None
        return False


async def test_leaving_a_lease_ends_its_renewals_even_when_a_cancellation_is_swallowed() -> None:
    store = SwallowingStore()
    with anyio.fail_after(5):
        async with hold_lease(store, "job", "watcher", wait=0, ttl=0.3):
            await store.renewing.wait()
    assert await store.acquire_lease("job", "next", 30), "the lease was released on the way out"

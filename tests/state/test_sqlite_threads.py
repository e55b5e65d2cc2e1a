"""Where the SQLite store's calls run: on the event loop's thread when they need not wait, else on the
store's worker thread, one at a time either way; and what never runs on the loop (waiting for another
connection's lock, a checkpoint's sync of the disk)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.state import ConversationRecord, SQLiteStore, StoreUnavailableError, sqlite_file
from gemini_interactions_mcp.state.sqlite import _take_lease
from tests.helpers.waiting import async_wait_until

pytestmark = pytest.mark.anyio


def conversation(n: int) -> ConversationRecord:
    return ConversationRecord(id=f"conv_{n}", owner="alice", created=1.0, updated=1.0)


def busy() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = 5  # SQLITE_BUSY, as SQLite raises it
    return error


async def test_a_call_runs_on_the_loop_thread_while_the_worker_is_idle(tmp_path: Path) -> None:
    """A hand-off to the worker thread costs more than a short call's SQL under load."""
    store = SQLiteStore(tmp_path / "state.sqlite3")
    ran_on = await store._run(lambda db: threading.current_thread())
    assert ran_on is threading.current_thread()
    await store.create_conversation(conversation(1))
    assert await store.get_conversation("alice", "conv_1") is not None
    await store.close()


async def test_a_lock_another_connection_holds_is_waited_for_on_the_worker_thread(tmp_path: Path) -> None:
    """Another server process holding the write lock never blocks the event loop: the call, finding the
    lock taken, goes to the worker thread and waits there; a call made meanwhile waits its turn behind
    it (one call at a time, in order), and both land once the lock is given back."""
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ran_on: list[threading.Thread] = []
    done: list[str] = []

    def write(db: sqlite3.Connection) -> None:
        ran_on.append(threading.current_thread())
        db.execute("INSERT INTO agents (agent_id, owner, created) VALUES ('helper', 'alice', 1)")

    async def writing() -> None:
        await store._run(write)
        done.append("write")

    async def reading() -> None:
        assert await store.agent_owner("helper") == "alice"
        done.append("read")

    async def handed_over() -> bool:
        return len(ran_on) == 2

    async def queued_behind() -> bool:
        return store._worker._queue.qsize() == 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(writing)
        await async_wait_until(handed_over, what="the call on the worker thread")
        assert ran_on == [threading.current_thread(), store._worker._thread]  # tried here, then there
        tg.start_soon(reading)
        await async_wait_until(queued_behind, what="the read queued for the worker thread")
        assert done == []
        other.execute("COMMIT")
    assert done == ["write", "read"]
    other.close()
    await store.close()


async def test_a_call_handed_over_after_it_wrote_is_not_run_twice(tmp_path: Path) -> None:
    """Only a call that changed nothing goes to the worker thread on SQLITE_BUSY: one that had written
    already is not repeated (its first writes would be made twice); it fails as a locked file does."""
    store = SQLiteStore(tmp_path / "state.sqlite3")
    runs: list[threading.Thread] = []

    def busy_first(db: sqlite3.Connection) -> str:
        runs.append(threading.current_thread())
        if len(runs) == 1:
            raise busy()
        return "done"

    assert await store._run(busy_first) == "done"
    assert runs == [threading.current_thread(), store._worker._thread]

    def busy_after_a_write(db: sqlite3.Connection) -> None:
        runs.append(threading.current_thread())
        _take_lease(db, "k", "a", 30)
        raise busy()

    runs.clear()
    with pytest.raises(StoreUnavailableError, match="locked"):
        await store._run(busy_after_a_write)
    assert runs == [threading.current_thread()]
    await store.close()


async def test_checkpoints_run_on_the_worker_thread_and_start_the_log_afresh_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection never checkpoints by itself (that would sync the disk within whichever commit
    fills the log, on the loop's thread too); the store checkpoints on its worker thread once enough
    rows changed, and writes the first page of the new log there, whose header SQLite syncs too."""
    monkeypatch.setattr(sqlite_file, "CHECKPOINT_AFTER_CHANGES", 3)
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    assert store._file.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    checkpointed_on: list[threading.Thread] = []
    checkpoint = store._file.checkpoint

    def watched() -> None:
        checkpointed_on.append(threading.current_thread())
        checkpoint()

    monkeypatch.setattr(store._file, "checkpoint", watched)
    for n in range(2):
        await store.create_conversation(conversation(n))
    assert checkpointed_on == []
    await store.create_conversation(conversation(2))
    await store._worker.run(lambda: None)  # queued behind the checkpoint
    assert checkpointed_on == [store._worker._thread]
    with sqlite3.connect(path) as other:
        _, logged, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (logged, copied) == (1, 1), "everything copied, and the log begun again with one page"
    assert [c.id for c in await store.list_conversations("alice")] == ["conv_0", "conv_1", "conv_2"]
    await store.close()


async def test_a_checkpoint_waits_for_no_one(tmp_path: Path) -> None:
    """A checkpoint that would have to wait (another connection holds the write lock the new log needs)
    leaves that to the next one: the worker thread, and the calls queued behind it, are not held up."""
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    await store.create_conversation(conversation(0))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    store._file.usable()  # as a call on the worker thread leaves it: waiting for locks (no call in flight)
    started = time.monotonic()
    store._file.checkpoint()
    assert time.monotonic() - started < sqlite_file.BUSY_TIMEOUT_SECONDS / 3
    other.execute("COMMIT")
    _, logged, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert logged == copied > 1, "copied, but the log not begun again"
    other.close()
    assert await store.get_conversation("alice", "conv_0") is not None
    await store.close()

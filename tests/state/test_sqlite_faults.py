"""The state file under stress: full disk, damage, read-only files and folders, deletion, immutability.

Each failure must reach the caller as a one-line StoreError that names the file and says what to do;
nothing of a failed call may be half-written; and the store must work again once the cause is gone.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from gemini_interactions_mcp.state import (
    ConversationRecord,
    JobRecord,
    SQLiteStore,
    StoreCorruptError,
    StoreFullError,
    StoreReadOnlyError,
    new_conversation_id,
    open_store,
)
from gemini_interactions_mcp.state.records import DailyUsage, Usage
from gemini_interactions_mcp.state.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from tests.helpers.unwritable import immutable, unwritable

pytestmark = pytest.mark.anyio


def conversation(name: str | None = None, settings_bytes: int = 0) -> ConversationRecord:
    return ConversationRecord(
        id=new_conversation_id(),
        owner="alice",
        name=name,
        settings={"system_instruction": "x" * settings_bytes} if settings_bytes else {},
        created=1.0,
        updated=1.0,
    )


def job(interaction_id: str) -> JobRecord:
    return JobRecord(interaction_id=interaction_id, owner="alice", kind="research", created=1.0, updated=1.0)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text
    return text


def cap_pages(store: SQLiteStore, extra_pages: int | None) -> None:
    """Simulate a full disk deterministically: SQLite answers "database or disk is full" (SQLITE_FULL)
    once the file would grow past `max_page_count`, exactly as it does on ENOSPC. None lifts the cap."""
    db = store._file.db  # the test reaches into the store: no operation is in flight meanwhile
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages + extra_pages if extra_pages is not None else 2**31 - 2}")


async def test_a_full_disk_is_one_clear_error_and_nothing_is_half_written(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    kept = conversation(name="kept")
    await store.create_conversation(kept)
    await store.create_job(job("int_1"))
    cap_pages(store, 2)

    with pytest.raises(StoreFullError) as full:
        for _ in range(50):
            await store.create_conversation(conversation(settings_bytes=3_000))
    message = one_line(full.value)
    assert str(path) in message and "free space" in message

    # A read-modify-write that cannot be stored leaves the job exactly as it was.
    with pytest.raises(StoreFullError):
        await store.finish_job("alice", "int_1", status="completed", output="y" * 200_000)
    still = await store.get_job("alice", "int_1")
    assert still is not None and not still.is_finished and still.output is None
    assert await store.get_conversation("alice", "kept") == kept  # reads keep working

    cap_pages(store, None)  # space freed: the same call now succeeds
    done = await store.finish_job("alice", "int_1", status="completed", output="y" * 200_000)
    assert done is not None and done.is_finished
    await store.close()


async def test_a_damaged_file_is_refused_at_open_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    for n in range(200):  # enough rows for several b-tree pages
        await store.create_conversation(conversation(name=f"c{n}", settings_bytes=200))
    await store.close()
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    for offset in range(3 * page_size, 4 * page_size, 7):  # scribble over one page in the middle
        data[offset] = 0xA5
    path.write_bytes(bytes(data))

    with pytest.raises(StoreCorruptError) as damaged:
        SQLiteStore(path)
    message = one_line(damaged.value)
    assert str(path) in message and "move it aside" in message


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"these are notes, not a database\n" * 200)
    with pytest.raises(StoreCorruptError, match="move it aside"):
        SQLiteStore(path)


async def test_a_read_only_state_file_at_start_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    await SQLiteStore(path).close()
    with unwritable(path), pytest.raises(StoreReadOnlyError) as refused:
        await open_store(str(path))
    message = one_line(refused.value)
    assert str(path) in message and "not writable" in message


async def test_a_read_only_folder_at_start_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    with unwritable(folder), pytest.raises(StoreReadOnlyError) as refused:
        await open_store(str(folder / "state.sqlite3"))
    message = one_line(refused.value)
    assert str(folder) in message and "not writable" in message


async def test_an_existing_file_in_a_read_only_folder_is_refused_too(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    await SQLiteStore(folder / "state.sqlite3").close()  # closed: no -wal / -shm files remain
    with unwritable(folder), pytest.raises(StoreReadOnlyError, match="not writable"):
        await open_store(str(folder / "state.sqlite3"))


@pytest.mark.parametrize("deleted", [("",), ("", "-wal", "-shm")], ids=["file", "file-wal-shm"])
async def test_a_deleted_file_is_recreated_from_the_open_copy(
    tmp_path: Path, deleted: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    before = conversation(name="before")
    await store.create_conversation(before)
    await store.create_job(job("int_1"))
    for suffix in deleted:
        os.unlink(f"{path}{suffix}")

    with caplog.at_level(logging.ERROR):
        after = conversation(name="after")
        await store.create_conversation(after)
    assert any("was deleted" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert path.exists()
    assert await store.get_conversation("alice", "before") == before

    other = SQLiteStore(path)  # another process opening the file now sees everything
    assert await other.get_conversation("alice", "before") == before
    assert await other.get_conversation("alice", "after") == after
    assert [j.interaction_id for j in await other.unfinished_jobs()] == ["int_1"]
    await other.create_job(job("int_2"))
    assert await store.get_job("alice", "int_2") is not None  # and both share one live file again
    await other.close()
    await store.close()


async def test_a_replaced_file_is_reopened(tmp_path: Path) -> None:
    """Another process rebuilt the file (or the user restored a copy): this one follows the path."""
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    await store.create_conversation(conversation(name="old"))
    restored = tmp_path / "restored.sqlite3"
    copy = SQLiteStore(restored)
    await copy.create_conversation(conversation(name="restored"))
    await copy.close()
    os.replace(restored, path)

    assert await store.get_conversation("alice", "restored") is not None
    assert await store.get_conversation("alice", "old") is None
    await store.close()


async def test_a_file_of_an_older_release_put_in_place_is_brought_forward(tmp_path: Path) -> None:
    """A backup restored while the server runs may be of an older schema: the store migrates the file it
    follows, as it does the one it starts with, and goes on counting usage in it."""
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    restored = tmp_path / "restored.sqlite3"
    with sqlite3.connect(restored) as db:
        for step in MIGRATIONS[:5]:
            for statement in step:
                db.execute(statement)
        old_day = DailyUsage(
            owner="alice", day="2026-12-06", model="m", interactions=2, usage=Usage(total_tokens=9)
        )
        db.execute(
            "INSERT INTO usage (owner, day, model, data) VALUES (?, ?, ?, ?)",
            (old_day.owner, old_day.day, old_day.model, old_day.model_dump_json()),
        )
        db.execute("PRAGMA user_version = 5")
    db.close()
    os.replace(restored, path)

    await store.add_usage("alice", "2026-12-06", "m", {"total_tokens": 1})
    (day,) = await store.daily_usage("alice", since="2026-12-06")
    assert (day.interactions, day.usage.total_tokens) == (3, 10)
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()


IMMUTABLE_WHILE_RUNNING = textwrap.dedent(
    """
    import anyio, subprocess, sys
    from pathlib import Path
    from gemini_interactions_mcp.state import ConversationRecord, SQLiteStore, StoreReadOnlyError

    path = Path(sys.argv[1])
    def record(name):
        return ConversationRecord(id="conv_" + name, owner="a", name=name, created=1.0, updated=1.0)

    async def main():
        store = SQLiteStore(path)
        for n in range(20):
            await store.create_conversation(record(f"before{n}"))
        files = [str(path) + suffix for suffix in ("", "-wal", "-shm")]
        subprocess.run(["chattr", "+i", *files], check=True)
        try:
            for attempt in (store.get_conversation("a", "before1"), store.create_conversation(record("x"))):
                try:
                    await attempt
                except StoreReadOnlyError as exc:
                    print("refused:", exc, flush=True)
        finally:
            subprocess.run(["chattr", "-i", *files], check=True)
        await store.create_conversation(record("after"))
        print("recovered:", (await store.get_conversation("a", "after")).name, flush=True)
        await store.close()

    anyio.run(main)
    """
)


def test_state_files_made_immutable_while_open_fail_calls_cleanly_then_recover(tmp_path: Path) -> None:
    """`chattr +i` on the open files used to kill the process with SIGBUS (the mapped -shm); now each
    call fails with a clear error and the store works again once the files are writable. It runs in a
    child process, so the old behaviour fails the test rather than killing the test run."""
    path = tmp_path / "state.sqlite3"
    probe = tmp_path / "probe"
    probe.touch()
    with immutable(probe):  # skips, with the reason, where chattr is unavailable
        pass
    done = subprocess.run(
        [sys.executable, "-c", IMMUTABLE_WHILE_RUNNING, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert all(line.startswith("refused: ") and "not writable" in line for line in lines[:2])
    assert lines[2] == "recovered: after"


async def test_the_hourly_prune_survives_an_unwritable_state_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The prune loop runs in the server's task group: an error escaping it would end the server."""
    from gemini_interactions_mcp.services.media import MediaLibrary
    from gemini_interactions_mcp.wiring import prune_periodically

    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    await store.create_conversation(conversation())
    with immutable(path, Path(f"{path}-wal"), Path(f"{path}-shm")), caplog.at_level(logging.WARNING):
        with anyio.move_on_after(1):
            media = MediaLibrary(store, output_dir=tmp_path / "media", allowed_dirs=[], show_paths=True)
            await prune_periodically(store, media, retention_days=1)
    assert any("pruning finished jobs skipped" in r.getMessage() for r in caplog.records)
    assert any("pruning saved media skipped" in r.getMessage() for r in caplog.records)
    await store.close()

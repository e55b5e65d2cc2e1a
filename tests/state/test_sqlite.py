"""What only the SQLite store promises: persistence, cross-connection atomicity, schema versions."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from gemini_interactions_mcp.state import (
    SCHEMA_VERSION,
    ConversationRecord,
    DailyUsage,
    JobRecord,
    MemoryStore,
    NameTakenError,
    SchemaVersionError,
    SQLiteStore,
    Transcript,
    TranscriptTurn,
    Usage,
    UsageCounts,
    UsageEntry,
    default_state_path,
    new_conversation_id,
    open_store,
    user_data_dir,
)
from gemini_interactions_mcp.state import sqlite as sqlite_store
from gemini_interactions_mcp.state.records import USAGE_COUNTERS
from gemini_interactions_mcp.state.sqlite_schema import MIGRATIONS

pytestmark = pytest.mark.anyio


def conversation() -> ConversationRecord:
    return ConversationRecord(id=new_conversation_id(), owner="alice", name="kept", created=1.0, updated=1.0)


async def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = SQLiteStore(path)
    record = conversation()
    await first.create_conversation(record)
    await first.create_job(
        JobRecord(interaction_id="int_1", owner="alice", kind="model", created=1.0, updated=1.0)
    )
    await first.record_agent("alice", "helper")
    await first.close()

    second = SQLiteStore(path)
    assert await second.get_conversation("alice", "kept") == record
    assert [j.interaction_id for j in await second.unfinished_jobs()] == ["int_1"]
    assert await second.agent_owner("helper") == "alice"
    await second.close()


async def test_two_open_stores_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    a, b = SQLiteStore(path), SQLiteStore(path)
    record = conversation()
    await a.create_conversation(record)
    assert await b.advance_conversation("alice", record.id, None, record.model_copy(update={"head": "int_b"}))
    assert not await a.advance_conversation(
        "alice", record.id, None, record.model_copy(update={"head": "int_a"})
    )
    stored = await a.get_conversation("alice", record.id)
    assert stored is not None and stored.head == "int_b"
    await a.close()
    await b.close()


def test_cas_race_between_threads_with_their_own_connections(tmp_path: Path) -> None:
    """Separate connections in separate threads (as separate processes would be): exactly one wins."""
    path = tmp_path / "state.sqlite3"
    record = conversation()

    async def setup() -> None:
        store = SQLiteStore(path)
        await store.create_conversation(record)
        await store.close()

    anyio.run(setup)
    stores = [SQLiteStore(path) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    results: list[bool] = []

    def contender(n: int) -> None:
        async def attempt() -> None:
            barrier.wait()
            update = record.model_copy(update={"head": f"int_{n}"})
            results.append(await stores[n].advance_conversation("alice", record.id, None, update))
            await stores[n].close()

        anyio.run(attempt)

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * (len(stores) - 1) + [True]


async def test_a_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    await SQLiteStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError, match=rf"schema version {SCHEMA_VERSION + 1}.*up to version"):
        SQLiteStore(path)


async def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    await SQLiteStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_open_store_specs(tmp_path: Path) -> None:
    memory = await open_store("memory")
    assert isinstance(memory, MemoryStore)
    nested = tmp_path / "a" / "b" / "state.sqlite3"
    store = await open_store(str(nested))
    assert isinstance(store, SQLiteStore) and nested.exists()
    await store.close()


async def test_open_store_default_lives_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr("sys.platform", "linux")
    assert default_state_path() == tmp_path / "gemini-interactions-mcp" / "state.sqlite3"
    store = await open_store(None)
    assert isinstance(store, SQLiteStore) and store.path == default_state_path()
    await store.close()


def test_user_data_dir_per_platform() -> None:
    home = Path("/home/u")
    assert user_data_dir(platform="linux", env={}, home=home) == home / ".local/share"
    assert user_data_dir(platform="linux", env={"XDG_DATA_HOME": "/x"}, home=home) == Path("/x")
    assert user_data_dir(platform="linux", env={"XDG_DATA_HOME": "rel"}, home=home) == home / ".local/share"
    assert user_data_dir(platform="darwin", env={}, home=home) == home / "Library/Application Support"
    assert user_data_dir(platform="win32", env={"LOCALAPPDATA": "C:/L"}, home=home) == Path("C:/L")
    assert user_data_dir(platform="win32", env={}, home=home) == home / "AppData/Local"


BEFORE_CONVERSATION_COLUMN = 3


async def test_an_older_file_is_migrated_and_keeps_its_running_jobs(tmp_path: Path) -> None:
    """Files written by earlier releases gain the conversation column (filled in for running jobs)
    and the leases table, in place."""
    path = tmp_path / "state.sqlite3"
    running = JobRecord(
        interaction_id="int_run",
        owner="alice",
        kind="research",
        conversation_id="conv_a",
        created=1.0,
        updated=1.0,
    )
    with sqlite3.connect(path) as db:
        for step in MIGRATIONS[:BEFORE_CONVERSATION_COLUMN]:
            for statement in step:
                db.execute(statement)
        db.execute(
            "INSERT INTO jobs (interaction_id, owner, created, finished, data) VALUES (?, ?, ?, ?, ?)",
            (running.interaction_id, running.owner, running.created, None, running.model_dump_json()),
        )
        db.execute(f"PRAGMA user_version = {BEFORE_CONVERSATION_COLUMN}")
    db.close()

    store = SQLiteStore(path)
    assert await store.unfinished_jobs(owner="alice", conversation_id="conv_a") == [running]
    assert await store.acquire_lease("conv_a", "me", 30)
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    db.close()


async def test_a_conversation_of_an_older_release_reads_and_goes_on(tmp_path: Path) -> None:
    """A row written by an earlier release (its local copy among the other fields of its JSON) reads as
    those turns; its next turn stores the copy last, which this release reads back."""
    path = tmp_path / "state.sqlite3"
    await SQLiteStore(path).close()  # a file of this release, then a row as the older one wrote it
    record = conversation()
    data = json.loads(record.model_dump_json(exclude={"id", "owner", "name", "head", "updated"}))
    data["transcript"] = [{"prompt": "hi", "answer": "yo", "files": ["a.pdf"]}]
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO conversations (id, owner, name, head, updated, data) VALUES (?, ?, ?, ?, ?, ?)",
            (record.id, record.owner, record.name, "int_1", record.updated, json.dumps(data)),
        )
    db.close()
    store = SQLiteStore(path)
    old = await store.get_conversation("alice", record.id)
    assert old is not None and old.transcript.turns() == [
        TranscriptTurn(prompt="hi", answer="yo", files=["a.pdf"])
    ]
    copy = old.transcript.plus(TranscriptTurn(prompt="and?", answer="so"), budget=1_000)
    moved = old.model_copy(update={"head": "int_2", "transcript": copy})
    assert await store.advance_conversation("alice", record.id, "int_1", moved)
    again = await store.get_conversation("alice", record.id)
    assert again is not None and [t.prompt for t in again.transcript.turns()] == ["hi", "and?"]
    await store.close()


async def test_a_turn_begins_and_ends_with_one_hop_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each store call costs a round of the file's locks, and a hand-off each way when it goes to the
    store's thread (about 80 µs of CPU under load): the lease and the read a turn begins with go
    together, and so do its head's move and the release."""
    store = SQLiteStore(tmp_path / "state.sqlite3")
    record = conversation()
    await store.create_conversation(record)
    hops: list[object] = []
    run = store._worker.run

    async def counted(work: Any, **where: Any) -> Any:
        hops.append(work)
        return await run(work, **where)

    monkeypatch.setattr(store._worker, "run", counted)
    assert await store.acquire_lease_and_read("k", "a", 30, owner="alice", conversation_id=record.id) == (
        True,
        record,
    )
    assert len(hops) == 1
    moved = record.model_copy(update={"head": "int_1"})
    assert await store.advance_conversation_and_release("alice", record.id, None, moved, lease=("k", "a"))
    assert len(hops) == 2
    assert await store.acquire_lease("k", "b", 30)
    await store.close()


async def test_a_long_conversation_keeps_the_size_of_its_row_from_turn_to_turn(tmp_path: Path) -> None:
    """A row in overflow pages that changes size is written to new pages at each turn, the old ones
    freed; one that keeps its size is overwritten in place. So a long conversation's JSON and head are
    padded to a multiple of a fixed size, in bytes (the prompts here are not all ASCII), and read back
    exactly as they were; a short one, which fits its page, is stored as it is."""
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    long_turns = [
        TranscriptTurn(prompt=f"question {n}, à propos", answer="An answer. " * 40) for n in range(15)
    ]
    record = conversation().model_copy(update={"head": "int_0000", "transcript": Transcript.of(long_turns)})
    short = ConversationRecord(
        id=new_conversation_id(), owner="alice", head="int_1", created=1.0, updated=1.0
    )
    await store.create_conversation(record)
    await store.create_conversation(short)
    sizes: list[int] = []
    current = record
    for n in range(1, 4):
        moved = current.model_copy(
            update={
                "head": f"int_{n:04d}",
                "turns": n,
                "transcript": current.transcript.plus(
                    TranscriptTurn(prompt="more?", answer="ok"), budget=10**6
                ),
            }
        )
        assert await store.advance_conversation("alice", record.id, current.head, moved)
        assert await store.get_conversation("alice", record.id) == moved
        with sqlite3.connect(path) as db:
            (size,) = db.execute(
                "SELECT length(CAST(data AS BLOB)) + length(head) FROM conversations WHERE id = ?",
                (record.id,),
            ).fetchone()
            (stored,) = db.execute("SELECT data FROM conversations WHERE id = ?", (short.id,)).fetchone()
        sizes.append(size)
        current = moved
    assert all(size % sqlite_store._PAD_STEP == 0 for size in sizes), sizes
    assert not stored.endswith(" ") and await store.get_conversation("alice", short.id) == short
    await store.close()


@pytest.mark.parametrize("gives_up_the_transaction", [False, True])
async def test_a_turn_lands_when_the_release_in_its_transaction_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gives_up_the_transaction: bool
) -> None:
    """The head's move and the release share one transaction. A failed release keeps the turn (the
    lease runs out by itself), also when SQLite rolled the whole transaction back with it (as it does
    on a full disk): then the turn is written on its own, with its usage."""
    store = SQLiteStore(tmp_path / "state.sqlite3")
    record = conversation()
    await store.create_conversation(record)
    assert await store.acquire_lease("k", "a", 30)

    def failing_release(db: sqlite3.Connection, key: str, holder: str) -> bool:
        if gives_up_the_transaction:
            db.execute("ROLLBACK")
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite_store, "_drop_lease", failing_release)
    moved = record.model_copy(update={"head": "int_1", "turns": 1})
    usage = UsageEntry(day="2026-12-05", model="gemini-3.5-flash", usage={"total_tokens": 7})
    assert await store.advance_conversation_and_release(
        "alice", record.id, None, moved, usage=usage, lease=("k", "a")
    )
    assert await store.get_conversation("alice", record.id) == moved
    (day,) = await store.daily_usage("alice", since="2026-12-05")
    assert (day.interactions, day.usage.total_tokens) == (1, 7)
    assert not await store.acquire_lease("k", "b", 30), "not given back: it runs out by itself"
    await store.close()


BEFORE_USAGE_COLUMNS = 5


async def test_a_version_5_file_keeps_its_usage_leases_and_names_exactly(tmp_path: Path) -> None:
    """Version 6 moves the daily usage from JSON rows into counter columns and rebuilds the lease table
    and the name index: every total comes through to the last bit of its floats and goes on adding up
    as before, a lease taken before the upgrade is still held, and names still clash."""
    path = tmp_path / "state.sqlite3"
    days = [
        DailyUsage(
            owner="alice",
            day="2026-12-04",
            model="gemini-3.5-flash",
            interactions=3,
            usage=Usage(input_tokens=12, total_tokens=40, cost_usd=0.1 + 0.2, unpriced=1),
        ),
        DailyUsage(
            owner="alice",
            day="2026-12-05",
            model="deep-research-preview-04-2026",
            interactions=1,
            usage=Usage(search_queries=7, cached_tokens=5, tool_use_tokens=3, cost_usd=1 / 3),
        ),
        DailyUsage(owner="bob", day="2026-12-05", model="gemini-3.5-flash", interactions=2),
    ]
    named = conversation()
    with sqlite3.connect(path) as db:
        for step in MIGRATIONS[:BEFORE_USAGE_COLUMNS]:
            for statement in step:
                db.execute(statement)
        for day in days:
            db.execute(
                "INSERT INTO usage (owner, day, model, data) VALUES (?, ?, ?, ?)",
                (day.owner, day.day, day.model, day.model_dump_json()),
            )
        db.execute("INSERT INTO leases (key, holder, expires) VALUES ('k', 'a', ?)", (time.time() + 60,))
        db.execute(
            "INSERT INTO conversations (id, owner, name, head, updated, data) VALUES (?, ?, ?, ?, ?, ?)",
            (
                named.id,
                named.owner,
                named.name,
                named.head,
                named.updated,
                sqlite_store._conversation_json(named),
            ),
        )
        db.execute(f"PRAGMA user_version = {BEFORE_USAGE_COLUMNS}")
    db.close()

    store = SQLiteStore(path)
    assert await store.daily_usage("alice", since="2026-12-01") == days[:2]
    assert await store.daily_usage("bob", since="2026-12-01") == days[2:]
    assert not await store.acquire_lease("k", "b", 30) and await store.renew_lease("k", "a", 30)
    assert await store.get_conversation("alice", "kept") == named
    with pytest.raises(NameTakenError):
        await store.create_conversation(conversation())
    added: list[UsageCounts] = [{"input_tokens": n, "cost_usd": n / 7, "unpriced": n % 2} for n in range(50)]
    for counts in added:
        await store.add_usage("alice", "2026-12-04", "gemini-3.5-flash", counts)
    expected = days[0].usage
    for counts in added:
        expected = expected.plus(counts)
    (today, _) = await store.daily_usage("alice", since="2026-12-04")
    assert (today.interactions, today.usage) == (3 + len(added), expected)
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        columns = [row[1] for row in db.execute("PRAGMA table_info(usage_counts)")]
    db.close()
    assert columns == ["owner", "day", "model", "interactions", *USAGE_COUNTERS]


def _count_as_version_5_did(
    db: sqlite3.Connection, owner: str, day: str, model: str, usage: UsageCounts
) -> None:
    """A turn's usage counted by a server of the release before version 6, statement for statement."""
    db.execute("BEGIN IMMEDIATE")
    row = db.execute(
        "SELECT data FROM usage WHERE owner = ? AND day = ? AND model = ?", (owner, day, model)
    ).fetchone()
    current = (
        DailyUsage(owner=owner, day=day, model=model)
        if row is None
        else DailyUsage.model_validate_json(row[0])
    )
    added = current.model_copy(
        update={"interactions": current.interactions + 1, "usage": current.usage.plus(usage)}
    )
    db.execute(
        "INSERT OR REPLACE INTO usage (owner, day, model, data) VALUES (?, ?, ?, ?)",
        (owner, day, model, added.model_dump_json()),
    )
    db.execute("COMMIT")


async def test_a_server_of_the_previous_release_still_running_on_the_file_goes_on_counting(
    tmp_path: Path,
) -> None:
    """Two IDEs share the default file; one restarts on this release (which migrates the file) while the
    other still runs the release before version 6. That one's turns read and write `usage` as JSON
    rows: they must go on working, and both servers' counts must add up in one total."""
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    old = sqlite3.connect(path, isolation_level=None)
    turn: UsageCounts = {"input_tokens": 3, "total_tokens": 10, "cost_usd": 0.25, "unpriced": 1}
    for n in range(3):
        _count_as_version_5_did(old, "alice", "2026-12-06", "gemini-3.5-flash", turn)
        await store.add_usage("alice", "2026-12-06", "gemini-3.5-flash", {**turn, "search_queries": n})
    _count_as_version_5_did(old, "alice", "2026-12-07", "gemini-3.1-pro-preview", turn)
    seen_by_old = [
        DailyUsage.model_validate_json(data)
        for (data,) in old.execute(
            "SELECT data FROM usage WHERE owner = ? AND day >= ? ORDER BY day, model", ("alice", "2026-12-01")
        )
    ]
    old.close()
    assert await store.daily_usage("alice", since="2026-12-01") == seen_by_old
    first, second = seen_by_old
    assert (first.interactions, second.interactions) == (6, 1)
    assert first.usage == Usage(input_tokens=18, total_tokens=60, search_queries=3, cost_usd=1.5, unpriced=6)
    await store.close()

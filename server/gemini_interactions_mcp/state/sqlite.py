"""The default store: one SQLite file, safe to share between server processes.

Operations of one process run in order on one connection: on the event loop's thread when they need
not wait (no lock another connection holds, no damaged or replaced file to deal with, no checkpoint's
sync of the disk), else on the store's own worker thread (see `worker.py` for why both, and why not a
thread pool). WAL lets readers proceed while a
writer commits; read-modify-write operations take the write lock up front (`BEGIN IMMEDIATE`) and the
turn compare-and-set is a single conditional UPDATE, so both stay atomic when several processes share
the file. Conversations keep the columns that concurrent writers change independently (name, head,
updated) outside the JSON body, so a rename and a turn never undo each other. What can go wrong with
the file itself (full disk, damage, read-only, deleted or made immutable while open) is handled in
`sqlite_file.py`; every SQLite failure reaches the caller as a one-line `StoreError`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal, TypeVar

from gemini_interactions_mcp.state.base import DEFAULT_MAX_OUTPUT_CHARS, JobChange, Store, prunable
from gemini_interactions_mcp.state.errors import (
    AgentTakenError,
    JobExistsError,
    NameTakenError,
    StoreUnavailableError,
)
from gemini_interactions_mcp.state.records import (
    USAGE_COUNTERS,
    ConversationRecord,
    Counted,
    DailyUsage,
    JobRecord,
    ResourceKind,
    ResourceRecord,
    UsageCounts,
    UsageEntry,
    counted,
)
from gemini_interactions_mcp.state.sqlite_file import StateFile, locked
from gemini_interactions_mcp.state.sqlite_schema import migrate
from gemini_interactions_mcp.state.worker import HandOver, SerialWorker

T = TypeVar("T")
Row = tuple[Any, ...]

_CONVERSATION_COLUMNS = "id, owner, name, head, updated, data"
_CONVERSATION_OUTSIDE_JSON = frozenset({"id", "owner", "name", "head", "updated"})


def _conversation(row: Row) -> ConversationRecord:
    conversation_id, owner, name, head, updated, data = row
    return ConversationRecord.from_stored(
        data.rstrip(" "), id=conversation_id, owner=owner, name=name, head=head, updated=updated
    )


def _conversation_json(record: ConversationRecord) -> str:
    return _padded(record.checked().stored_json(exclude=_CONVERSATION_OUTSIDE_JSON), record.head)


_PADDED_FROM = 4_096
"""Bytes of a conversation's JSON and head from which its row no longer fits in its b-tree page: the rest
goes to overflow pages (4 KiB pages, SQLite's default)."""
_PAD_STEP = 2_048


def _padded(data: str, head: str | None) -> str:
    """A long conversation's JSON with spaces after it (JSON ignores them), so that its JSON and head come
    to a multiple of _PAD_STEP bytes: the size of its row then rarely changes from one turn to the next.

    A row that spills into overflow pages and changes size is rewritten into new pages, its old ones
    freed: each turn of a conversation with a full local copy (12,000 characters) wrote 12 pages to
    the log instead of 8, about 25 µs more CPU. A row of the same size is overwritten in place (SQLite
    3.23 and later). The other columns a turn changes keep their size (`updated` is a float), but for
    the head, which is counted in. Earlier releases read the padded JSON as before (`json.loads` and
    pydantic skip the spaces).
    """
    size = (len(data) if data.isascii() else len(data.encode())) + (0 if head is None else len(head))
    if size < _PADDED_FROM:
        return data
    return data + " " * (-size % _PAD_STEP)


def _job(row: Row) -> JobRecord:
    return JobRecord.model_validate_json(row[0])


def _resource(row: Row) -> ResourceRecord:
    owner, kind, resource_id, created, expires, data = row
    return ResourceRecord.model_validate(
        {
            "owner": owner,
            "kind": kind,
            "id": resource_id,
            "created": created,
            "expires": expires,
            "data": json.loads(data),
        }
    )


_CONVERSATION_BY = tuple(
    f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE {column} = ? AND owner = ?"
    for column in ("id", "name")
)


def _conversation_row(db: sqlite3.Connection, owner: str, key: str) -> Row | None:
    """The conversation `key` names (its id, or else its name) among the owner's. By id first: that is
    the lookup of every continued turn, and alone it costs about 2.5 µs less than one query for both
    (an OR over two indexes, then a sort)."""
    for query in _CONVERSATION_BY:
        row: Row | None = db.execute(query, (key, owner)).fetchone()
        if row is not None:
            return row
    return None


def _take_lease(db: sqlite3.Connection, key: str, holder: str, ttl: float) -> bool:
    now = time.time()
    cursor = db.execute(
        "INSERT INTO leases (key, holder, expires) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires = excluded.expires "
        "WHERE leases.expires <= ? OR leases.holder = excluded.holder",
        (key, holder, now + ttl, now),
    )
    return cursor.rowcount == 1


def _drop_lease(db: sqlite3.Connection, key: str, holder: str) -> bool:
    cursor = db.execute(
        "DELETE FROM leases WHERE key = ? AND holder = ? AND expires > ?", (key, holder, time.time())
    )
    return cursor.rowcount == 1


def _name_clash(exc: sqlite3.IntegrityError) -> bool:
    return "conversations.name" in str(exc)


_COUNT_USAGE = (
    f"INSERT INTO usage_counts (owner, day, model, interactions, {', '.join(USAGE_COUNTERS)}) "
    f"VALUES (?, ?, ?, 1{', ?' * len(USAGE_COUNTERS)}) "
    "ON CONFLICT (owner, day, model) DO UPDATE SET interactions = interactions + 1, "
    + ", ".join(f"{name} = {name} + excluded.{name}" for name in USAGE_COUNTERS)
)
_USAGE_COLUMNS = f"day, model, interactions, {', '.join(USAGE_COUNTERS)}"


def _count_usage(db: sqlite3.Connection, owner: str, usage: Counted) -> None:
    """Add one interaction to its daily row in one statement (SQLite does the sums, in the same 64-bit
    integers and doubles as Python), within the caller's transaction if there is one."""
    day, model, counters = usage
    db.execute(_COUNT_USAGE, (owner, day, model, *counters))


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that holds the database write lock from its first statement.

    SQLite may already have rolled back on its own (a full disk does that), so ROLLBACK is sent only
    while a transaction is still open: a failed ROLLBACK must not hide the error that caused it.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SQLiteStore(Store):
    """A store in one SQLite file. The constructor blocks (it opens, checks and migrates the file): call
    it from a worker thread in async code, as `open_store` does."""

    def __init__(
        self, path: Path, *, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS, show_location: bool = True
    ) -> None:
        super().__init__(max_output_chars=max_output_chars, show_location=show_location)
        self.path = path
        self._file = StateFile(path, prepare=migrate)
        self._worker = SerialWorker(f"state-{path.name}")

    async def _run(self, work: Callable[[sqlite3.Connection], T], *, here: bool = True) -> T:
        """`work` on the store's connection: on this thread if it can be done without waiting (`_here`),
        else on the worker thread. `here=False` keeps a call that may be long (a prune) off the loop."""
        return await self._worker.run(
            lambda: self._guarded(lambda: work(self._file.usable())),
            here=(lambda: self._guarded(lambda: self._here(work))) if here else None,
        )

    def _here(self, work: Callable[[sqlite3.Connection], T]) -> T | Literal[HandOver.TO_THREAD]:
        """`work` on this thread with a connection that does not wait for locks: a lock held by another
        connection (another server process) makes SQLite answer SQLITE_BUSY at once, and the call, having
        written nothing, goes to the worker thread, which waits for it."""
        db = self._file.ready()
        if db is None:
            return HandOver.TO_THREAD
        changes = db.total_changes
        try:
            return work(db)
        except sqlite3.OperationalError as exc:
            if not locked(exc) or db.total_changes != changes:
                raise
            if db.in_transaction:
                db.execute("ROLLBACK")
            return HandOver.TO_THREAD

    def _guarded(self, work: Callable[[], T]) -> T:
        """`work()` with its SQLite failures told as store errors; a checkpoint queued when one is due."""
        try:
            try:
                result = work()
            except sqlite3.IntegrityError:
                raise  # a constraint the caller translates (a taken name, a known id)
            except sqlite3.Error as exc:
                raise self._file.explain(exc) from None
        except StoreUnavailableError as exc:
            raise self._told(exc) from None
        if self._file.checkpoint_due():
            self._worker.post(self._file.checkpoint)
        return result

    # -- conversations -----------------------------------------------------------------------------

    async def create_conversation(
        self, record: ConversationRecord, *, usage: UsageEntry | None = None
    ) -> None:
        data = _conversation_json(record)
        adding = None if usage is None else counted(usage.day, usage.model, usage.usage)

        def insert(db: sqlite3.Connection) -> None:
            try:
                db.execute(
                    f"INSERT INTO conversations ({_CONVERSATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (record.id, record.owner, record.name, record.head, record.updated, data),
                )
            except sqlite3.IntegrityError as exc:
                if _name_clash(exc) and record.name is not None:
                    raise NameTakenError(record.owner, record.name) from None
                raise ValueError(f"conversation id {record.id!r} already exists") from None

        def work(db: sqlite3.Connection) -> None:
            if adding is None:
                insert(db)
                return
            with _transaction(db):
                insert(db)
                _count_usage(db, record.owner, adding)

        await self._run(work)

    async def get_conversation(self, owner: str, key: str) -> ConversationRecord | None:
        row = await self._run(lambda db: _conversation_row(db, owner, key))
        return None if row is None else _conversation(row)

    async def list_conversations(
        self, owner: str, *, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        def work(db: sqlite3.Connection) -> list[Row]:
            return db.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE owner = ? "
                "ORDER BY updated DESC, id LIMIT ? OFFSET ?",
                (owner, limit, offset),
            ).fetchall()

        return [_conversation(row) for row in await self._run(work)]

    async def advance_conversation(
        self,
        owner: str,
        conversation_id: str,
        expected_head: str | None,
        updated: ConversationRecord,
        *,
        usage: UsageEntry | None = None,
    ) -> bool:
        advance = self._advancing(owner, conversation_id, expected_head, updated, usage)

        def work(db: sqlite3.Connection) -> bool:
            if usage is None:
                return advance(db)
            with _transaction(db):
                return advance(db)

        return await self._run(work)

    async def advance_conversation_and_release(
        self,
        owner: str,
        conversation_id: str,
        expected_head: str | None,
        updated: ConversationRecord,
        *,
        usage: UsageEntry | None = None,
        lease: tuple[str, str],
    ) -> bool:
        advance = self._advancing(owner, conversation_id, expected_head, updated, usage)

        def work(db: sqlite3.Connection) -> bool:
            """The head's move and the release in one transaction: one commit (one round of WAL locks and
            writes) where two took two. A failed release does not undo the turn: an unreleased lease runs
            out by itself, and if SQLite gave up the whole transaction with it, the turn is written alone."""
            with _transaction(db):
                moved = advance(db)
                if moved:
                    with suppress(sqlite3.Error):
                        _drop_lease(db, *lease)
                    if not db.in_transaction:  # rolled back with the failed release: begin again
                        db.execute("BEGIN IMMEDIATE")
                        moved = advance(db)
            return moved

        return await self._run(work)

    def _advancing(
        self,
        owner: str,
        conversation_id: str,
        expected_head: str | None,
        updated: ConversationRecord,
        usage: UsageEntry | None,
    ) -> Callable[[sqlite3.Connection], bool]:
        """The statements of `advance_conversation` (run on the store's thread, inside a write transaction
        whenever `usage` is counted too)."""
        data = _conversation_json(updated)
        adding = None if usage is None else counted(usage.day, usage.model, usage.usage)

        def advance(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE conversations SET head = ?, updated = ?, data = ? "
                "WHERE id = ? AND owner = ? AND head IS ?",
                (updated.head, updated.updated, data, conversation_id, owner, expected_head),
            )
            moved = cursor.rowcount == 1
            if moved and adding is not None:
                _count_usage(db, owner, adding)
            return moved

        return advance

    async def rename_conversation(
        self, owner: str, conversation_id: str, name: str | None
    ) -> ConversationRecord | None:
        def work(db: sqlite3.Connection) -> Row | None:
            with _transaction(db):
                try:
                    cursor = db.execute(
                        "UPDATE conversations SET name = ? WHERE id = ? AND owner = ?",
                        (name, conversation_id, owner),
                    )
                except sqlite3.IntegrityError:
                    raise NameTakenError(owner, name or "") from None
                if cursor.rowcount == 0:
                    return None
                row: Row = db.execute(
                    f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
                ).fetchone()
                return row

        row = await self._run(work)
        return None if row is None else _conversation(row)

    async def delete_conversation(self, owner: str, conversation_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
            )
            return cursor.rowcount == 1

        return await self._run(work)

    # -- jobs --------------------------------------------------------------------------------------

    async def create_job(self, job: JobRecord) -> None:
        capped = self._capped(job)
        data = capped.model_dump_json()

        def work(db: sqlite3.Connection) -> None:
            try:
                db.execute(
                    "INSERT INTO jobs (interaction_id, owner, conversation_id, created, finished, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (job.interaction_id, job.owner, job.conversation_id, job.created, job.finished, data),
                )
            except sqlite3.IntegrityError:
                raise JobExistsError(job.interaction_id) from None

        await self._run(work)

    async def get_job(self, owner: str, interaction_id: str) -> JobRecord | None:
        def work(db: sqlite3.Connection) -> Row | None:
            row: Row | None = db.execute(
                "SELECT data FROM jobs WHERE interaction_id = ? AND owner = ?", (interaction_id, owner)
            ).fetchone()
            return row

        row = await self._run(work)
        return None if row is None else _job(row)

    async def unfinished_jobs(
        self, *, owner: str | None = None, conversation_id: str | None = None
    ) -> list[JobRecord]:
        def work(db: sqlite3.Connection) -> list[Row]:
            if conversation_id is None:
                return db.execute(
                    "SELECT data FROM jobs WHERE finished IS NULL AND (? IS NULL OR owner = ?) "
                    "ORDER BY created, interaction_id",
                    (owner, owner),
                ).fetchall()
            return db.execute(
                "SELECT data FROM jobs INDEXED BY jobs_running_by_conversation "
                "WHERE conversation_id = ? AND finished IS NULL AND (? IS NULL OR owner = ?) "
                "ORDER BY created, interaction_id",
                (conversation_id, owner, owner),
            ).fetchall()

        return [_job(row) for row in await self._run(work)]

    async def prune_jobs(self, *, finished_before: float, keep_last: int = 0) -> int:
        def work(db: sqlite3.Connection) -> int:
            with _transaction(db):
                rows = db.execute(
                    "SELECT interaction_id, owner, finished FROM jobs WHERE finished IS NOT NULL"
                )
                doomed = prunable(rows.fetchall(), finished_before=finished_before, keep_last=keep_last)
                db.executemany("DELETE FROM jobs WHERE interaction_id = ?", [(d,) for d in doomed])
                return len(doomed)

        return await self._run(work, here=False)

    async def _change_job(self, owner: str, interaction_id: str, change: JobChange) -> JobRecord | None:
        def work(db: sqlite3.Connection) -> JobRecord | None:
            with _transaction(db):
                row = db.execute(
                    "SELECT data FROM jobs WHERE interaction_id = ? AND owner = ?", (interaction_id, owner)
                ).fetchone()
                if row is None:
                    return None
                changed = self._capped(change(_job(row)))
                changed = changed.model_copy(update={"interaction_id": interaction_id, "owner": owner})
                db.execute(
                    "UPDATE jobs SET conversation_id = ?, created = ?, finished = ?, data = ? "
                    "WHERE interaction_id = ?",
                    (
                        changed.conversation_id,
                        changed.created,
                        changed.finished,
                        changed.model_dump_json(),
                        interaction_id,
                    ),
                )
                return changed

        return await self._run(work)

    # -- agents ------------------------------------------------------------------------------------

    async def record_agent(self, owner: str, agent_id: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            with _transaction(db):
                db.execute(
                    "INSERT OR IGNORE INTO agents (agent_id, owner, created) VALUES (?, ?, ?)",
                    (agent_id, owner, time.time()),
                )
                (recorded,) = db.execute(
                    "SELECT owner FROM agents WHERE agent_id = ?", (agent_id,)
                ).fetchone()
                if recorded != owner:
                    raise AgentTakenError(agent_id)

        await self._run(work)

    async def agent_owner(self, agent_id: str) -> str | None:
        def work(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT owner FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
            return None if row is None else str(row[0])

        return await self._run(work)

    async def list_agents(self, owner: str) -> list[str]:
        def work(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT agent_id FROM agents WHERE owner = ? ORDER BY created, agent_id", (owner,)
            )
            return [str(agent_id) for (agent_id,) in rows]

        return await self._run(work)

    async def forget_agent(self, agent_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            return db.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,)).rowcount == 1

        return await self._run(work)

    # -- owned resources ---------------------------------------------------------------------------

    async def put_resource(self, record: ResourceRecord) -> None:
        data = json.dumps(record.data)

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO resources (owner, kind, id, created, expires, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.owner, record.kind, record.id, record.created, record.expires, data),
            )

        await self._run(work)

    async def get_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> ResourceRecord | None:
        def work(db: sqlite3.Connection) -> ResourceRecord | None:
            row = db.execute(
                "SELECT owner, kind, id, created, expires, data FROM resources "
                "WHERE owner = ? AND kind = ? AND id = ?",
                (owner, kind, resource_id),
            ).fetchone()
            record = None if row is None else _resource(row)
            if record is not None and record.expired(time.time()):
                db.execute(
                    "DELETE FROM resources WHERE owner = ? AND kind = ? AND id = ?",
                    (owner, kind, resource_id),
                )
                return None
            return record

        return await self._run(work)

    async def list_resources(self, owner: str, kind: ResourceKind) -> list[ResourceRecord]:
        def work(db: sqlite3.Connection) -> list[ResourceRecord]:
            rows = db.execute(
                "SELECT owner, kind, id, created, expires, data FROM resources "
                "WHERE owner = ? AND kind = ? AND (expires IS NULL OR expires > ?) ORDER BY created, id",
                (owner, kind, time.time()),
            )
            return [_resource(row) for row in rows]

        return await self._run(work)

    async def delete_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            deleted = db.execute(
                "DELETE FROM resources WHERE owner = ? AND kind = ? AND id = ?", (owner, kind, resource_id)
            )
            return deleted.rowcount == 1

        return await self._run(work)

    async def prune_resources(self, kind: ResourceKind, *, created_before: float) -> list[ResourceRecord]:
        def work(db: sqlite3.Connection) -> list[ResourceRecord]:
            with _transaction(db):  # (DELETE ... RETURNING would need SQLite 3.35, newer than some Pythons')
                rows = db.execute(
                    "SELECT owner, kind, id, created, expires, data FROM resources INDEXED BY "
                    "resources_kind_created WHERE kind = ? AND created < ? ORDER BY created, owner, id",
                    (kind, created_before),
                ).fetchall()
                db.execute("DELETE FROM resources WHERE kind = ? AND created < ?", (kind, created_before))
                return [_resource(row) for row in rows]

        return await self._run(work, here=False)

    # -- usage -------------------------------------------------------------------------------------

    async def add_usage(self, owner: str, day: str, model: str, usage: UsageCounts) -> None:
        adding = counted(day, model, usage)
        await self._run(lambda db: _count_usage(db, owner, adding))

    async def daily_usage(self, owner: str, *, since: str) -> list[DailyUsage]:
        def work(db: sqlite3.Connection) -> list[Row]:
            return db.execute(
                f"SELECT {_USAGE_COLUMNS} FROM usage_counts WHERE owner = ? AND day >= ? ORDER BY day, model",
                (owner, since),
            ).fetchall()

        return [
            DailyUsage.of_counters(owner, day, model, interactions, counters)
            for day, model, interactions, *counters in await self._run(work)
        ]

    # -- leases ------------------------------------------------------------------------------------
    # Expiry times are wall-clock seconds: the processes sharing the file share the machine's clock.

    async def acquire_lease(self, key: str, holder: str, ttl: float) -> bool:
        return await self._run(lambda db: _take_lease(db, key, holder, ttl))

    async def acquire_lease_and_read(
        self, key: str, holder: str, ttl: float, *, owner: str, conversation_id: str
    ) -> tuple[bool, ConversationRecord | None]:
        def work(db: sqlite3.Connection) -> tuple[bool, Row | None]:
            """One transaction: one round of the file's locks, where a write and then a read took two."""
            with _transaction(db):
                if not _take_lease(db, key, holder, ttl):
                    return False, None
                return True, _conversation_row(db, owner, conversation_id)

        taken, row = await self._run(work)
        return taken, None if row is None else _conversation(row)

    async def renew_lease(self, key: str, holder: str, ttl: float) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            now = time.time()
            cursor = db.execute(
                "UPDATE leases SET expires = ? WHERE key = ? AND holder = ? AND expires > ?",
                (now + ttl, key, holder, now),
            )
            return cursor.rowcount == 1

        return await self._run(work)

    async def release_lease(self, key: str, holder: str) -> bool:
        return await self._run(lambda db: _drop_lease(db, key, holder))

    async def lease_left(self, key: str) -> float | None:
        def work(db: sqlite3.Connection) -> float | None:
            row = db.execute("SELECT expires FROM leases WHERE key = ?", (key,)).fetchone()
            left = None if row is None else float(row[0]) - time.time()
            return left if left is not None and left > 0 else None

        return await self._run(work)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def close(self) -> None:
        await self._worker.run(self._file.close)
        self._worker.stop()

"""The default store: one SQLite file, safe to share between server processes.

Blocking sqlite3 calls run in worker threads (`anyio.to_thread`) on one connection guarded by a lock.
WAL lets readers proceed while a writer commits; read-modify-write operations take the write lock up
front (`BEGIN IMMEDIATE`) and the turn compare-and-set is a single conditional UPDATE, so both stay
atomic when several processes share the file. Conversations keep the columns that concurrent writers
change independently (name, head, updated) outside the JSON body, so a rename and a turn never undo
each other.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from gemini_interactions_mcp.state.base import DEFAULT_MAX_OUTPUT_CHARS, JobChange, Store, prunable
from gemini_interactions_mcp.state.errors import (
    AgentTakenError,
    JobExistsError,
    NameTakenError,
    SchemaVersionError,
)
from gemini_interactions_mcp.state.records import (
    ConversationRecord,
    DailyUsage,
    JobRecord,
    ResourceKind,
    ResourceRecord,
    UsageCounts,
)

T = TypeVar("T")

#: MIGRATIONS[n] brings a file from schema version n to n + 1; append, never edit, to change the schema.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT, head TEXT,
            updated REAL NOT NULL, data TEXT NOT NULL)""",
        "CREATE UNIQUE INDEX conversations_owner_name ON conversations (owner, name)",
        "CREATE INDEX conversations_owner_updated ON conversations (owner, updated)",
        """CREATE TABLE jobs (
            interaction_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created REAL NOT NULL,
            finished REAL, data TEXT NOT NULL)""",
        "CREATE INDEX jobs_owner_created ON jobs (owner, created)",
        "CREATE INDEX jobs_finished ON jobs (finished)",
        "CREATE TABLE agents (agent_id TEXT PRIMARY KEY, owner TEXT NOT NULL, created REAL NOT NULL)",
    ),
    (
        """CREATE TABLE resources (
            owner TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, created REAL NOT NULL,
            expires REAL, data TEXT NOT NULL, PRIMARY KEY (owner, kind, id))""",
    ),
    (
        """CREATE TABLE usage (
            owner TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (owner, day, model))""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_CONVERSATION_COLUMNS = "id, owner, name, head, updated, data"
_CONVERSATION_OUTSIDE_JSON = {"id", "owner", "name", "head", "updated"}
Row = tuple[Any, ...]


def _conversation(row: Row) -> ConversationRecord:
    conversation_id, owner, name, head, updated, data = row
    fields = json.loads(data)
    fields.update(id=conversation_id, owner=owner, name=name, head=head, updated=updated)
    return ConversationRecord.model_validate(fields)


def _conversation_json(record: ConversationRecord) -> str:
    return record.checked().model_dump_json(exclude=_CONVERSATION_OUTSIDE_JSON)


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


def _name_clash(exc: sqlite3.IntegrityError) -> bool:
    return "conversations.name" in str(exc)


class SQLiteStore(Store):
    """A store in one SQLite file. The constructor blocks (it opens and migrates the file): call it
    from a worker thread in async code, as `open_store` does."""

    def __init__(self, path: Path, *, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS) -> None:
        super().__init__(max_output_chars=max_output_chars)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # 512 KiB of page cache (SQLite's default is 2 MiB): reads are point lookups by key, and a
            # server serving many conversations should not grow by a page cache it barely reuses.
            self._db.execute("PRAGMA cache_size=-512")
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION; refuse a file from a newer release rather than damage it."""
        with self._transaction() as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"The state file {self.path} uses schema version {version}, but this release of "
                    f"gemini-interactions-mcp understands up to version {SCHEMA_VERSION}. Upgrade "
                    "gemini-interactions-mcp, or point GEMINI_MCP_STATE at another file."
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database write lock from its first statement."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _locked(self, work: Callable[[], T]) -> T:
        with self._lock:
            return work()

    async def _run(self, work: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(self._locked, work)

    # -- conversations -----------------------------------------------------------------------------

    async def create_conversation(self, record: ConversationRecord) -> None:
        def work() -> None:
            try:
                self._db.execute(
                    f"INSERT INTO conversations ({_CONVERSATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.owner,
                        record.name,
                        record.head,
                        record.updated,
                        _conversation_json(record),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                if _name_clash(exc) and record.name is not None:
                    raise NameTakenError(record.owner, record.name) from None
                raise ValueError(f"conversation id {record.id!r} already exists") from None

        await self._run(work)

    async def get_conversation(self, owner: str, key: str) -> ConversationRecord | None:
        def work() -> Row | None:
            row: Row | None = self._db.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE owner = ? AND (id = ? OR name = ?) "
                "ORDER BY id = ? DESC LIMIT 1",
                (owner, key, key, key),
            ).fetchone()
            return row

        row = await self._run(work)
        return None if row is None else _conversation(row)

    async def list_conversations(
        self, owner: str, *, limit: int = 50, offset: int = 0
    ) -> list[ConversationRecord]:
        def work() -> list[Row]:
            return self._db.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE owner = ? "
                "ORDER BY updated DESC, id LIMIT ? OFFSET ?",
                (owner, limit, offset),
            ).fetchall()

        return [_conversation(row) for row in await self._run(work)]

    async def advance_conversation(
        self, owner: str, conversation_id: str, expected_head: str | None, updated: ConversationRecord
    ) -> bool:
        def work() -> bool:
            cursor = self._db.execute(
                "UPDATE conversations SET head = ?, updated = ?, data = ? "
                "WHERE id = ? AND owner = ? AND head IS ?",
                (
                    updated.head,
                    updated.updated,
                    _conversation_json(updated),
                    conversation_id,
                    owner,
                    expected_head,
                ),
            )
            return cursor.rowcount == 1

        return await self._run(work)

    async def rename_conversation(
        self, owner: str, conversation_id: str, name: str | None
    ) -> ConversationRecord | None:
        def work() -> Row | None:
            with self._transaction() as db:
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
        def work() -> bool:
            cursor = self._db.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
            )
            return cursor.rowcount == 1

        return await self._run(work)

    # -- jobs --------------------------------------------------------------------------------------

    def _write_job(self, db: sqlite3.Connection, job: JobRecord, *, insert: bool) -> None:
        if insert:
            db.execute(
                "INSERT INTO jobs (interaction_id, owner, created, finished, data) VALUES (?, ?, ?, ?, ?)",
                (job.interaction_id, job.owner, job.created, job.finished, job.model_dump_json()),
            )
        else:
            db.execute(
                "UPDATE jobs SET created = ?, finished = ?, data = ? WHERE interaction_id = ?",
                (job.created, job.finished, job.model_dump_json(), job.interaction_id),
            )

    async def create_job(self, job: JobRecord) -> None:
        capped = self._capped(job)

        def work() -> None:
            try:
                self._write_job(self._db, capped, insert=True)
            except sqlite3.IntegrityError:
                raise JobExistsError(job.interaction_id) from None

        await self._run(work)

    async def get_job(self, owner: str, interaction_id: str) -> JobRecord | None:
        def work() -> Row | None:
            row: Row | None = self._db.execute(
                "SELECT data FROM jobs WHERE interaction_id = ? AND owner = ?", (interaction_id, owner)
            ).fetchone()
            return row

        row = await self._run(work)
        return None if row is None else _job(row)

    async def list_jobs(self, owner: str, *, limit: int = 50, offset: int = 0) -> list[JobRecord]:
        def work() -> list[Row]:
            return self._db.execute(
                "SELECT data FROM jobs WHERE owner = ? "
                "ORDER BY created DESC, interaction_id LIMIT ? OFFSET ?",
                (owner, limit, offset),
            ).fetchall()

        return [_job(row) for row in await self._run(work)]

    async def unfinished_jobs(self) -> list[JobRecord]:
        def work() -> list[Row]:
            return self._db.execute(
                "SELECT data FROM jobs WHERE finished IS NULL ORDER BY created, interaction_id"
            ).fetchall()

        return [_job(row) for row in await self._run(work)]

    async def prune_jobs(self, *, finished_before: float, keep_last: int = 0) -> int:
        def work() -> int:
            with self._transaction() as db:
                rows = db.execute(
                    "SELECT interaction_id, owner, finished FROM jobs WHERE finished IS NOT NULL"
                )
                doomed = prunable(rows.fetchall(), finished_before=finished_before, keep_last=keep_last)
                db.executemany("DELETE FROM jobs WHERE interaction_id = ?", [(d,) for d in doomed])
                return len(doomed)

        return await self._run(work)

    async def _change_job(self, owner: str, interaction_id: str, change: JobChange) -> JobRecord | None:
        def work() -> JobRecord | None:
            with self._transaction() as db:
                row = db.execute(
                    "SELECT data FROM jobs WHERE interaction_id = ? AND owner = ?", (interaction_id, owner)
                ).fetchone()
                if row is None:
                    return None
                changed = self._capped(change(_job(row)))
                changed = changed.model_copy(update={"interaction_id": interaction_id, "owner": owner})
                self._write_job(db, changed, insert=False)
                return changed

        return await self._run(work)

    # -- agents ------------------------------------------------------------------------------------

    async def record_agent(self, owner: str, agent_id: str) -> None:
        def work() -> None:
            with self._transaction() as db:
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
        def work() -> str | None:
            row = self._db.execute("SELECT owner FROM agents WHERE agent_id = ?", (agent_id,)).fetchone()
            return None if row is None else str(row[0])

        return await self._run(work)

    async def list_agents(self, owner: str) -> list[str]:
        def work() -> list[str]:
            rows = self._db.execute(
                "SELECT agent_id FROM agents WHERE owner = ? ORDER BY created, agent_id", (owner,)
            )
            return [str(agent_id) for (agent_id,) in rows]

        return await self._run(work)

    async def forget_agent(self, agent_id: str) -> bool:
        def work() -> bool:
            return self._db.execute("DELETE FROM agents WHERE agent_id = ?", (agent_id,)).rowcount == 1

        return await self._run(work)

    # -- owned resources -----------------------------------------------------------------------------

    async def put_resource(self, record: ResourceRecord) -> None:
        def work() -> None:
            self._db.execute(
                "INSERT OR REPLACE INTO resources (owner, kind, id, created, expires, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.owner,
                    record.kind,
                    record.id,
                    record.created,
                    record.expires,
                    json.dumps(record.data),
                ),
            )

        await self._run(work)

    async def get_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> ResourceRecord | None:
        def work() -> ResourceRecord | None:
            row = self._db.execute(
                "SELECT owner, kind, id, created, expires, data FROM resources "
                "WHERE owner = ? AND kind = ? AND id = ?",
                (owner, kind, resource_id),
            ).fetchone()
            record = None if row is None else _resource(row)
            if record is not None and record.expired(time.time()):
                self._db.execute(
                    "DELETE FROM resources WHERE owner = ? AND kind = ? AND id = ?",
                    (owner, kind, resource_id),
                )
                return None
            return record

        return await self._run(work)

    async def list_resources(self, owner: str, kind: ResourceKind) -> list[ResourceRecord]:
        def work() -> list[ResourceRecord]:
            rows = self._db.execute(
                "SELECT owner, kind, id, created, expires, data FROM resources "
                "WHERE owner = ? AND kind = ? AND (expires IS NULL OR expires > ?) ORDER BY created, id",
                (owner, kind, time.time()),
            )
            return [_resource(row) for row in rows]

        return await self._run(work)

    async def delete_resource(self, owner: str, kind: ResourceKind, resource_id: str) -> bool:
        def work() -> bool:
            deleted = self._db.execute(
                "DELETE FROM resources WHERE owner = ? AND kind = ? AND id = ?", (owner, kind, resource_id)
            )
            return deleted.rowcount == 1

        return await self._run(work)

    # -- usage -----------------------------------------------------------------------------------------

    async def add_usage(self, owner: str, day: str, model: str, usage: UsageCounts) -> None:
        def work() -> None:
            with self._transaction() as db:
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

        await self._run(work)

    async def daily_usage(self, owner: str, *, since: str) -> list[DailyUsage]:
        def work() -> list[Row]:
            return self._db.execute(
                "SELECT data FROM usage WHERE owner = ? AND day >= ? ORDER BY day, model", (owner, since)
            ).fetchall()

        return [DailyUsage.model_validate_json(row[0]) for row in await self._run(work)]

    async def close(self) -> None:
        await self._run(self._db.close)

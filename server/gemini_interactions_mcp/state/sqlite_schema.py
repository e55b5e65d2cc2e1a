"""The SQLite schema, as a list of migrations: a file is brought forward step by step, never rewritten.

Version 2 keeps the resources a principal owns (media files, uploads, stores, environments); version 3
the daily usage ledger. Version 4 gives jobs their conversation in a column, with an index over the
running ones only, so "does this conversation have a turn still running?" reads a few index entries
instead of every unfinished job; adds `leases` for the cross-process leases; and drops the index for
listing an owner's jobs (nothing lists them). Version 5 indexes resources by kind and age, so the hourly
prune of old media reads only the records it deletes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gemini_interactions_mcp.state.errors import SchemaVersionError

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
    (
        "ALTER TABLE jobs ADD COLUMN conversation_id TEXT",
        "UPDATE jobs SET conversation_id = json_extract(data, '$.conversation_id') WHERE finished IS NULL",
        "CREATE INDEX jobs_running_by_conversation ON jobs (conversation_id) WHERE finished IS NULL",
        "DROP INDEX jobs_owner_created",
        "CREATE TABLE leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL)",
    ),
    ("CREATE INDEX resources_kind_created ON resources (kind, created)",),
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction; refuse a file from a newer release rather
    than damage it."""
    db.execute("BEGIN IMMEDIATE")
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"The state file {path} uses schema version {version}, but this release of "
                f"gemini-interactions-mcp understands up to version {SCHEMA_VERSION}. Upgrade "
                "gemini-interactions-mcp, or point GEMINI_MCP_STATE at another file."
            )
        for step in MIGRATIONS[version:]:
            for statement in step:
                db.execute(statement)
        if version != SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")

"""The SQLite schema, as a list of migrations: a file is brought forward step by step, never rewritten.

Version 2 keeps the resources a principal owns (media files, uploads, stores, environments); version 3
the daily usage ledger. Version 4 gives jobs their conversation in a column, with an index over the
running ones only, so "does this conversation have a turn still running?" reads a few index entries
instead of every unfinished job; adds `leases` for the cross-process leases; and drops the index for
listing an owner's jobs (nothing lists them). Version 5 indexes resources by kind and age, so the hourly
prune of old media reads only the records it deletes.

Version 6 cuts what a turn writes (each 4 KiB page a commit changes is written to the WAL again, about
10 µs of CPU a page): the daily usage row keeps its counters in columns, so a turn adds to them in one
UPSERT instead of reading, parsing and rewriting a JSON row (and its separate primary-key index); the
usage and lease tables are WITHOUT ROWID (their primary key is the table: one page changed, not two);
the index of conversation names leaves out the unnamed ones, so creating one no longer touches it. The
old usage rows are converted by `stored_usage` (Python parses their JSON, so a float comes back exactly
as it was written, which SQLite's own number parsing does not promise).

Version 7 keeps a server of an earlier release that is still running on the same file working (two IDEs
share the default file, and one is restarted on the new release before the other): the counters move to
`usage_counts`, and `usage` becomes a view that shows each row as version 5's JSON, whose trigger takes
such a row written back (version 5 reads the row, adds its turn, and writes the whole row) into the
counters. Versions 2 to 5 only added to the schema, so running servers never noticed them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gemini_interactions_mcp.state.errors import SchemaVersionError
from gemini_interactions_mcp.state.records import DailyUsage

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
    (
        """CREATE TABLE usage_counted (
            owner TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
            interactions INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0, thought_tokens INTEGER NOT NULL DEFAULT 0,
            total_tokens INTEGER NOT NULL DEFAULT 0, cached_tokens INTEGER NOT NULL DEFAULT 0,
            tool_use_tokens INTEGER NOT NULL DEFAULT 0, search_queries INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0, unpriced INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (owner, day, model)) WITHOUT ROWID""",
        """INSERT INTO usage_counted SELECT owner, day, model,
            stored_usage(data, 'interactions'), stored_usage(data, 'input_tokens'),
            stored_usage(data, 'output_tokens'), stored_usage(data, 'thought_tokens'),
            stored_usage(data, 'total_tokens'), stored_usage(data, 'cached_tokens'),
            stored_usage(data, 'tool_use_tokens'), stored_usage(data, 'search_queries'),
            stored_usage(data, 'cost_usd'), stored_usage(data, 'unpriced') FROM usage""",
        "DROP TABLE usage",
        "ALTER TABLE usage_counted RENAME TO usage",
        """CREATE TABLE leases_keyed (
            key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL) WITHOUT ROWID""",
        "INSERT INTO leases_keyed SELECT key, holder, expires FROM leases",
        "DROP TABLE leases",
        "ALTER TABLE leases_keyed RENAME TO leases",
        "DROP INDEX conversations_owner_name",
        "CREATE UNIQUE INDEX conversations_owner_name ON conversations (owner, name) WHERE name IS NOT NULL",
    ),
    (
        "ALTER TABLE usage RENAME TO usage_counts",
        """CREATE VIEW usage AS SELECT owner, day, model, json_object(
            'owner', owner, 'day', day, 'model', model, 'interactions', interactions, 'usage', json_object(
                'input_tokens', input_tokens, 'output_tokens', output_tokens,
                'thought_tokens', thought_tokens, 'total_tokens', total_tokens,
                'cached_tokens', cached_tokens, 'tool_use_tokens', tool_use_tokens,
                'search_queries', search_queries, 'cost_usd', cost_usd, 'unpriced', unpriced)) AS data
            FROM usage_counts""",
        """CREATE TRIGGER usage_written_as_json INSTEAD OF INSERT ON usage BEGIN
            INSERT INTO usage_counts (owner, day, model, interactions, input_tokens, output_tokens,
                thought_tokens, total_tokens, cached_tokens, tool_use_tokens, search_queries, cost_usd,
                unpriced)
            VALUES (NEW.owner, NEW.day, NEW.model,
                coalesce(json_extract(NEW.data, '$.interactions'), 0),
                coalesce(json_extract(NEW.data, '$.usage.input_tokens'), 0),
                coalesce(json_extract(NEW.data, '$.usage.output_tokens'), 0),
                coalesce(json_extract(NEW.data, '$.usage.thought_tokens'), 0),
                coalesce(json_extract(NEW.data, '$.usage.total_tokens'), 0),
                coalesce(json_extract(NEW.data, '$.usage.cached_tokens'), 0),
                coalesce(json_extract(NEW.data, '$.usage.tool_use_tokens'), 0),
                coalesce(json_extract(NEW.data, '$.usage.search_queries'), 0),
                coalesce(json_extract(NEW.data, '$.usage.cost_usd'), 0),
                coalesce(json_extract(NEW.data, '$.usage.unpriced'), 0))
            ON CONFLICT (owner, day, model) DO UPDATE SET interactions = excluded.interactions,
                input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
                thought_tokens = excluded.thought_tokens, total_tokens = excluded.total_tokens,
                cached_tokens = excluded.cached_tokens, tool_use_tokens = excluded.tool_use_tokens,
                search_queries = excluded.search_queries, cost_usd = excluded.cost_usd,
                unpriced = excluded.unpriced;
        END""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def stored_usage(data: str, counter: str) -> int | float:
    """One counter of a usage row as version 5 stored it (a `DailyUsage` as JSON): `interactions` or
    one of `USAGE_COUNTERS`. The SQL function of the same name, for migration 6."""
    row = DailyUsage.model_validate_json(data)
    value: int | float = row.interactions if counter == "interactions" else getattr(row.usage, counter)
    return value


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction; refuse a file from a newer release rather
    than damage it."""
    db.create_function("stored_usage", 2, stored_usage, deterministic=True)
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

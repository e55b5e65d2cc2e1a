"""Persistent state: conversations, background jobs, custom-agent ownership and leases, per owner.

Plain data in, plain data out: this package knows nothing of MCP or of the Gemini client.
"""

from gemini_interactions_mcp.state.base import DEFAULT_MAX_OUTPUT_CHARS, Store
from gemini_interactions_mcp.state.counters import MemoryRateLimiter, RateLimiter
from gemini_interactions_mcp.state.errors import (
    AgentTakenError,
    JobExistsError,
    LeaseBusyError,
    NameTakenError,
    SchemaVersionError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from gemini_interactions_mcp.state.leases import Lease, hold_lease, new_holder_id
from gemini_interactions_mcp.state.location import (
    MEMORY,
    default_state_path,
    open_store,
    state_spec,
    user_data_dir,
)
from gemini_interactions_mcp.state.memory import MemoryStore
from gemini_interactions_mcp.state.records import (
    ConversationRecord,
    DailyUsage,
    JobKind,
    JobRecord,
    ProgressNote,
    ResourceKind,
    ResourceRecord,
    Transcript,
    TranscriptTurn,
    Usage,
    UsageCounts,
    UsageEntry,
    new_conversation_id,
)
from gemini_interactions_mcp.state.sqlite import SQLiteStore
from gemini_interactions_mcp.state.sqlite_schema import SCHEMA_VERSION

__all__ = [
    "DEFAULT_MAX_OUTPUT_CHARS",
    "MEMORY",
    "SCHEMA_VERSION",
    "AgentTakenError",
    "ConversationRecord",
    "DailyUsage",
    "JobExistsError",
    "JobKind",
    "JobRecord",
    "Lease",
    "LeaseBusyError",
    "MemoryRateLimiter",
    "MemoryStore",
    "NameTakenError",
    "ProgressNote",
    "RateLimiter",
    "ResourceKind",
    "ResourceRecord",
    "SQLiteStore",
    "SchemaVersionError",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreFullError",
    "StoreReadOnlyError",
    "StoreUnavailableError",
    "Transcript",
    "TranscriptTurn",
    "Usage",
    "UsageCounts",
    "UsageEntry",
    "default_state_path",
    "hold_lease",
    "new_conversation_id",
    "new_holder_id",
    "open_store",
    "state_spec",
    "user_data_dir",
]

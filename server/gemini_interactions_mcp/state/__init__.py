"""Persistent state: conversations, background jobs and custom-agent ownership, per owner.

Plain data in, plain data out: this package knows nothing of MCP or of the Gemini client.
"""

from gemini_interactions_mcp.state.base import DEFAULT_MAX_OUTPUT_CHARS, Store
from gemini_interactions_mcp.state.counters import MemoryRateLimiter, RateLimiter
from gemini_interactions_mcp.state.errors import (
    AgentTakenError,
    JobExistsError,
    NameTakenError,
    SchemaVersionError,
    StoreError,
)
from gemini_interactions_mcp.state.location import MEMORY, default_state_path, open_store, user_data_dir
from gemini_interactions_mcp.state.memory import MemoryStore
from gemini_interactions_mcp.state.records import (
    ConversationRecord,
    DailyUsage,
    JobKind,
    JobRecord,
    ProgressNote,
    ResourceKind,
    ResourceRecord,
    TranscriptTurn,
    Usage,
    UsageCounts,
    new_conversation_id,
)
from gemini_interactions_mcp.state.sqlite import SCHEMA_VERSION, SQLiteStore

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
    "StoreError",
    "TranscriptTurn",
    "Usage",
    "UsageCounts",
    "default_state_path",
    "new_conversation_id",
    "open_store",
    "user_data_dir",
]

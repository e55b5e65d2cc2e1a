"""Client for Google's Gemini Interactions API: typed, retrying, resumable. Knows nothing of MCP."""

from gemini_interactions_mcp.gemini.accumulate import InteractionAccumulator
from gemini_interactions_mcp.gemini.client import InteractionsClient
from gemini_interactions_mcp.gemini.config import ClientConfig, RetryPolicy
from gemini_interactions_mcp.gemini.errors import (
    REDACTED,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    GeminiError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamError,
    TransportError,
    UploadInterruptedError,
    UpstreamTimeoutError,
)
from gemini_interactions_mcp.gemini.file_search import FileSearchAPI
from gemini_interactions_mcp.gemini.files import ChunkReader, FilesAPI, UploadProgress
from gemini_interactions_mcp.gemini.models import (
    Agent,
    AgentPage,
    CreateInteraction,
    Interaction,
    InteractionEvent,
    Step,
    Usage,
)
from gemini_interactions_mcp.gemini.models.files import (
    Document,
    EnvironmentFile,
    File,
    FileSearchStore,
    Operation,
)
from gemini_interactions_mcp.gemini.output import output_text
from gemini_interactions_mcp.gemini.sandbox import SandboxFilesAPI
from gemini_interactions_mcp.gemini.stream import InteractionStream

__all__ = [
    "REDACTED",
    "APIError",
    "Agent",
    "AgentPage",
    "AuthenticationError",
    "BadRequestError",
    "ChunkReader",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "CreateInteraction",
    "Document",
    "EnvironmentFile",
    "File",
    "FileSearchAPI",
    "FileSearchStore",
    "FilesAPI",
    "GeminiError",
    "Interaction",
    "InteractionAccumulator",
    "InteractionEvent",
    "InteractionStream",
    "InteractionsClient",
    "NotFoundError",
    "Operation",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "SandboxFilesAPI",
    "ServerError",
    "Step",
    "StreamError",
    "TransportError",
    "UploadInterruptedError",
    "UploadProgress",
    "UpstreamTimeoutError",
    "Usage",
    "output_text",
]

"""Client for Google's Gemini Interactions API: typed, retrying, resumable. Knows nothing of MCP."""

from gemini_interactions_mcp.gemini.accumulate import InteractionAccumulator
from gemini_interactions_mcp.gemini.client import InteractionsClient
from gemini_interactions_mcp.gemini.config import ClientConfig, RetryPolicy
from gemini_interactions_mcp.gemini.errors import (
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
    UpstreamTimeoutError,
)
from gemini_interactions_mcp.gemini.models import (
    Agent,
    AgentPage,
    CreateInteraction,
    Interaction,
    InteractionEvent,
    Step,
    Usage,
)
from gemini_interactions_mcp.gemini.output import output_text
from gemini_interactions_mcp.gemini.stream import InteractionStream

__all__ = [
    "APIError",
    "Agent",
    "AgentPage",
    "AuthenticationError",
    "BadRequestError",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "CreateInteraction",
    "GeminiError",
    "Interaction",
    "InteractionAccumulator",
    "InteractionEvent",
    "InteractionStream",
    "InteractionsClient",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "Step",
    "StreamError",
    "TransportError",
    "UpstreamTimeoutError",
    "Usage",
    "output_text",
]

"""What the calling model is told when something fails, in one place.

Services raise `ServiceError` with a message that says what happened and what to do next; the tool
layer turns it into an MCP `ToolError` without rewording. Upstream client errors are translated here by
`explain_upstream`, so every tool words the same failure the same way and no secret can leak: the client
exceptions never carry the key, and only their fields (not their reprs) are used.
"""

from __future__ import annotations

import math

from gemini_interactions_mcp.gemini import errors as upstream
from gemini_interactions_mcp.services.caller_keys import caller_key
from gemini_interactions_mcp.state import StoreError, StoreUnavailableError


class ServiceError(Exception):
    """A failure the caller can act on; `str(error)` is the whole message for the model."""


EXPLAINED = (ServiceError, StoreError)
"""What a tool turns into a one-line error for the model (anything else is a bug, and is logged)."""


def failure_message(error: ServiceError | StoreError) -> str:
    """The one line the model reads for a service or store failure. A store that cannot serve a call
    says so in a whole sentence of its own; other store errors get the prefix that says whose error."""
    if isinstance(error, ServiceError):
        return str(error)
    detail = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, StoreUnavailableError):
        return detail
    return f"The server's state store failed: {detail}"


class UnknownHandleError(ServiceError):
    """An id or name that does not exist for this caller (someone else's looks exactly the same)."""


NO_KEY = (
    "No Gemini API key is configured. Set GEMINI_API_KEY (or GOOGLE_API_KEY) in the environment the MCP "
    "server is started with, then restart it. To try the server without a key, start it with --emulator."
)


def _seconds(value: float | None) -> str:
    return f"{max(1, math.ceil(value))} s" if value is not None else "a minute"


def explain_upstream(error: upstream.GeminiError, *, what: str = "the request") -> ServiceError:
    """Turn a Gemini client error into an actionable message about `what` was being done."""
    if isinstance(error, upstream.ConfigurationError):
        return ServiceError(NO_KEY)
    if isinstance(error, upstream.AuthenticationError | upstream.PermissionDeniedError) and caller_key():
        return ServiceError(
            f"Gemini refused your API key (HTTP {error.status_code}: {error.message}). Check the key you "
            "send in the X-Goog-Api-Key header: a valid key with access to the Interactions API."
        )
    if isinstance(error, upstream.AuthenticationError | upstream.PermissionDeniedError):
        return ServiceError(
            f"Gemini refused the API key (HTTP {error.status_code}: {error.message}). Check that "
            "GEMINI_API_KEY (or GOOGLE_API_KEY) holds a valid key with access to the Interactions API, "
            "then restart the server."
        )
    if isinstance(error, upstream.RateLimitError):
        return ServiceError(
            f"Gemini quota or rate limit reached (HTTP 429: {error.message}) after the server's own "
            f"retries. Retry {what} in {_seconds(error.retry_after)}, or use a lighter model."
        )
    if isinstance(error, upstream.NotFoundError):
        return UnknownHandleError(
            f"Gemini does not know this interaction any more (HTTP 404: {error.message}); stored "
            "interactions expire (1 day on the free tier, 55 days on paid tiers)."
        )
    if isinstance(error, upstream.BadRequestError | upstream.ConflictError):
        return ServiceError(f"Gemini rejected {what} (HTTP {error.status_code}): {error.message}")
    if isinstance(error, upstream.ServerError):
        return ServiceError(
            f"Gemini is having trouble (HTTP {error.status_code}: {error.message}) and the server's "
            f"retries did not get through. Try {what} again in {_seconds(error.retry_after)}."
        )
    if isinstance(error, upstream.APIError):
        return ServiceError(f"Gemini answered HTTP {error.status_code}: {error.message}")
    if isinstance(error, upstream.StreamError):
        return ServiceError(f"Gemini reported an error while answering: {error.message}. Try again.")
    if isinstance(error, upstream.TransportError):
        return ServiceError(
            f"Could not reach the Gemini API ({error}). Check the network or GEMINI_BASE_URL and try again."
        )
    return ServiceError(f"Gemini call failed: {error}")

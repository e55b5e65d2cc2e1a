"""The client's exceptions: a small documented hierarchy, never carrying the API key.

GeminiError
├── ConfigurationError        no key for the Google API
├── TransportError            the API could not be reached (after retries)
│   └── UpstreamTimeoutError  connect or read timed out
├── APIError                  an HTTP error answer: status_code, code, message, status, retry_after
│   ├── BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403, NotFoundError 404,
│   └── ConflictError 409, RateLimitError 429, ServerError 5xx
└── StreamError               an `error` event inside a stream, or a stream that could not be resumed
"""

from __future__ import annotations


class GeminiError(Exception):
    """Base of every error this client raises on purpose."""


class ConfigurationError(GeminiError):
    """The client cannot make the call as configured (e.g. no key for the Google API)."""


class TransportError(GeminiError):
    """The API could not be reached, or the connection failed, after the allowed retries."""


class UpstreamTimeoutError(TransportError):
    """Connecting or reading timed out."""


class APIError(GeminiError):
    """An HTTP error answer from the API, in either of its two body shapes."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | int | None = None,
        status: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.code = code
        self.status = status
        self.retry_after = retry_after


class BadRequestError(APIError):
    """400: the request is invalid; the message says why."""


class AuthenticationError(APIError):
    """401: no key, or the key was not accepted."""


class PermissionDeniedError(APIError):
    """403: the key may not do this (or is invalid)."""


class NotFoundError(APIError):
    """404: unknown (or expired, or deleted) interaction or agent."""


class ConflictError(APIError):
    """409: e.g. an agent id that already exists."""


class RateLimitError(APIError):
    """429: quota or rate limit; `retry_after` says when to try again if the API said so."""


class ServerError(APIError):
    """5xx: the service failed; retried before this is raised."""


class StreamError(GeminiError):
    """The stream reported an error event, or ended early and could not be resumed."""

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_for_status(status_code: int) -> type[APIError]:
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, APIError)

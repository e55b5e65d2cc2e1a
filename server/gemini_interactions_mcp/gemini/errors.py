"""The client's exceptions: a small documented hierarchy, never carrying the API key.

GeminiError
├── ConfigurationError        no key for the Google API
├── TransportError            the API could not be reached (after retries)
│   └── UpstreamTimeoutError  connect or read timed out
├── APIError                  an HTTP error answer: status_code, code, message, status, details,
│   │                         retry_after (seconds the server asked us to wait, if it said)
│   ├── BadRequestError 400, AuthenticationError 401 (and 400 API_KEY_INVALID), PermissionDeniedError
│   └── 403, NotFoundError 404, ConflictError 409, RateLimitError 429, ServerError 5xx (others: APIError)
├── StreamError               an `error` event inside a stream, or a stream that could not be resumed
└── UploadInterruptedError    a resumable upload stopped part-way; `upload_url` and `received` resume it

The MCP layer turns these into advice for the user (which variable to set, when to retry), so each
carries the facts needed for that rather than a preformatted sentence.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

MAX_MESSAGE_CHARS = 500  # an HTML error page from a proxy must not flood a tool result
REDACTED = "[redacted]"


class GeminiError(Exception):
    """Base of every error this client raises on purpose."""


class ConfigurationError(GeminiError):
    """The client cannot make the call as configured (e.g. no key for the Google API)."""


class TransportError(GeminiError):
    """The API could not be reached, or the connection failed, after the allowed retries."""


class UpstreamTimeoutError(TransportError):
    """Connecting or reading timed out."""


class APIError(GeminiError):
    """An HTTP error answer from the API, in either of its two body shapes (section 11.1)."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | int | None = None,
        status: str | None = None,
        details: list[Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.code = code
        self.status = status
        self.details = details or []
        self.retry_after = retry_after


class BadRequestError(APIError):
    """400: the request is invalid; the message says why."""


class AuthenticationError(APIError):
    """The key was missing or not accepted: 401, or Google's gateway answer to a bad key, which is
    400 INVALID_ARGUMENT with reason API_KEY_INVALID (so `status_code` may be 400)."""


class PermissionDeniedError(APIError):
    """403: the key may not do this (Google also answers 403 for an invalid key)."""


class NotFoundError(APIError):
    """404: unknown (or expired, or deleted) interaction or agent."""


class ConflictError(APIError):
    """409: e.g. an agent id that already exists."""


class RateLimitError(APIError):
    """429: quota or rate limit; `retry_after` says when to try again if the API said so."""


class ServerError(APIError):
    """5xx: the service failed; retried before this is raised."""


class StreamError(GeminiError):
    """The stream reported an `error` event, or ended early and could not be resumed.

    `interaction_id` lets the caller poll the interaction later: a background run goes on upstream
    even when our stream of it failed.
    """

    def __init__(
        self, message: str, *, code: str | int | None = None, interaction_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.interaction_id = interaction_id


class UploadInterruptedError(GeminiError):
    """A resumable upload failed part-way (after the allowed retries). The session stays open
    upstream: passing `upload_url` back resumes it from `received` bytes instead of starting over."""

    def __init__(self, message: str, *, upload_url: str, received: int, total: int) -> None:
        super().__init__(message)
        self.message = message
        self.upload_url = upload_url
        self.received = received
        self.total = total


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_class(status_code: int) -> type[APIError]:
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, APIError)


KEY_REJECTED_REASONS = frozenset({"API_KEY_INVALID"})
"""google.rpc.ErrorInfo reasons with which the gateway rejects the key itself (on a 400)."""


def _rejects_key(details: list[Any]) -> bool:
    return any(isinstance(d, dict) and d.get("reason") in KEY_REJECTED_REASONS for d in details)


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced (a proxy may echo the key in an error)."""
    return text.replace(secret, REDACTED) if secret else text


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's requested delay in seconds: `retry-after-ms`, else `Retry-After` (seconds or an
    HTTP date), the precedence the SDK uses; None when absent or unparseable."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = 0.0
        if value > 0:
            return value
    header = (headers.get("retry-after") or "").strip()
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _retry_info(details: list[Any]) -> float | None:
    """google.rpc.RetryInfo in a Google-style error body: `{"retryDelay": "30s"}`."""
    for detail in details:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def api_error(
    status_code: int, headers: Mapping[str, str], body: bytes, *, reason: str = "", secret: str | None = None
) -> APIError:
    """The typed error for an HTTP error answer.

    Accepts the Interactions shape `{"error": {"code": "invalid_request", "message": ...}}`, the
    Google gateway shape `{"error": {"code": 400, "message": ..., "status": ..., "details": [...]}}`,
    and anything else (plain text, HTML, empty), whose text becomes the message.
    """
    text = body.decode("utf-8", "replace").strip()
    message: str = text or reason or "no details given"
    code: str | int | None = None
    status: str | None = None
    details: list[Any] = []
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or message)
        raw_code = error.get("code")
        code = raw_code if isinstance(raw_code, str | int) else None
        status = error["status"] if isinstance(error.get("status"), str) else None
        details = error["details"] if isinstance(error.get("details"), list) else []
    elif isinstance(error, str):
        message = error
    message = redact(message, secret)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "…"
    delay = retry_after(headers)
    if delay is None:
        delay = _retry_info(details)
    kind = AuthenticationError if _rejects_key(details) else error_class(status_code)
    return kind(status_code, message, code=code, status=status, details=details, retry_after=delay)

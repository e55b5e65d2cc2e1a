"""Error responses in the two shapes the upstream uses.

The Interactions API itself answers `{"error":{"code":"<string>","message":...}}`, while the Google API
gateway in front of it (authentication) answers `{"error":{"code":<int>,"message":...,"status":...}}`.
Clients must cope with both, so the emulator produces both, each where the real service does.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    408: "request_timeout",
    409: "already_exists",
    429: "too_many_requests",
    500: "internal",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


class ApiError(Exception):
    """Raised anywhere below the routes; turned into an Interactions-native error response."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or default_code(status)

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, self.code)


def default_code(status: int) -> str:
    """The native error code for an HTTP status (the service's snake_case vocabulary)."""
    return _CODES.get(status, "internal" if status >= 500 else "invalid_request")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def error_response(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An Interactions-native error body."""
    body = {"error": {"code": code or default_code(status), "message": message}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def gateway_error(status: int, status_name: str, message: str, reason: str | None = None) -> JSONResponse:
    """A Google-gateway error body (numeric code plus canonical status name), used for auth failures;
    `reason` adds the google.rpc.ErrorInfo detail the gateway attaches (e.g. API_KEY_INVALID)."""
    error: dict[str, object] = {"code": status, "message": message, "status": status_name}
    if reason is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ]
    return JSONResponse({"error": error}, status_code=status)

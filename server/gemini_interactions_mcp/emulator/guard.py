"""What happens to every API request before its handler: logging, faults, authentication, version.

Order matters and mirrors reality: the request is logged as received; injected latency and errors act
like a struggling front end (so they happen even for unauthenticated calls); then the gateway checks
the API key; then the API version segment is checked.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import wraps

import anyio
from starlette.requests import Request
from starlette.responses import Response

from .emulator import Emulator
from .errors import ApiError, error_response, gateway_error

VERSIONS = frozenset({"v1", "v1beta", "v1alpha"})
Handler = Callable[[Request], Awaitable[Response]]


def emulator_of(request: Request) -> Emulator:
    emu: Emulator = request.app.state.emulator
    return emu


def path_of(request: Request) -> str:
    """`request.url.path`, without building the URL for the plain paths clients send (Starlette escapes
    `?`, `#` and `\\` in a path, and URL parsing drops control characters: those take the long way)."""
    path: str = request.scope["path"]
    return path if _PLAIN_PATH.fullmatch(path) else request.url.path


def query_of(request: Request) -> str:
    """`request.url.query`, the same way (a `#` or a control character takes the long way)."""
    query: str = request.scope["query_string"].decode()
    return query if _PLAIN_QUERY.fullmatch(query) else request.url.query


_PLAIN_PATH = re.compile(r"[^?#\\\x00-\x20\x7f]*")
_PLAIN_QUERY = re.compile(r"[^#\x00-\x20\x7f]*")


def api(handler: Handler) -> Handler:
    """Wrap an API endpoint with the request pipeline; `ApiError`s become error responses."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        emu = emulator_of(request)
        method, path, query = request.method, path_of(request), query_of(request)
        params = dict(request.query_params) if request.scope["query_string"] else {}
        emu.log.record(method, path, params, await request.body())
        latency = emu.faults.take("latency", method, path)
        if latency is not None:
            await anyio.sleep(latency.seconds)
        target = f"{path}?{query}" if query else path
        fault = emu.faults.take("error", method, target)
        if fault is not None and fault.status is not None:
            message = fault.message or f"Injected fault: HTTP {fault.status}."
            return error_response(fault.status, message, fault.code, fault.headers())
        denied = authenticate(request, emu.config.api_key)
        if denied is not None:
            return denied
        if request.path_params.get("version") not in VERSIONS:
            return error_response(404, f"The requested URL {path} was not found on this server.")
        try:
            return await handler(request)
        except ApiError as err:
            return err.response()

    return endpoint


def authenticate(request: Request, api_key: str | None) -> Response | None:
    """Gateway-style 401 (no credential) or, for a wrong key, the real gateway's 400 INVALID_ARGUMENT
    with reason API_KEY_INVALID (not a 401/403); None when allowed."""
    if api_key is None:
        return None
    bearer = request.headers.get("authorization", "")
    presented = request.headers.get("x-goog-api-key") or (
        bearer[7:].strip() if bearer.lower().startswith("bearer ") else None
    )
    if not presented:
        return gateway_error(
            401,
            "UNAUTHENTICATED",
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )
    if presented != api_key:
        return gateway_error(
            400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"
        )
    return None
